"""Smoke tests for visualisation.points3d: figures come back labelled, coloured and sub-sampled."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from visualisation import points3d as p3  # noqa: E402


@pytest.fixture
def cloud():
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(500, 3)) * np.array([10.0, 5.0, 1.0])
    return xyz


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_subsample_states_fraction():
    idx, info = p3.subsample(1000, 250, seed=1)
    assert len(idx) == 250 and len(np.unique(idx)) == 250 and np.all(np.diff(idx) > 0)
    assert info.fraction == pytest.approx(0.25)
    assert "250 of 1,000" in info.text and "25.0 %" in info.text
    idx2, info2 = p3.subsample(10, 250)
    assert len(idx2) == 10 and info2.text == "all 10 points"


def test_points3d_plotly_values_colourbar_and_subsample(cloud):
    fig = p3.points3d(
        torch.as_tensor(cloud), values=cloud[:, 2], value_label="height (m)", units="m",
        max_points=100, title="test",
    )  # fmt: skip
    assert len(fig.data) == 1
    tr = fig.data[0]
    assert len(tr.x) == 100
    assert tr.marker.colorbar.title.text == "height (m)"
    assert fig.layout.scene.aspectmode == "data"
    assert fig.layout.scene.xaxis.title.text == "x (m)"
    assert fig.layout.meta["subsample"] == {"shown": 100, "total": 500, "fraction": 0.2}
    assert "100 of 500" in fig.layout.title.text


def test_points3d_plotly_categories_legend_counts_full_cloud(cloud):
    keep = cloud[:, 0] > 0
    fig = p3.points3d(
        cloud, categories=keep, category_names={True: "kept", False: "pruned"}, max_points=50
    )
    names = sorted(tr.name for tr in fig.data)
    assert names == sorted([f"kept ({keep.sum()})", f"pruned ({(~keep).sum()})"])
    assert sum(len(tr.x) for tr in fig.data) == 50
    assert len({tr.marker.color for tr in fig.data}) == 2


def test_points3d_plotly_rgb_uint8(cloud):
    rgb = np.tile(np.array([[255, 0, 0]], dtype=np.uint8), (len(cloud), 1))
    fig = p3.points3d(cloud, rgb=rgb, max_points=None)
    assert fig.data[0].marker.color[0] == "rgb(255,0,0)"


def test_points3d_rejects_two_colourings_and_bad_shapes(cloud):
    with pytest.raises(ValueError, match="one of"):
        p3.points3d(cloud, values=cloud[:, 0], rgb=np.zeros_like(cloud))
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        p3.points3d(cloud[:, :2])
    with pytest.raises(ValueError, match="values"):
        p3.points3d_static(cloud, values=cloud[:10, 0])


def test_points3d_static_labels_colourbar_equal_aspect(cloud):
    fig = p3.points3d_static(
        cloud, values=cloud[:, 0], value_label="x error (voxels)", units="voxels", max_points=200
    )
    ax3d = [a for a in fig.axes if a.name == "3d"][0]
    assert ax3d.get_xlabel() == "x (voxels)" and ax3d.get_zlabel() == "z (voxels)"
    cbar_axes = [a for a in fig.axes if a is not ax3d]
    assert cbar_axes and cbar_axes[0].get_ylabel() == "x error (voxels)"
    assert fig.pcc_subsample["shown"] == 200
    assert "200 of 500" in ax3d.get_title()
    # box proportional to the data ranges (x range ~ 10x z range)
    box = ax3d.get_box_aspect()
    assert box[0] > 3 * box[2]


def test_points3d_static_categories_legend(cloud):
    cats = (cloud[:, 0] > 0).astype(int)
    fig = p3.points3d_static(cloud, categories=cats, category_names=["pruned", "kept"])
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == [f"pruned ({(cats == 0).sum()})", f"kept ({(cats == 1).sum()})"]


def test_gaussians_views_use_scales_and_opacity(cloud):
    scales = np.exp(np.random.default_rng(1).normal(size=(len(cloud), 3)))
    op = np.linspace(0, 1, len(cloud))
    fig = p3.gaussians3d(cloud, scales=scales, opacities=op, max_points=None)
    assert fig.data[0].marker.colorbar.title.text == "opacity"
    assert np.ptp(np.asarray(fig.data[0].marker.size)) > 0
    fig2 = p3.gaussians3d_static(cloud, scales=scales, opacities=op, max_points=100)
    assert fig2.pcc_subsample["shown"] == 100


def test_voxel_faces_drop_shared_faces():
    quads, owner, direction = p3.voxel_faces(np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0]]))
    assert quads.shape == (10, 4, 3)  # two cubes touching on one face: 12 - 2 faces
    assert set(direction.tolist()) == set(range(6))
    assert owner.max() == 1


def test_voxels_cubes_and_fallback():
    g = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    fig = p3.voxels3d_static(g, values=g[:, 2].astype(float), value_label="z (voxels)")
    assert "64 voxels" in fig.axes[0].get_title()
    assert fig.axes[1].get_ylabel() == "z (voxels)"
    figp = p3.voxels3d(g, categories=g[:, 0] > 1)
    assert figp.data[0].type == "mesh3d"
    assert len(figp.data[0].i) == 2 * 6 * 16  # only the outer faces of a 4x4x4 block
    big = p3.voxels3d(g, max_cubes=10, max_points=20)
    assert big.data[0].type == "scatter3d" and big.data[0].marker.symbol == "square"
    assert big.layout.meta["subsample"]["shown"] == 20
    big_static = p3.voxels3d_static(g, max_cubes=10, max_points=20)
    assert big_static.pcc_subsample["shown"] == 20


def test_panels_both_backends(cloud):
    clouds = [cloud, cloud[:100] * 2]
    vals = [cloud[:, 0], cloud[:100, 1]]
    fig = p3.points3d_panels(
        clouds, titles=["a", "b"], values=vals, value_label="v (m)", units="m", max_points=80
    )
    axes3d = [a for a in fig.axes if a.name == "3d"]
    assert len(axes3d) == 2 and axes3d[1].get_title().startswith("b\n")
    assert [d["shown"] for d in fig.pcc_subsample] == [80, 80]
    figp = p3.points3d_panels(clouds, titles=["a", "b"], values=vals, backend="plotly")
    assert len(figp.data) == 2 and figp.layout.scene2.aspectmode == "data"


def test_up_axis_permutes_static_and_sets_plotly_camera(cloud):
    fig = p3.points3d_static(cloud, up="y", units="m")
    ax = fig.axes[0]
    assert ax.get_zlabel() == "y (m)" and ax.get_xlabel() == "z (m)"
    fig2 = p3.points3d_static(cloud, up="-y", units="m")
    assert fig2.axes[0].get_zlabel() == "\u2212y (m)"
    figp = p3.points3d(cloud, up="y")
    assert figp.layout.scene.camera.up.y == 1
    with pytest.raises(ValueError, match="up must be"):
        p3.points3d(cloud, up="x")


def test_voxels3d_panels_share_frame_and_colour_range():
    g = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    coarse = np.unique(g // 2, axis=0)
    fig = p3.voxels3d_panels(
        [coarse, g], voxel_sizes=[2.0, 1.0], titles=["depth 1", "depth 2"],
        values=[coarse[:, 2] * 2.0, g[:, 2] * 1.0], value_label="z (voxels)",
    )  # fmt: skip
    axes3d = [a for a in fig.axes if a.name == "3d"]
    assert len(axes3d) == 2
    assert axes3d[0].get_xlim() == pytest.approx(axes3d[1].get_xlim())
    assert axes3d[0].get_title() == "depth 1\n8 voxels"
    assert [a for a in fig.axes if a.name != "3d"][0].get_ylabel() == "z (voxels)"
    assert [d["total"] for d in fig.pcc_subsample] == [8, 64]
