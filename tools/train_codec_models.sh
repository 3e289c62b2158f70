#!/usr/bin/env bash
# Train the bundled learned-codec checkpoints (input_models/codec/*.pt) on procedural shapes only
# (pcc.pointcloud.shapes: no data on disk). The runs behind the bundled files, with their times,
# are listed in input_models/codec/README.md.
#
#   bash tools/train_codec_models.sh            # two trainings at a time (JOBS=2), 1 thread each
#
# Stage 1 (short, from scratch): a hyperprior model at lambda 0.1, 1450 steps, on the first,
#          small pool (2048 blocks from 128^3 / 256^3 shapes), hyper_channels 32, constant lr 1e-3,
#          lambda ramped up over the first 300 steps (without the ramp the rate term wins before
#          g_s has learned to use y, and the model settles on the prior).
# Stage 2 (long): BASE starts from the stage-1 model (every tensor whose name and shape match is
#          copied: g_a and g_s; the hyper transforms are new, hyper_channels 16) and trains
#          LONG_STEPS at BASE_LAMBDA on the config's pool (12288 blocks from 128^3 / 256^3 / 512^3
#          shapes), lr 1e-3 with a cosine decay to 1e-4 over the last LONG_DECAY steps.
# Stage 3 (fine-tunes from BASE, GEOv2 c6's sequential warm start), lr 5e-4 decaying to 5e-5,
#          everything trained:
#            hyperprior at FINE_LAMBDAS (the other rate points), FINE_STEPS steps;
#            hyperprior, gaussian and channel at BASE_LAMBDA (hyperprior = the bundled BASE_LAMBDA
#            point and the control), SIX_STEPS steps each: same starting transforms, same recipe.
#          (FREEZE=1 instead keeps g_a / g_s frozen for them, training.freeze [g_a, g_s]; the
#          README reports that variant too.)
# Stage 4 (the spatial-context models context, attention, hybrid): they quantise around the
#          hyperprior's mean and only refine the residual's pmf, so they start from the stage-3
#          hyperprior at BASE_LAMBDA with everything but their context layers frozen
#          (g_a, g_s, h_a, h_s and the z prior): they reconstruct bit-identically to it and
#          their training lowers the rate only. CONTEXT_STEPS steps, lr 1e-3 decaying to 1e-4.
#          The attention model (the best of the three) is also trained on top of the hyperprior
#          of every lambda in ATTENTION_LAMBDAS: a second RD ladder, same reconstructions, fewer bits.
# The weights-only exports (model.pt) are written to DEST/<name>.pt with float16 weights
# (pcc.codec.checkpoint.export_checkpoint; loading casts them back to float32). Logs and resumable
# checkpoints go to OUT/<name>/ (re-running resumes; finished runs are skipped).
set -euo pipefail
set -f  # no globbing: override values such as [g_a,g_s] pass through word splitting as they are
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CONFIG=${CONFIG:-configs/codec/hyperprior.yaml}
OUT=${OUT:-output/codec/train}
DEST=${DEST:-input_models/codec}
STAGE1_STEPS=${STAGE1_STEPS:-1450}
LONG_STEPS=${LONG_STEPS:-12000}
LONG_DECAY=${LONG_DECAY:-4000}
FINE_STEPS=${FINE_STEPS:-2000}
SIX_STEPS=${SIX_STEPS:-1500}
CONTEXT_STEPS=${CONTEXT_STEPS:-6000}
FREEZE=${FREEZE:-0}
BASE_LAMBDA=${BASE_LAMBDA:-0.1}
FINE_LAMBDAS=${FINE_LAMBDAS:-"0.025 0.4 1.5 4"}
OTHERS=${OTHERS:-"gaussian channel"}
CONTEXT_MODELS=${CONTEXT_MODELS:-"context attention hybrid"}
ATTENTION_LAMBDAS=${ATTENTION_LAMBDAS:-"0.025 0.4 1.5 4"}
JOBS=${JOBS:-2}
COMMON=(--set training.progress=false)
STAGE1=(--set data.train_blocks=2048 --set data.val_blocks=64 --set data.shape_bits=[7,8]
  --set model.entropy_options={} --set training.lr_final=null
  --set training.val_every=100 --set training.checkpoint_every=50
  --set training.lmbda_warmup=300)
