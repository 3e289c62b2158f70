"""c3dgs compression on CPU (Niedermayr et al., "Compressed 3D Gaussian Splatting for Accelerated
Novel View Synthesis", CVPR 2024): sensitivity, pruning, sensitivity-aware vector quantisation,
quantisation-aware fine-tuning and storage (the c3dgs npz and our entropy-coded ``.pcc3dgs``).

Modules, one job each: :mod:`~pcc.c3dgs.sensitivity`, :mod:`~pcc.c3dgs.prune`,
:mod:`~pcc.c3dgs.vq` (the quantizer; k-means in :mod:`~pcc.c3dgs.kmeans` and
:mod:`~pcc.c3dgs.kmeans_init`, the keep-exact table in :mod:`~pcc.c3dgs.vq_tables`),
:mod:`~pcc.c3dgs.features`, :mod:`~pcc.c3dgs.quantize`, :mod:`~pcc.c3dgs.positions`,
:mod:`~pcc.c3dgs.compressed_model`, :mod:`~pcc.c3dgs.finetune`, :mod:`~pcc.c3dgs.storage_npz`,
:mod:`~pcc.c3dgs.storage_pcc` (the ``.pcc3dgs`` format; its position stream in
:mod:`~pcc.c3dgs.storage_positions`, its coders in :mod:`pcc.coding`), :mod:`~pcc.c3dgs.presets`,
:mod:`~pcc.c3dgs.pipeline`. The pipeline one step at a time, each returning a dataclass of plain
data: the package :mod:`~pcc.c3dgs.stages` (``from pcc.c3dgs import stages``;
``stages.sensitivity``, ``stages.prune``, ``stages.quantize_colors``, ``stages.quantize_shapes``,
``stages.finetune``, ``stages.quantize``, ``stages.store``, ``stages.evaluate``; one module per
step inside).
Taught in ``notebooks/01_sensitivity.ipynb`` .. ``06_whole_pipeline.ipynb`` (one notebook per step).
"""

from pcc.c3dgs import stages
from pcc.c3dgs.compressed_model import IndexedGaussians, QuantizedGaussians, finalize
from pcc.c3dgs.pipeline import compress, evaluate, load_compressed, run, save_compressed
from pcc.c3dgs.presets import C3dgsConfig, ConfigError, VQConfig, apply_overrides, get_preset
from pcc.c3dgs.sensitivity import Sensitivity, compute_sensitivity
from pcc.c3dgs.stages import (
    EvalResult,
    FinetuneResult,
    PruneResult,
    SensitivityResult,
    StoreResult,
    ViewMetrics,
    VQStage,
    quantize_colors,
    quantize_shapes,
)
from pcc.c3dgs.vq import VectorQuantizer

__all__ = [
    "C3dgsConfig",
    "ConfigError",
    "EvalResult",
    "FinetuneResult",
    "PruneResult",
    "SensitivityResult",
    "StoreResult",
    "VQStage",
    "ViewMetrics",
    "apply_overrides",
    "quantize_colors",
    "quantize_shapes",
    "stages",
    "IndexedGaussians",
    "QuantizedGaussians",
    "Sensitivity",
    "VQConfig",
    "VectorQuantizer",
    "compress",
    "compute_sensitivity",
    "evaluate",
    "finalize",
    "get_preset",
    "load_compressed",
    "run",
    "save_compressed",
]
