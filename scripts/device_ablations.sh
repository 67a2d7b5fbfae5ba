#!/usr/bin/env bash
# Component ablations and base-encoder comparison on one GPU call (docs/ablations.md): the shipped recipe's model
# and data, each run 2 epochs without FGSM, scored on the validation split by the training loop.
#   SUITE=ablations (default): the full model, then one component switched off per run; carries .carry/base_minilm
#   SUITE=encoders: multilingual-e5-small start (carries .carry/base_e5) and random init; the MiniLM reference is
#                   the ablation suite's "full" run (same settings)
# Carried (ignored) paths as for scripts/device_train.sh: $DATA_DIR (train + validation), .carry/site.tgz and the
# base named above. Writes $OUT/<name>.metrics.jsonl per run and $OUT/ablations.log.
set -uo pipefail
OUT=${OUT:-/tmp/out}
EPOCHS=${EPOCHS:-2}
CAP=${CAP:-100}   # wall-clock seconds per run (the feature cache is built by the first run, outside its cap)
DATA_DIR=${DATA_DIR:-build/data}
SUITE=${SUITE:-ablations}
mkdir -p "$OUT" /tmp/site
tar xzf .carry/site.tgz -C /tmp/site
export PYTHONPATH="$PWD/src:/tmp/site" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
common=(--config configs/base.json --set 'train.cache_dir="runs/cache"' --set train.fgsm_start_epoch=99 --data-dir "$DATA_DIR" --epochs "$EPOCHS" --batch-size 128 --lr 1e-4)
run() {  # name, extra --set flags...
  local name=$1; shift
  echo "== $name $*" | tee -a "$OUT/ablations.log"
  timeout "$CAP" python3 -m tinyguardrail train "${common[@]}" "$@" --out "runs/$name" 2>&1 \
    | grep -v -E "it/s\]|chunk/s" | tail -12 >> "$OUT/ablations.log"
  cp "runs/$name/metrics.jsonl" "$OUT/$name.metrics.jsonl" 2>/dev/null
}
if [ "$SUITE" = encoders ]; then
  run e5_small --set 'model.pretrained_name="e5-small"' --set 'train.pretrained_dir=".carry/base_e5"'
  run random_init --set 'model.init="random"'
else
  minilm=(--set 'train.pretrained_dir=".carry/base_minilm"')
  python3 -m tinyguardrail train "${common[@]}" "${minilm[@]}" --out runs/prep --prepare-only 2>&1 | grep -v "chunk/s" | tail -3
  run full "${minilm[@]}"
  run no_moe "${minilm[@]}" --set model.use_moe=false
  run no_char_cnn "${minilm[@]}" --set model.use_char_cnn=false
  run no_detector_feats "${minilm[@]}" --set model.use_detector_feats=false --set model.use_pattern_bank=false
  run no_deep "${minilm[@]}" --set model.use_deep_branch=false
fi
ls -la "$OUT"
