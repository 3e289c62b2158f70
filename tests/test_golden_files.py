"""Committed small files of each format decode to known hashes (issue 14): a change that breaks
old files fails here. The files are ``tools/fuzz.py``'s seed files (``seed_files``) and a version 2
``.pcc3dgs`` (``model_v2.pcc3dgs``, grid positions); the current encoders must also still write the
octree and ``.pcc3dgs`` files byte for byte."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from pcc.c3dgs.compressed_model import QUANTIZED_FIELDS
from pcc.c3dgs.storage_npz import load_npz
from pcc.c3dgs.storage_pcc import encode, load_pcc
from pcc.pointcloud.octree_codec import decode_octree

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden"


def _model_hash(q) -> str:
    h = hashlib.sha256()
    for name in ("means", *QUANTIZED_FIELDS, "color_indices", "shape_indices"):
        h.update(np.ascontiguousarray(getattr(q, name).numpy()).tobytes())
    for name in QUANTIZED_FIELDS:
        h.update(repr((q.qparams[name].scale, q.qparams[name].zero_point)).encode())
    return h.hexdigest()[:16]


def test_octree_file_decodes_to_known_points():
    path = GOLDEN / "octree.pccf"
    decoded = decode_octree(path.read_bytes(), path)
    assert decoded.coords.shape == (120, 3)
    digest = hashlib.sha256(np.ascontiguousarray(decoded.coords).tobytes()).hexdigest()[:16]
    assert digest == "a52cabf68940fa45"


@pytest.mark.parametrize("name", ["model.pcc3dgs", "model.npz"])
def test_c3dgs_files_decode_to_the_same_known_model(name):
    load = load_pcc if name.endswith(".pcc3dgs") else load_npz
    q = load(GOLDEN / name)
    assert (len(q), q.sh_degree) == (60, 1)
    assert _model_hash(q) == "d33871bceb63a9a0"


def test_c3dgs_version_2_file_decodes_to_its_known_model():
    """A ``.pcc3dgs`` version 2 file (grid positions, fewer levels), written before the coders
    moved to :mod:`pcc.coding`; the current decoder reads it and re-encodes it byte for byte."""
    path = GOLDEN / "model_v2.pcc3dgs"
    data = path.read_bytes()
    assert data[5] == 2 and hashlib.sha256(data).hexdigest()[:16] == "127bcb31aa7d10cb"
    q = load_pcc(path)
    assert (len(q), q.sh_degree, q.position_grid.bits) == (60, 1, 10)
    assert _model_hash(q) == "ea9dd3dd9291dd21"
    assert encode(q) == data


def test_c3dgs_version_1_file_re_encodes_byte_for_byte():
    data = (GOLDEN / "model.pcc3dgs").read_bytes()
    assert data[5] == 1
    assert encode(load_pcc(GOLDEN / "model.pcc3dgs")) == data


def test_encoders_still_write_the_same_bytes(tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    import fuzz

    seeds = fuzz.seed_files(tmp_path)
    assert seeds["octree"] == (GOLDEN / "octree.pccf").read_bytes()
    assert seeds["pcc3dgs"] == (GOLDEN / "model.pcc3dgs").read_bytes()
