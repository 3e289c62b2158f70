#!/usr/bin/env bash
# Train the bundled learned-codec checkpoints (input_models/codec/*.pt) on procedural shapes only
# (pcc.pointcloud.shapes: no data on disk). The exact runs behind the bundled files, with their
# times, are listed in input_models/codec/README.md.
#
#   bash tools/train_codec_models.sh            # two trainings at a time (JOBS=2), 1 thread each
#
# Phase 1: hyperprior models trained from scratch at the lambdas in SCRATCH_LAMBDAS (lambda ramps
#          up from 0 over WARMUP steps so that g_s learns to use y before the rate term bites).
# Phase 2: the remaining hyperprior rate points (WARM_LAMBDAS) and the five other entropy models
#          (at lambda = BASE_LAMBDA) start from the phase-1 model at BASE_LAMBDA (GEOv2 c6's
#          sequential warm start: every tensor whose name and shape match is copied, so g_a / g_s
#          are shared) and train HYPER_WARM_STEPS (hyperprior) or WARM_STEPS (others) more steps.
# Phase 3: the phase-1 models continue to FINAL_SCRATCH_STEPS.
# The weights-only exports (model.pt) are written to input_models/codec/<name>.pt with float16
# weights (pcc.codec.checkpoint.export_checkpoint; loading casts them back to float32).
# Logs and resumable checkpoints go to output/codec/train/<name>/ (re-running resumes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CONFIG=${CONFIG:-configs/codec/hyperprior.yaml}
OUT=${OUT:-output/codec/train}
DEST=${DEST:-input_models/codec}
SCRATCH_STEPS=${SCRATCH_STEPS:-1000}
FINAL_SCRATCH_STEPS=${FINAL_SCRATCH_STEPS:-1450}
WARMUP=${WARMUP:-300}
WARM_STEPS=${WARM_STEPS:-150}
HYPER_WARM_STEPS=${HYPER_WARM_STEPS:-450}
BASE_LAMBDA=${BASE_LAMBDA:-0.1}
SCRATCH_LAMBDAS=${SCRATCH_LAMBDAS:-"0.1 0.4"}
WARM_LAMBDAS=${WARM_LAMBDAS:-"0.05 0.2"}
OTHERS=${OTHERS:-"gaussian channel context attention hybrid"}
JOBS=${JOBS:-2}
COMMON=(--set training.progress=false --set training.val_every=100 --set training.checkpoint_every=50)

train() {  # name, steps, extra --set arguments...
  local name=$1 steps=$2
  shift 2
  local start=$SECONDS
  "$PY" -m pcc pc train "$CONFIG" --out "$OUT/$name" --resume \
    --set training.steps="$steps" "${COMMON[@]}" "$@" >"$OUT/$name.log" 2>&1
  echo "$name: $steps steps, $((SECONDS - start)) s" | tee -a "$OUT/times.txt"
  "$PY" -c "from pcc.codec.checkpoint import export_checkpoint as e; e('$OUT/$name/model.pt', '$DEST/$name.pt')"
}

run_all() {  # runs "name steps args..." lines, JOBS at a time
  local running=0 line
  while read -r line; do
    [ -z "$line" ] && continue
    # shellcheck disable=SC2086
    train $line &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
}

mkdir -p "$OUT" "$DEST"
for lam in $SCRATCH_LAMBDAS; do
  echo "hyperprior-l$lam $SCRATCH_STEPS --set training.lmbda=$lam --set training.lmbda_warmup=$WARMUP"
done | run_all

BASE="$OUT/hyperprior-l$BASE_LAMBDA/model.pt"
{
  for lam in $WARM_LAMBDAS; do
    echo "hyperprior-l$lam $HYPER_WARM_STEPS --set training.lmbda=$lam --set training.init_from=$BASE"
  done
  for em in $OTHERS; do
    echo "$em-l$BASE_LAMBDA $WARM_STEPS --set model.entropy_model=$em" \
      "--set training.lmbda=$BASE_LAMBDA --set training.init_from=$BASE"
  done
} | run_all
# Phase 3: the from-scratch hyperprior models continue to FINAL_SCRATCH_STEPS (after phase 2, so
# that phase 2 started from the SCRATCH_STEPS model).
for lam in $SCRATCH_LAMBDAS; do
  echo "hyperprior-l$lam $FINAL_SCRATCH_STEPS --set training.lmbda=$lam --set training.lmbda_warmup=$WARMUP"
done | run_all
echo "bundled: $(ls "$DEST")"
