"""``pcc gs compress``: every knob through --config/--set, clear errors, targets from cfg_args."""

from __future__ import annotations

import json

import pytest
from conftest import random_scene

from pcc.c3dgs.pipeline import dataset_from_cfg_args, with_rendered_targets
from pcc.c3dgs.presets import (
    ConfigError,
    apply_overrides,
    config_names,
    get_preset,
    load_config_file,
    parse_set,
)
from pcc.cli import main as cli_main
from pcc.io.cameras import orbit_cameras_for_points
from pcc.io.gaussian_ply import write_gaussian_ply
from pcc.io.inria_model import write_model_dir
from pcc.io.nerf import write_nerf_synthetic


def _scene(n=60, seed=0):
    return random_scene(n, seed)


def test_overrides_dotted_underscored_and_typed():
    cfg = apply_overrides(
        get_preset("tiny"),
        {
            "color.k": "32",
            "shape_k": 16,
            "finetune.iterations": "3",
            "finetune_guard": "false",
            "color.keep_threshold": "1e-6",
            "shape.keep_fraction": "none",
            "density_prune": True,
            "density_radius": 0.2,
        },
    )
    assert cfg.color.k == 32 and cfg.shape.k == 16 and cfg.finetune.iterations == 3
    assert cfg.finetune_guard is False and cfg.color.keep_threshold == 1e-6
    assert cfg.shape.keep_fraction is None and cfg.density_prune and cfg.density_radius == 0.2
    names = config_names(cfg)
    assert names["color.k"] == 32 and names["finetune.iterations"] == 3
    assert apply_overrides(get_preset("tiny"), names) == cfg  # every name round-trips


def test_setting_k_means_that_codebook_size():
    base = get_preset("default")
    assert base.color.k_per_gaussians is not None  # the scene-dependent rule is on by default
    cfg = apply_overrides(base, {"color.k": 4096})
    assert cfg.color.k == 4096 and cfg.color.k_per_gaussians is None
    assert cfg.shape == base.shape  # the other group keeps its rule
    both = apply_overrides(base, {"color.k": 4096, "color.k_per_gaussians": 8})
    assert both.color.k_per_gaussians == 8


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"color.kk": 1}, ["color.kk", "known names"]),
        ({"nonsense": 1}, ["nonsense"]),
        ({"color.k": "many"}, ["color.k", "int"]),
        ({"finetune.iterations": 2.5}, ["finetune.iterations"]),
        ({"color.init": "random"}, ["color.init", "kmeans++"]),
        ({"finetune_guard": "3"}, ["finetune_guard", "bool"]),
        ({"color.decay": 1.5}, ["decay"]),
    ],
)
def test_bad_names_and_values_raise_one_clear_error(overrides, words):
    with pytest.raises(ConfigError) as err:
        apply_overrides(get_preset("tiny"), overrides)
    assert all(w in str(err.value) for w in words)


def test_parse_set_and_config_file(tmp_path):
    assert parse_set(["color.k=8", " shape.k = 4 "]) == {"color.k": "8", "shape.k": "4"}
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_set(["color.k"])
    f = tmp_path / "c.yaml"
    f.write_text("color:\n  k: 8\nfinetune.iterations: 2\nprune_threshold: 0.0\n")
    assert load_config_file(f) == {"color.k": 8, "finetune.iterations": 2, "prune_threshold": 0.0}
    (tmp_path / "bad.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config_file(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_config_file(tmp_path / "missing.yaml")


def _compress(args, capsys):
    code = cli_main(["gs", "compress", *args, "--no-progress", "--json"])
    captured = capsys.readouterr()
    return code, captured


def test_cli_set_and_config_reach_the_pipeline(tmp_path, capsys):
    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, _scene())
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("color:\n  k: 8\nshape.k: 8\n")
    code, cap = _compress(
        [
            str(ply),
            "--out",
            str(tmp_path / "o"),
            "--preset",
            "tiny",
            "--config",
            str(cfg_file),
            "--set",
            "finetune.iterations=0",
            "--set",
            "shape.k=4",
            "--format",
            "pcc",
        ],
        capsys,
    )
    assert code == 0, cap.err
    m = json.loads(cap.out.strip().splitlines()[-1])
    assert m["config"]["color.k"] == 8 and m["config"]["shape.k"] == 4  # --set after the file
    assert m["config"]["finetune.iterations"] == 0 and m["preset"] == "custom"
    assert m["codebook_color"] <= 8 and m["codebook_shape"] <= 4
    assert sum(m["streams_bytes"].values()) + m["framing_bytes"] == m["compressed_bytes"]
    assert "targets: renders of the uncompressed model" in cap.err


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--set", "color.kk=3"], ["color.kk"]),
        (["--set", "color.k=lots"], ["color.k", "int"]),
        (["--set", "oops"], ["NAME=VALUE"]),
        (["--config", "missing.yaml"], ["missing.yaml", "not found"]),
        (["--set", "help=1"], ["color.k=64", "finetune.iterations="]),
    ],
)
def test_cli_reports_bad_configuration_in_one_line(tmp_path, capsys, extra, words):
    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, _scene(n=10))
    code, cap = _compress(
        [str(ply), "--out", str(tmp_path / "o"), "--preset", "tiny", *extra], capsys
    )
    assert code == 2
    assert cap.err.startswith("pcc: error:") and "Traceback" not in cap.err
    assert all(w in cap.err for w in words)
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_model_dir_uses_the_dataset_named_in_cfg_args(tmp_path, capsys, monkeypatch):
    model = _scene(n=40)
    cams = orbit_cameras_for_points(model.means.numpy(), 4, 32, 24)
    data = tmp_path / "data"
    train = with_rendered_targets(model, cams[:3])
    test = with_rendered_targets(model, cams[3:])
    write_nerf_synthetic(data, "train", train, None)
    write_nerf_synthetic(data, "test", test, None)
    write_model_dir(tmp_path / "m", model, 10, cfg={"source_path": "data"})
    # relative source_path: found next to the model directory
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert dataset_from_cfg_args(tmp_path / "m") == tmp_path / "data"
    write_model_dir(tmp_path / "m2", model, 10, cfg={"source_path": str(tmp_path / "nowhere")})
    assert dataset_from_cfg_args(tmp_path / "m2") is None

    code, cap = _compress(
        [
            str(tmp_path / "m"),
            "--out",
            str(tmp_path / "o"),
            "--preset",
            "tiny",
            "--set",
            "finetune.iterations=1",
            "--black-background",
        ],
        capsys,
    )
    assert code == 0, cap.err
    m = json.loads(cap.out.strip().splitlines()[-1])
    assert m["targets"] == "dataset" and m["targets_from_cfg_args"] is True
    assert m["train_views"] == 3 and m["test_views"] == 1
    assert m["psnr_before"] is not None  # real targets: the uncompressed model is scored too
    assert "named by the model's cfg_args" in cap.err


def test_gs_eval_per_view(tmp_path, capsys):
    ply = tmp_path / "scene.ply"
    write_gaussian_ply(ply, _scene(n=30))
    argv = ["gs", "eval", str(ply), "--reference", str(ply), "--views", "2", "--width", "24"]
    assert cli_main([*argv, "--per-view", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_views"] == 2 and len(out["views"]) == 2
    assert all(v["ssim"] == pytest.approx(1.0) for v in out["views"])
