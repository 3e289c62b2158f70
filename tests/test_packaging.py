"""The install metadata stays consistent: environment.yml mirrors pyproject.toml, the CPU constraint pins torch."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _conda_pip_requirements() -> list[str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml must have exactly one pip: section"
    return [r for r in pip_sections[0] if not r.startswith("-e")]


def test_environment_yml_mirrors_pyproject():
    project = _pyproject()["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for reqs in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in reqs if not r.startswith("pcc")}
    # The platform alternatives of open3d collapse to one entry in a conda env.
    wanted.discard("open3d")
    have = {_name(r) for r in _conda_pip_requirements()}
    assert wanted == have, (
        f"only in pyproject: {wanted - have}; only in environment.yml: {have - wanted}"
    )


def test_torch_pinned_to_cpu_build_only_outside_package_metadata():
    project = _pyproject()["project"]
    torch_reqs = [r for r in project["dependencies"] if _name(r) == "torch"]
    assert torch_reqs and "==" not in torch_reqs[0], (
        "the published metadata must not hard-pin torch"
    )
    constraints = (REPO / "constraints-cpu.txt").read_text()
    assert re.search(r"^torch==\d", constraints, re.M), (
        "constraints-cpu.txt must pin the CPU torch build"
    )
    conda = [r for r in _conda_pip_requirements() if _name(r) == "torch"]
    pinned = re.search(r"^torch==(\S+)", constraints, re.M).group(1)
    assert conda == [f"torch=={pinned}"]


def test_console_script_and_markers_declared():
    data = _pyproject()
    assert data["project"]["scripts"]["pcc"] == "pcc.cli:main"
    markers = " ".join(data["tool"]["pytest"]["ini_options"]["markers"])
    assert "slow" in markers and "notebooks" in markers
