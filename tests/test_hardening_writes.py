"""Nothing half-written (issue 14): a writer SIGKILLed in the middle of a write leaves each output
either as it was before (or absent) or complete, never truncated.

A child process runs the real command with ``open`` wrapped: the N-th ``write()`` to a file in
the output folder writes half its bytes, then the child signals the parent and sleeps; the parent
kills it with SIGKILL. A second kill point is just before the N-th rename into the output folder
(the temporary file is complete, the destination not yet replaced). Afterwards every output file
must be the old content or a complete file that its reader accepts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
OLD = b"OLD CONTENT, NOT A VALID FILE\n"

CHILD = r"""
import builtins, io, json, os, sys, time
marker, outdir, kind, nth = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3], int(sys.argv[4])
code = sys.argv[5]
count = [0]

def inside(path):
    try:
        return os.path.realpath(os.fspath(path)).startswith(outdir + os.sep)
    except TypeError:
        return False

def hit():
    count[0] += 1
    if count[0] == nth:
        with _open(marker, "w") as f:
            f.write("x")
        time.sleep(300)

class Slow:
    def __init__(self, f):
        self._f = f
    def write(self, b):
        if len(b) >= 2 and count[0] + 1 == nth:
            n = self._f.write(b[: len(b) // 2])
            self._f.flush()
            hit()
            return n + self._f.write(b[len(b) // 2 :])
        if len(b):
            count[0] += 1 if count[0] + 1 != nth else 0
        return self._f.write(b)
    def __getattr__(self, name):
        return getattr(self._f, name)
    def __enter__(self):
        self._f.__enter__()
        return self
    def __exit__(self, *exc):
        return self._f.__exit__(*exc)
    def __iter__(self):
        return iter(self._f)

_open = io.open
def slow_open(file, mode="r", *args, **kwargs):
    f = _open(file, mode, *args, **kwargs)
    if kind == "write" and any(c in mode for c in "wax+") and inside(file):
        return Slow(f)
    return f
builtins.open = io.open = slow_open

def audit(event, args):
    if kind == "rename" and event == "os.rename" and inside(args[1]):
        hit()
sys.addaudithook(audit)
exec(code)  # OMP_NUM_THREADS=1 is set by the parent
"""


def run_killed(tmp_path: Path, outdir: Path, kind: str, nth: int, code: str) -> bool:
    """Run ``code`` in a child, SIGKILL it at the kill point; True if the point was reached."""
    marker = tmp_path / f"marker-{kind}-{nth}"
    # PCC_RENDERER=torch: the child must never build the native renderer, since killing a child
    # in the middle of that build would leave torch's build lock behind for every later process
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), PCC_PROGRESS="0")
    env["PCC_RENDERER"] = "torch"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), str(outdir), kind, str(nth), code],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300  # generous: the machine may be busy
    while not marker.exists():
        if proc.poll() is not None:  # finished (or failed) before the kill point
            err = proc.stderr.read().decode()
            assert proc.returncode == 0, err[-2000:]
            return False
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("child never reached the kill point")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def check_outputs(outdir: Path, validators: dict) -> list[str]:
    """Every visible file is the old content or complete; returns the leftover temporaries."""
    leftovers = []
    for p in sorted(outdir.rglob("*")):
        if p.is_dir():
            continue
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            leftovers.append(p.name)  # a hidden temporary: never mistaken for the output
            continue
        data = p.read_bytes()
        if data == OLD:
            continue
        validate = validators.get(p.suffix)
        assert validate is not None, f"unexpected output {p.name}"
        validate(p)  # raises on a truncated file
    return leftovers


def _validators():
    from pcc.c3dgs.storage_npz import load_npz
    from pcc.c3dgs.storage_pcc import load_pcc
    from pcc.codec.checkpoint import read_checkpoint
    from pcc.pointcloud import container

    return {
        ".json": lambda p: json.loads(p.read_text()),
        ".yaml": lambda p: p.read_text(),  # written atomically too; any text is complete
        ".pcc3dgs": load_pcc,
        ".npz": load_npz,
        ".pccf": lambda p: container.unpack(p.read_bytes(), p),
        ".pt": read_checkpoint,
    }


# killed half-way through the first write with the old files present: they must survive; killed
# just before the first rename without them: nothing (or only complete files) may appear
POINTS = ((True, "write", 1), (False, "rename", 1))


def _campaign(tmp_path, outdir: Path, code: str, dests: list[str], points=POINTS) -> dict:
    """Kill at each ``(old files present, kind, n)`` point and check the outputs."""
    reached = {}
    for old, kind, nth in points:
        if outdir.exists():
            for p in outdir.rglob("*"):
                if p.is_file():
                    p.unlink()
        outdir.mkdir(parents=True, exist_ok=True)
        if old:
            for d in dests:
                (outdir / d).write_bytes(OLD)
        reached[(old, kind, nth)] = run_killed(tmp_path, outdir, kind, nth, code)
        check_outputs(outdir, _validators())
    return reached


def test_atomic_write_killed_mid_write_keeps_the_old_file(tmp_path):
    """The primitive alone: killed half-way through the temporary, or just before the rename."""
    out = tmp_path / "out"
    code = (
        "from pcc.io.atomic import write_bytes_atomic\n"
        f"write_bytes_atomic({str(out / 'f.json')!r}, b'[' + b'1,' * 100000 + b'1]')\n"
    )
    points = [(old, kind, 1) for old in (True, False) for kind in ("write", "rename")]
    reached = _campaign(tmp_path, out, code, ["f.json"], points)
    assert all(reached.values())


def test_non_atomic_writer_is_caught(tmp_path):
    """The harness itself: a plain ``open(path, 'wb')`` killed mid-write leaves a truncated file,
    which the check reports."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.json").write_bytes(OLD)
    code = f"open({str(out / 'f.json')!r}, 'wb').write(b'[' + b'1,' * 1000 + b'1]')\n"
    assert run_killed(tmp_path, out, "write", 1, code)
    with pytest.raises(json.JSONDecodeError):
        check_outputs(out, _validators())


def _gaussian_ply(path: Path) -> None:
    import torch

    from pcc.gaussians.model import GaussianModel
    from pcc.io.gaussian_ply import write_gaussian_ply

    g = torch.Generator().manual_seed(0)
    n = 40
    write_gaussian_ply(
        path,
        GaussianModel(
            means=torch.randn(n, 3, generator=g),
            log_scales=torch.randn(n, 3, generator=g) - 3,
            quats=torch.randn(n, 4, generator=g),
            opacity_logits=torch.randn(n, generator=g),
            sh=0.3 * torch.randn(n, 4, 3, generator=g),
        ),
    )


@pytest.mark.slow  # ~10 s of child processes; the fast counterparts: the atomic_path test above
@pytest.mark.parametrize("fmt", ["pcc", "npz"])
def test_gs_compress_killed_mid_write(tmp_path, fmt):
    ply = tmp_path / "scene.ply"
    _gaussian_ply(ply)
    out = tmp_path / "o"
    args = [str(ply), "--out", str(out), "--preset", "tiny", "--set", "finetune.iterations=0"]
    args += ["--format", fmt, "--no-progress", "--json"]
    code = f"from pcc.cli import main\nmain(['gs', 'compress', *{args!r}])\n"
    name = "point_cloud.pcc3dgs" if fmt == "pcc" else "point_cloud.npz"
    # the second rename is metrics.json's (the model file comes first)
    points = (*POINTS, (True, "rename", 2))
    reached = _campaign(tmp_path, out, code, [name, "metrics.json"], points)
    assert all(reached.values())


def test_pc_compress_killed_mid_write(tmp_path):
    from pcc.io.pointcloud import PointCloud, write_point_cloud

    src = tmp_path / "cloud.ply"
    pts = np.random.default_rng(0).uniform(0, 100, (3000, 3))
    write_point_cloud(src, PointCloud(pts))
    out = tmp_path / "o"
    args = [str(src), "--out", str(out / "cloud.pccf")]
    code = f"from pcc.cli import main\nmain(['pc', 'compress', *{args!r}])\n"
    reached = _campaign(tmp_path, out, code, ["cloud.pccf"])
    assert all(reached.values())


def test_codec_checkpoint_killed_mid_write(tmp_path):
    """``save_checkpoint`` as the trainer calls it for ``last.pt`` / ``best.pt``."""
    out = tmp_path / "run"
    code = (
        "from pcc.codec.checkpoint import save_checkpoint\n"
        "from pcc.codec.model import BlockCodec\n"
        "m = BlockCodec({'block_size': 16, 'filters': [4, 8, 8], 'latent_channels': 4})\n"
        f"save_checkpoint({str(out / 'last.pt')!r}, m, {{'step': 1}}, {{'step': 1}})\n"
    )
    reached = _campaign(tmp_path, out, code, ["last.pt"])
    assert all(reached.values())
