#!/usr/bin/env bash
# The GPU half of a training run (what `device run` executed for models/tinyguardrail-v0.1; docs/training.md has
# the whole recipe). It needs these ignored paths carried next to the working tree (<= 64 MiB together):
#   $DATA_DIR               train + validation splits (default build/data; v0.2 carried .carry/data, the same
#                           rows with only text and label, to fit the 64 MiB limit next to the shipped model)
#   .carry/base_minilm      compact pruned MiniLM base (model.pretrained.prepare_base, 4-bit)
#   $CACHE_DIR              feature caches of `tinyguardrail train --prepare-only` built on the CPU (default
#                           .carry/cache_minilm); when absent the features are computed there, on all its cores
#   .carry/site.tgz         pure-Python packages the GPU image lacks (wordfreq with English data only,
#                           confusable_homoglyphs, ftfy, langcodes, locate, msgpack, regex, wcwidth)
# and writes to $OUT: train.log, metrics.jsonl, run_config.json and the best checkpoint as fp16 in 15 MiB parts
# (scripts/pack_checkpoint.py), since at most 64 MiB come back from a call.
set -uo pipefail
OUT=${OUT:-/tmp/out}
EPOCHS=${EPOCHS:-2}
CAP=${CAP:-150}   # wall-clock seconds for training; the best checkpoint so far is packed either way
FGSM_START=${FGSM_START:-1}   # first epoch (0-based) trained with FGSM
DATA_DIR=${DATA_DIR:-build/data}
CACHE_DIR=${CACHE_DIR:-.carry/cache_minilm}
EXTRA=${EXTRA:-}   # more train CLI arguments, e.g. "--set model.char_channels=64"
mkdir -p "$OUT" /tmp/site
tar xzf .carry/site.tgz -C /tmp/site
export PYTHONPATH="$PWD/src:/tmp/site" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi -L
timeout "$CAP" python3 -m tinyguardrail train --config configs/base.json \
  --set 'train.pretrained_dir=".carry/base_minilm"' --set "train.cache_dir=\"$CACHE_DIR\"" \
  --set train.allow_stale_features=true --set "train.fgsm_start_epoch=$FGSM_START" --data-dir "$DATA_DIR" \
  --out runs/minilm --epochs "$EPOCHS" --batch-size 128 --lr 1e-4 $EXTRA 2>&1 \
  | grep -v "it/s\]" | tee "$OUT/train.log" | tail -40
cp runs/minilm/metrics.jsonl runs/minilm/run_config.json "$OUT/" 2>/dev/null
python3 scripts/pack_checkpoint.py runs/minilm/best "$OUT/ckpt.tar.part-"
ls -la "$OUT"
