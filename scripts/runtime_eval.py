"""A trained checkpoint through the runtime, scored on the OOD-dev suite: how every candidate is judged.

    python scripts/runtime_eval.py --name soup_c --checkpoint runs/soup_c --data build/data_cn \\
        --runtime-from models/tinyguardrail-v0.15

Steps (each one the project's own command, run in turn; the whole takes ~15 min on two cores):
1. ``python -m tinyguardrail.train.router_fit``: the router alone refit on 6,000 validation rows of ``--data`` for the
   ``attack`` gate (``runs/<name>_rf``), as every shipped soup since v0.10;
2. ``tinyguardrail export``: int8-dynamic graphs into ``build/cand/<name>/model``;
3. the runtime keys of ``--runtime-from``'s ``config.json`` (early exit, payload views, whole-text views) copied in,
   so the candidate runs as the shipped model does;
4. ``tinyguardrail eval calibrate`` on the OOD-dev suite (1 % blocked, 3 % flagged of its benign rows);
5. ``tinyguardrail eval run --suites-only ood_dev`` into ``build/eval_<name>`` (no report set is read).

Compare with ``scripts/compare_evals.py --suite ood_dev``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

RUNTIME_KEYS = ("early_exit_threshold", "early_exit_gate", "payload_views", "whole_view_confidence",
                "whole_view_decoders")
"""The config.json keys that set how the runtime reads a text, not what the graphs compute."""


def runtime_keys(config: dict) -> dict:
    """The runtime settings of a model's ``config.json`` (those it has)."""
    return {k: config[k] for k in RUNTIME_KEYS if k in config}


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="candidate name: build/cand/<name>/model, build/eval_<name>")
    p.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint folder (runs/<...>)")
    p.add_argument("--data", type=Path, default=Path("build/data"),
                   help="the candidate's data build: router refit and export calibration (default %(default)s)")
    p.add_argument("--suites", type=Path, default=Path("build/data"),
                   help="data build whose OOD-dev suite calibrates and scores (default %(default)s)")
    p.add_argument("--runtime-from", type=Path, default=None, metavar="MODEL",
                   help="copy this model's runtime keys (early exit, payload and whole-text views) into the candidate")
    p.add_argument("--cache", type=Path, default=Path("build/eval_cache"))
    p.add_argument("--limit", type=int, default=6000, help="validation rows for the router refit (default %(default)s)")
    a = p.parse_args(argv)
    py, cli = sys.executable, [sys.executable, "-m", "tinyguardrail"]
    model = Path("build/cand") / a.name / "model"
    refit = Path(f"runs/{a.name}_rf")
    _run([py, "-m", "tinyguardrail.train.router_fit", "--checkpoint", str(a.checkpoint), "--data", str(a.data),
          "--limit", str(a.limit), "--out", str(refit)])
    shutil.rmtree(model, ignore_errors=True)
    _run(cli + ["export", "--checkpoint", str(refit), "--out", str(model), "--quant", "int8-dynamic",
                "--variants", "int8-dynamic", "--calib", str(a.data / "validation.jsonl.gz"), "--eval-size", "300",
                "--name", a.name, "--early-exit-gate", "attack"])
    if a.runtime_from is not None:
        keys = runtime_keys(json.loads((a.runtime_from / "config.json").read_text(encoding="utf-8")))
        cfg_path = model / "config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8")) | keys
        cfg_path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        print(f"runtime keys from {a.runtime_from}: {keys}")
    _run(cli + ["eval", "calibrate", "--model", str(model), "--data", str(a.suites), "--cache", str(a.cache),
                "--attack-fpr", "0.01", "--flag-fpr", "0.03", "--write"])
    _run(cli + ["eval", "run", "--model", str(model), "--data", str(a.suites), "--suites-only", "ood_dev",
                "--peers", "none", "--cache", str(a.cache), "--latency-texts", "0", "--out", f"build/eval_{a.name}"])
    print(f"done: {model}, build/eval_{a.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
