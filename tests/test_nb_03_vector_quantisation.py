"""Notebook 03 (vector quantisation) at its test parameters: histories, dead centroids, explorer."""

import pytest

pytestmark = pytest.mark.notebooks


def test_03_vector_quantisation(run_notebook):
    m = run_notebook("03_vector_quantisation")
    # one centroid snapshot at step 0 and every history_every steps
    assert m["color_history_len"] == m["expected_color_history_len"] >= 2
    assert m["shape_history_len"] == m["expected_shape_history_len"] >= 2
    # the joined table: codebook rows, then one exact row per kept Gaussian
    assert m["color_table_rows"] == m["color_k"] + m["color_kept_exact"]
    assert m["shape_table_rows"] == m["shape_k"] + m["shape_kept_exact"]
    # c3dgs's uniform init leaves dead centroids and a worse codebook; k-means++ does not
    dead, mse = m["init_dead_centroids"], m["init_final_mse"]
    assert dead["uniform"] > dead["kmeans++"]
    assert mse["kmeans++"] < 0.5 * mse["uniform"]
    assert m["color_dead_centroids"] <= 0.05 * m["color_k"]  # default: k-means++ and re-seeding
    # the explorer's plain function ran once at the defaults: colour VQ alone costs little PSNR
    ex = m["explorer_default"]
    assert ex["k"] == m["color_k"] and ex["table rows"] == m["color_table_rows"]
    assert 25.0 < ex["psnr_db"] < 80.0
