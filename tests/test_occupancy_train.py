"""Training of the learned occupancy model: collected symbols are the coder's, a short fit learns."""

from __future__ import annotations

import numpy as np

from pcc.pointcloud.occupancy_context import N_DYNAMIC, N_STATIC
from pcc.pointcloud.occupancy_train import collect, count_model_bits, evaluate, train
from pcc.pointcloud.octree import build_octree
from pcc.pointcloud.shapes import shape_at


def test_collect_keeps_every_symbol_with_its_features():
    cloud = shape_at(0, 5, bits=6)
    data = collect(cloud, keep=1.0, rng=np.random.default_rng(0))
    q = cloud - cloud.min(axis=0)
    levels = build_octree(q, int(q.max()).bit_length())
    n_nodes = sum(lv.size for lv in levels)
    # every child bit is coded except the inferred last ones (at most one per node)
    assert 7 * n_nodes <= data["bits"].size <= 8 * n_nodes
    ones = sum(int(np.unpackbits(lv).sum()) for lv in levels)
    assert ones - n_nodes <= data["bits"].sum() <= ones
    assert data["static"].shape == (data["bits"].size, N_STATIC)
    assert data["dynamic"].shape == (data["bits"].size, N_DYNAMIC)
    # exactly one (group, k) flag and one level flag per symbol
    assert np.all(data["static"][:, 346:362].sum(axis=1) == 1)
    assert np.all(data["static"][:, 362:].sum(axis=1) == 1)


def test_short_training_beats_the_untrained_model():
    rng = np.random.default_rng(1)
    data = collect(shape_at(1, 2, bits=7), keep=0.5, rng=rng)
    val = collect(shape_at(1, 3, bits=7), keep=0.5, rng=rng)
    model = train(data, val, hidden=8, epochs=2, batch=256, log=lambda *_: None)
    fitted, quantised = evaluate(model, val)
    assert abs(fitted - quantised) < 0.01  # the integer form codes like the float model
    # an untrained model pays ~1 bit per symbol; two short epochs get near the count models
    assert fitted < 0.5 and fitted < 1.25 * count_model_bits(val)
