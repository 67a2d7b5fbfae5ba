"""``tinyguardrail candidate``: a checkpoint scored as the runtime would serve it, on the OOD-dev suite only.

The three steps every recipe choice of ``docs/ablations.md`` goes through, as one command:

1. **export** (``tinyguardrail export``): INT8 ONNX (``--quantization``, default ``int8-rowwise``, measured beside
   fp32 on the validation split) into ``<out>/model``; with ``--runtime-from MODEL``, that model's runtime keys
   (:data:`RUNTIME_KEYS`: early-exit threshold, payload views, whole-text views; and :data:`RUNTIME_SUBKEYS`: the
   policy's ``views_in_band``, the front end's ``script_marks``; not the exit gate, which belongs to the checkpoint's
   router: ``--early-exit-gate``) are copied into the candidate's ``config.json``, so it is read as the shipped
   model is;
2. **calibrate** (``tinyguardrail eval calibrate --write``): the attack threshold and the uncertain band from the
   OOD-dev suite at ``--attack-fpr`` / ``--flag-fpr``, written into the model's ``config.json``;
3. **score** (``tinyguardrail eval --suites-only ood_dev --peers none``): windows, views and early exits included,
   into ``<out>/eval/results.json`` and ``<out>/RESULTS.md``.

    tinyguardrail candidate --checkpoint runs/soup_n --out build/cand/soup_n --early-exit-gate attack
    # as every shipped soup since v0.10: the router refit alone, int8-dynamic, the shipped model's runtime keys
    python -m tinyguardrail.train.router_fit --checkpoint runs/soup_c --data build/data_cn --limit 6000 \\
        --out runs/soup_c_rf
    tinyguardrail candidate --checkpoint runs/soup_c_rf --out build/cand/soup_c --data build/data_cn \\
        --suites build/data --quantization int8-dynamic --early-exit-gate attack --runtime-from models/<shipped>
    python scripts/compare_evals.py --out docs/ablations/vNN/candidates_ood_dev.md \\
        v0.9=build/cand/v09 soup_n=build/cand/soup_n

No report set is read: the candidate is chosen on OOD-dev, and only the chosen one is scored on the report sets
(``tinyguardrail eval`` with every suite).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tinyguardrail.data.io import DEFAULT_BUILD

RUNTIME_KEYS = ("early_exit_threshold", "payload_views", "whole_view_confidence", "whole_view_decoders")
"""The ``config.json`` keys that set how the runtime reads a text, not what the graphs compute."""
RUNTIME_SUBKEYS = {"policy": ("views_in_band",), "front_end": ("script_marks",)}
"""The same inside ``config.json``'s objects (the rest of ``policy`` is calibrated or left at its defaults; the rest
of ``front_end`` is how the model was trained). A copied ``script_marks`` that differs from the candidate's own is a
deliberate train/serve difference (v0.17's): :func:`copy_runtime_keys` says so on stderr."""


def copy_runtime_keys(source_model: Path, model_dir: Path) -> dict:
    """Write ``source_model``'s runtime keys (those it has) into ``model_dir/config.json``; returns them."""
    source = json.loads((source_model / "config.json").read_text(encoding="utf-8"))
    keys = {k: source[k] for k in RUNTIME_KEYS if k in source}
    path = model_dir / "config.json"
    config = json.loads(path.read_text(encoding="utf-8")) | keys
    for obj, names in RUNTIME_SUBKEYS.items():
        sub = {k: source[obj][k] for k in names if k in (source.get(obj) or {})}
        if obj == "front_end" and sub.get("script_marks", False) != (config.get(obj) or {}).get("script_marks", False):
            print(f"candidate: front_end.script_marks {sub.get('script_marks')} from {source_model}, not as "
                  f"{model_dir} was trained (a train/serve difference, on purpose)", file=sys.stderr)
        if sub:
            config[obj] = (config.get(obj) or {}) | sub
            keys[obj] = sub
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return keys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, help="checkpoint folder (train, train.wise, train.soup)")
    p.add_argument("--out", type=Path, required=True,
                   help="folder: <out>/model, <out>/eval/results.json and <out>/RESULTS.md are written")
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD, help="data build: validation.jsonl.gz and suites/")
    p.add_argument("--suites", type=Path, default=None,
                   help="data build whose suites/ calibrate and score (default: --data's; a variant build's own "
                        "OOD-dev suite is the same file when its hold-outs are)")
    p.add_argument("--runtime-from", type=Path, default=None, metavar="MODEL",
                   help="copy this model's runtime keys (early exit, payload and whole-text views, views_in_band, "
                        "script_marks) into the candidate")
    p.add_argument("--name", default=None, help="name of the model (default: the --out folder's name)")
    p.add_argument("--early-exit-gate", default=None, help="the runtime's early-exit gate (default: the checkpoint's)")
    p.add_argument("--attack-fpr", type=float, default=0.01, help="OOD-dev benign rows blocked at most this often")
    p.add_argument("--flag-fpr", type=float, default=0.03, help="OOD-dev benign rows flagged at most this often")
    p.add_argument("--quantization", choices=("int8-rowwise", "int8-dynamic"), default="int8-rowwise",
                   help="the variant exported and scored (int8-dynamic: the runtime runs it one row per call)")
    p.add_argument("--eval-size", type=int, default=300, help="validation rows the export measures its variants on")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads for calibration and scoring")
    p.add_argument("--cache", default="", help="prediction cache folder (default '': none, the model is new)")


def run(args: argparse.Namespace) -> int:
    from tinyguardrail.eval import cli_eval
    from tinyguardrail.export.cli_export import export_model

    validation = args.data / "validation.jsonl.gz"
    suites = args.suites or args.data
    suite = suites / "suites" / "ood_dev.jsonl.gz"
    for path, what in ((validation, "the validation split"), (suite, "the OOD-dev suite (tinyguardrail eval suites)")):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: the candidate needs {what}")
    name = args.name or args.out.name
    model_dir = args.out / "model"
    t0 = time.perf_counter()
    export_model(args.checkpoint, model_dir, quant=args.quantization, calib=validation, eval_size=args.eval_size,
                 variants=["fp32", args.quantization], threads=args.threads, name=name,
                 early_exit_gate=args.early_exit_gate)
    print(f"candidate: exported {model_dir} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.runtime_from is not None:
        print(f"candidate: runtime keys of {args.runtime_from}: {copy_runtime_keys(args.runtime_from, model_dir)}")
    common = ["--data", str(suites), "--model", str(model_dir), "--threads", str(args.threads)]
    cli_eval.run(_eval_args(["calibrate", *common, "--attack-fpr", str(args.attack_fpr), "--flag-fpr",
                             str(args.flag_fpr), "--write"]))  # fmt: skip
    print(f"candidate: calibrated ({time.perf_counter() - t0:.0f} s)", flush=True)
    code = cli_eval.run(_eval_args(["run", *common, "--name", name, "--peers", "none", "--suites-only", "ood_dev",
                                    "--out", str(args.out), "--cache", args.cache, "--latency-texts", "0"]))
    print(f"candidate: scored on OOD-dev, {args.out / 'eval' / 'results.json'} ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    return code


def _eval_args(argv: list[str]) -> argparse.Namespace:
    """``tinyguardrail eval``'s arguments as its own parser reads them (its defaults for everything not given)."""
    from tinyguardrail.eval import cli_eval

    parser = argparse.ArgumentParser(prog="tinyguardrail eval")
    cli_eval.add_arguments(parser)
    return parser.parse_args(argv)
