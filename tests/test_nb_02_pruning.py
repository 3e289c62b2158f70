import pytest

pytestmark = pytest.mark.notebooks


def test_02_pruning(run_notebook):
    m = run_notebook("02_pruning")
    n = m["n_gaussians"]
    assert n > 20_000 and n > m["n_after_sensitivity"] > m["n_after_density"] > 0.5 * n
    # pruning at sensitivity 0 removes only invisible Gaussians: the test views do not change
    assert m["psnr_after_sensitivity_pruning"] == pytest.approx(m["psnr_before"], abs=0.05)
    # the radius is a world length tied to the spacing (2 x the median nearest-neighbour distance)
    assert m["density_radius"] == pytest.approx(2 * m["median_nn_distance"], rel=1e-3)
    assert m["density_threshold"] >= 3.0
    assert m["fraction_pruned"] == pytest.approx(1 - m["n_after_density"] / n)
    # sensitivity pruning beats random pruning at the same fraction
    assert m["psnr_sensitivity_curve"][0] == m["psnr_random_curve"][0]
    assert m["psnr_sensitivity_curve"][-1] > m["psnr_random_curve"][-1]
    assert m["psnr_after_density_pruning"] < m["psnr_before"]
