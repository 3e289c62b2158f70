"""Figures and animations of sensitivity-aware vector quantisation (k-means on Gaussian features).

Every function takes plain arrays (NumPy or torch) and RETURNS a matplotlib ``Figure`` or a
``FuncAnimation`` (or, for :func:`vq_explorer`, an ipywidgets box); nothing is shown or saved here.
Used by ``notebooks/03_vector_quantisation.ipynb``.

* :func:`fit_pca` / :class:`Projection` - a 2D (or 3D) principal-component view of feature vectors;
  fitted once on the data and then applied to centroids, so every frame shares the same axes;
* :func:`plot_feature_space` - features in their PCA plane, coloured by sensitivity;
* :func:`plot_scales_3d` - unit scale directions of Gaussians (sorted axes) in 3D;
* :func:`animate_centroids_2d` / :func:`animate_centroids_3d` - the codebook history recorded by
  :class:`pcc.c3dgs.vq.VectorQuantizer` (``history``, ``history_steps``, ``errors``);
* :func:`plot_original_vs_quantised` / :func:`plot_original_vs_quantised_3d` - what the table
  keeps of the feature cloud, marker area proportional to how many Gaussians use each row;
* :func:`plot_error_curves` - batch quantisation error per k-means step, several runs;
* :func:`plot_init_comparison` - initial and final codebooks of several initialisations;
* :func:`plot_codebook_usage` - Gaussians per centroid, sorted, with the dead centroids counted;
* :func:`plot_explorer_result` and :func:`vq_explorer` - the interactive codebook-size /
  keep-fraction explorer (the widget only calls a plain function you pass it).

Large clouds are sub-sampled (seeded) for scatter plots; titles say how many points are shown.
"""

from visualisation.vq._common import subsample_indices
from visualisation.vq.animation import animate_centroids_2d, animate_centroids_3d
from visualisation.vq.explorer import plot_explorer_result, vq_explorer
from visualisation.vq.features import Projection, fit_pca, plot_feature_space, plot_scales_3d
from visualisation.vq.results import (
    plot_codebook_usage,
    plot_error_curves,
    plot_init_comparison,
    plot_original_vs_quantised,
    plot_original_vs_quantised_3d,
)

__all__ = [
    "Projection",
    "animate_centroids_2d",
    "animate_centroids_3d",
    "fit_pca",
    "plot_codebook_usage",
    "plot_error_curves",
    "plot_explorer_result",
    "plot_feature_space",
    "plot_init_comparison",
    "plot_original_vs_quantised",
    "plot_original_vs_quantised_3d",
    "plot_scales_3d",
    "subsample_indices",
    "vq_explorer",
]