LONG=(--set training.val_every=500 --set training.checkpoint_every=250
  --set training.lr_decay_steps="$LONG_DECAY")
FINE=(--set training.val_every=500 --set training.checkpoint_every=250 --set training.lr=0.0005
  --set training.lr_final=0.00005 --set training.lr_decay_steps="$FINE_STEPS")
SIX=(--set training.val_every=500 --set training.checkpoint_every=250 --set training.lr=0.0005
  --set training.lr_final=0.00005 --set training.lr_decay_steps="$SIX_STEPS")
CONTEXT=(--set training.val_every=500 --set training.checkpoint_every=250 --set training.lr=0.001
  --set training.lr_final=0.0001 --set training.lr_decay_steps="$CONTEXT_STEPS"
  --set training.freeze=[g_a,g_s,entropy.h_a,entropy.h_s,entropy.z_prior])
FROZEN=""
[ "$FREEZE" = 1 ] && FROZEN="--set training.freeze=[g_a,g_s]"

train() {  # name, steps, extra --set arguments...
  local name=$1 steps=$2
  shift 2
  local start=$SECONDS
  "$PY" -m pcc pc train "$CONFIG" --out "$OUT/$name" --resume \
    --set training.steps="$steps" "${COMMON[@]}" "$@" >"$OUT/$name.log" 2>&1
  echo "$name: $steps steps, $((SECONDS - start)) s" | tee -a "$OUT/times.txt"
}

export_model() {  # run name, bundled name
  "$PY" -c "from pcc.codec.checkpoint import export_checkpoint as e; e('$OUT/$1/model.pt', '$DEST/$2.pt')"
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
echo "stage1-l0.1 $STAGE1_STEPS ${STAGE1[*]} --set training.lmbda=0.1" | run_all
echo "long-l$BASE_LAMBDA $LONG_STEPS ${LONG[*]} --set training.lmbda=$BASE_LAMBDA" \
  "--set training.init_from=$OUT/stage1-l0.1/model.pt" | run_all
BASE="$OUT/long-l$BASE_LAMBDA/model.pt"
{
  for lam in $FINE_LAMBDAS; do
    echo "hyperprior-l$lam $FINE_STEPS ${FINE[*]} --set training.lmbda=$lam --set training.init_from=$BASE"
  done
  for em in hyperprior $OTHERS; do
    options=""  # the factorized prior has no hyper transforms: no hyper_channels option
    [ "$em" = gaussian ] && options="--set model.entropy_options={}"
    echo "$em-l$BASE_LAMBDA $SIX_STEPS ${SIX[*]} --set model.entropy_model=$em" \
      "--set training.lmbda=$BASE_LAMBDA --set training.init_from=$BASE $FROZEN $options"
  done
} | run_all
{
  for em in $CONTEXT_MODELS; do
    echo "$em-l$BASE_LAMBDA $CONTEXT_STEPS ${CONTEXT[*]} --set model.entropy_model=$em" \
      "--set training.lmbda=$BASE_LAMBDA --set training.init_from=$OUT/hyperprior-l$BASE_LAMBDA/model.pt"
  done
  for lam in $ATTENTION_LAMBDAS; do
    echo "attention-l$lam $CONTEXT_STEPS ${CONTEXT[*]} --set model.entropy_model=attention" \
      "--set training.lmbda=$lam --set training.init_from=$OUT/hyperprior-l$lam/model.pt"
  done
} | run_all
for em in hyperprior $OTHERS $CONTEXT_MODELS; do export_model "$em-l$BASE_LAMBDA" "$em-l$BASE_LAMBDA"; done
for lam in $FINE_LAMBDAS; do export_model "hyperprior-l$lam" "hyperprior-l$lam"; done
for lam in $ATTENTION_LAMBDAS; do export_model "attention-l$lam" "attention-l$lam"; done
echo "bundled: $(ls "$DEST")"
