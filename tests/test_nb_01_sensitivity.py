import pytest

pytestmark = pytest.mark.notebooks


def test_01_sensitivity(run_notebook):
    m = run_notebook("01_sensitivity")
    assert m["n_gaussians"] > 20_000 and 0 <= m["n_zero_sensitivity"] < 500
    # the keep-exact fractions the VQ stages use are the configured ones (0.5 %)
    assert m["color_kept_fraction"] == pytest.approx(0.005, abs=1e-4)
    assert m["shape_kept_fraction"] == pytest.approx(0.005, abs=1e-4)
    # the paper's absolute thresholds keep far more on this small scene
    assert m["paper_color_kept_fraction"] > 0.2
    # sensitivity ranks Gaussians: removing the least sensitive costs least
    least, rand, most = (
        m["psnr_remove_least_sensitive"],
        m["psnr_remove_random"],
        m["psnr_remove_most_sensitive"],
    )
    assert least[0] == rand[0] == most[0] > 25.0
    assert least[-1] > rand[-1] > most[-1]
    assert least[0] - least[-1] < 1.0
    assert m["spearman_color_vs_opacity"] > 0.5
