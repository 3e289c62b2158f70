#!/usr/bin/env bash
# Regenerate the bundled 3DGS scene: ray-trace the still-life dataset, train Gaussians on it,
# record the test PSNR of three test views for tests/test_bundled_scene.py.
#
#   bash tools/make_bundled_scene.sh [DEST]      # DEST defaults to input_models/still_life
#
# Settings (see input_models/README.md for the measured results):
#   dataset: 48 training + 12 test views, 128x128 px, 2x2 supersampling, seed 0, 10k SfM-like points
#   training: 2500 steps, SH degree 3, white background, at most 27000 Gaussians, 1 thread
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${DEST:-${1:-input_models/still_life}}
PY=${PY:-.venv/bin/python}
THREADS=${THREADS:-1}
ITERATIONS=${ITERATIONS:-2500}
MAX_GAUSSIANS=${MAX_GAUSSIANS:-27000}

start=$(date +%s)
rm -rf "$DEST/dataset" "$DEST/model"
"$PY" -m pcc gs make-dataset "$DEST/dataset" --n-train 48 --n-test 12 --size 128 --seed 0 \
    --supersample 2 --n-points 10000 --no-progress --json
"$PY" -m pcc gs train "$DEST/dataset" --out "$DEST/model" --iterations "$ITERATIONS" \
    --max-gaussians "$MAX_GAUSSIANS" --white-background --test-every 500 --seed 0 \
    --threads "$THREADS" --json
end=$(date +%s)

# Record what the bundled-scene test checks: PSNR of three test views rendered from the PLY.
"$PY" - "$DEST" "$((end - start))" <<'PYEOF'
import json, sys
from pathlib import Path

from pcc.gaussians.train import evaluate_psnr
from pcc.io.datasets import load_dataset
from pcc.io.inria_model import load_model
from pcc.io.atomic import write_text_atomic

dest, seconds = Path(sys.argv[1]), int(sys.argv[2])
model = load_model(dest / "model")
test = load_dataset(dest / "dataset", "test", (1.0, 1.0, 1.0))
views = [0, 4, 8]
values = evaluate_psnr(model, [test[i] for i in views], (1.0, 1.0, 1.0))
all_test = evaluate_psnr(model, test, (1.0, 1.0, 1.0))
log = json.loads((dest / "model" / "training_log.json").read_text())
record = {
    "model": "model",
    "dataset": "dataset",
    "background": [1.0, 1.0, 1.0],
    "views": [test[i].name for i in views],
    "psnr": [round(v, 4) for v in values],
    "test_psnr_all_views": round(sum(all_test) / len(all_test), 4),
    "train_psnr": log["train_psnr"],
    "n_gaussians": len(model),
    "sh_degree": model.sh_degree,
    "generation_plus_training_seconds": seconds,
    "training_seconds": log["seconds"],
    "training_cpu_seconds": log["cpu_seconds"],
}
write_text_atomic(dest / "model" / "bundled_eval.json", json.dumps(record, indent=2) + "\n")
print(json.dumps(record))
PYEOF
