"""The c3dgs pipeline one stage at a time: each stage is a function returning plain data.

Notebooks call these one after the other and plot what they return; :func:`pcc.c3dgs.pipeline.compress`
is exactly their composition. Use them as ``from pcc.c3dgs import stages`` (the names
``sensitivity``, ``prune`` and ``finetune`` are also submodules of :mod:`pcc.c3dgs`, so they are not
re-exported there). Tensors are CPU torch tensors, positions and images are numpy arrays.

=====================  =========================================================================
stage                  result fields
=====================  =========================================================================
:func:`sensitivity`    :class:`SensitivityResult`: ``color [N, 3(d+1)^2]``, ``shape [N, 6]``
                       (accumulated |gradients| / pixels), ``color_importance [N]``,
                       ``shape_importance [N]`` (max over entries), ``color_threshold`` /
                       ``shape_threshold`` (keep-exact thresholds the VQ stages will use),
                       ``color_kept_fraction`` / ``shape_kept_fraction``, ``n_color_kept`` /
                       ``n_shape_kept``, ``prune_threshold``, ``n_pruned``, ``n_pixels``,
                       ``n_views``, ``raw`` (the :class:`~pcc.c3dgs.sensitivity.Sensitivity`)
:func:`prune`          :class:`PruneResult`: ``keep [N]`` (final), ``sensitivity_keep [N]``,
                       ``density_keep [N]`` or None, ``neighbor_counts [N]`` (-1 where not
                       counted) or None, ``density_radius`` (world units), ``density_threshold``
                       (neighbour count tau), ``n_before``, ``n_after_sensitivity``, ``n_after``,
                       ``kept_positions [n_after, 3]``, ``removed_positions [n_removed, 3]``,
                       ``model`` (pruned GaussianModel), ``sensitivity`` (masked Sensitivity)
:func:`quantize_colors` :class:`VQStage`: ``table [K' + n_keep, D]``, ``indices [N]``,
:func:`quantize_shapes` ``keep_mask [N]``, ``threshold``, ``features [N, D]`` (the vectors
                       clustered: SH 48-d or trace-normalised covariance 6-d), ``errors [steps]``
                       (batch mean squared error per step), ``history [T, K, D]`` (centroids every
                       ``history_every`` steps, initial ones first; empty if 0),
                       ``history_steps [T]``, ``usage [K]`` (clustered Gaussians per centroid),
                       ``dead_centroids``, ``n_reseeded``, ``init``, ``k``, ``quantizer``
:func:`build_indexed`  :class:`~pcc.c3dgs.compressed_model.IndexedGaussians` from the two stages
:func:`finetune`       :class:`FinetuneResult`: ``indexed`` (the model kept), ``indexed_before``,
                       ``tuned`` (the fine-tuned one, even if the guard rejected it),
                       ``losses [iterations]``, ``render_iterations [R]``, ``renders`` (list of
                       ``[H, W, 3]`` numpy images of ``render_camera``, iteration 0 first),
                       ``applied``, ``guard_loss_before`` / ``guard_loss_after`` (or None)
:func:`quantize`       :class:`~pcc.c3dgs.compressed_model.QuantizedGaussians` (8-bit, Morton)
:func:`store`          :class:`StoreResult`: ``path``, ``fmt``, ``file_bytes``, ``streams``
                       (bytes per stream: npz zip members compressed, ``.pcc3dgs`` range-coded
                       streams), ``attributes`` (streams summed per attribute), ``framing``
                       (container overhead); ``sum(streams) + framing == file_bytes``
:func:`evaluate`       :class:`EvalResult`: ``before`` / ``after`` :class:`ViewMetrics`
                       (``names``, ``psnr [V]``, ``ssim [V]``, ``images`` list of ``[H, W, 3]``,
                       ``psnr_mean``, ``ssim_mean``), ``targets`` (ground-truth images)
:func:`pruning_curve`  :class:`PruningCurve`: ``strategy``, ``fractions [F]``, ``n_kept [F]``,
                       ``psnr [F]``, ``ssim [F]``, ``psnr_per_view [F, V]`` (quality after
                       removing the least / most sensitive or random Gaussians; no fine-tuning)
=====================  =========================================================================

Every stage takes ``progress=None`` (bars only on a terminal or in interactive Jupyter, see
:mod:`pcc.progress`); time stages with :class:`pcc.timing.Timings`. Taught in
``notebooks/01_sensitivity.ipynb`` .. ``notebooks/06_whole_pipeline.ipynb``.
"""

from pcc.c3dgs.stages.evaluation import EvalResult, evaluate
from pcc.c3dgs.stages.importance import (
    SensitivityResult,
    describe_sensitivity,
    keep_threshold,
    sensitivity,
)
from pcc.c3dgs.stages.pruning import PruneResult, PruningCurve, prune, pruning_curve
from pcc.c3dgs.stages.storing import StoreResult, npz_stream_sizes, quantize, store
from pcc.c3dgs.stages.tuning import FinetuneResult, finetune, training_loss
from pcc.c3dgs.stages.vq_stages import (
    VQStage,
    build_indexed,
    codebook_size,
    quantize_colors,
    quantize_shapes,
)
from pcc.gaussians.quality import ViewMetrics, evaluate_views

__all__ = [
    "EvalResult",
    "FinetuneResult",
    "PruneResult",
    "PruningCurve",
    "SensitivityResult",
    "StoreResult",
    "VQStage",
    "ViewMetrics",
    "build_indexed",
    "codebook_size",
    "describe_sensitivity",
    "evaluate",
    "evaluate_views",
    "finetune",
    "keep_threshold",
    "npz_stream_sizes",
    "prune",
    "pruning_curve",
    "quantize",
    "quantize_colors",
    "quantize_shapes",
    "sensitivity",
    "store",
    "training_loss",
]
