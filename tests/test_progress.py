"""The progress-bar switch: env var, explicit off, terminal, Jupyter kernels and batch runners."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pcc import progress as pg


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(pg.ENV, raising=False)


def test_env_var_wins(monkeypatch):
    monkeypatch.setenv(pg.ENV, "1")
    assert pg.progress_enabled(False) is True
    monkeypatch.setenv(pg.ENV, "0")
    monkeypatch.setattr(pg, "_stderr_is_terminal", lambda: True)
    assert pg.progress_enabled(True) is False


def test_terminal_decides_outside_jupyter(monkeypatch):
    monkeypatch.setattr(pg, "in_jupyter_kernel", lambda: False)
    monkeypatch.setattr(pg, "_stderr_is_terminal", lambda: True)
    assert pg.progress_enabled() and pg.progress_enabled(True)
    assert not pg.progress_enabled(False)
    monkeypatch.setattr(pg, "_stderr_is_terminal", lambda: False)
    assert not pg.progress_enabled() and not pg.progress_enabled(True)


def test_jupyter_interactive_on_batch_runners_off(monkeypatch):
    monkeypatch.setattr(pg, "in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(pg, "_parent_cmdline", lambda: "/usr/bin/python -m jupyter lab")
    assert pg.progress_enabled()
    for runner in ("python papermill nb.ipynb out.ipynb", "pytest --nbval-lax", "pcc sweep nb"):
        monkeypatch.setattr(pg, "_parent_cmdline", lambda r=runner: r)
        assert not pg.progress_enabled()
    assert pg.run_by_batch_runner("/x/.venv/bin/python /x/.venv/bin/papermill a.ipynb b.ipynb")
    assert pg.run_by_batch_runner("/usr/bin/jupyter nbconvert --execute --to html a.ipynb")
    assert pg.run_by_batch_runner("/x/.venv/bin/python -m pcc.demo --out output/demo")  # unknown
    assert not pg.run_by_batch_runner("/x/.venv/bin/python /x/.venv/bin/jupyter-lab")
    assert not pg.run_by_batch_runner("/home/u/.vscode-server/bin/abc/node --ms-enable-electron")


def test_plain_python_is_not_a_jupyter_kernel():
    assert not pg.in_jupyter_kernel()


def test_disabled_bar_still_iterates(monkeypatch):
    monkeypatch.setattr(pg, "_stderr_is_terminal", lambda: False)
    bar = pg.progress_bar(range(3), desc="x")
    assert bar.disable and list(bar) == [0, 1, 2]
    bar = pg.progress_bar(total=2, progress=False)
    bar.update(1)
    bar.set_postfix(a=1)
    bar.close()


def test_a_non_tty_run_writes_no_carriage_returns(tmp_path):
    code = (
        "import torch; torch.set_num_threads(1)\n"
        "from pcc.progress import progress_bar\n"
        "for _ in progress_bar(range(50), desc='work'): pass\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != pg.ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    assert b"\r" not in out.stderr and b"work" not in out.stderr
    env[pg.ENV] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    assert b"\r" in out.stderr and b"work" in out.stderr
