"""``tinyguardrail train``: train a model from a run config file.

    tinyguardrail train --config configs/base.json --out runs/base
    tinyguardrail train --config configs/base.json --out runs/no_moe --set model.use_moe=false
    tinyguardrail train --config configs/base.json --out runs/base --resume
    tinyguardrail train --config configs/base.json --out runs/base --prepare-only   # feature cache only (CPU)

The config file has a "model" section (``GuardrailConfig`` fields) and a "train" section (``TrainConfig`` fields,
listed below with their meaning); flags override the file, and the resolved config is saved with the weights.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
from typing import Any


def train_field_docs() -> dict[str, str]:
    """``TrainConfig`` field -> its attribute docstring (litgpt style: the docstrings are the help)."""
    from tinyguardrail.train import loop

    tree = ast.parse(inspect.getsource(loop.TrainConfig))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def _epilog() -> str:
    try:
        from tinyguardrail.train.loop import TrainConfig
    except ImportError:  # torch missing: --help still works
        return "train options: install the [train] extra to list them"
    docs = train_field_docs()
    lines = ["train options (the 'train' section of --config, or --set train.NAME=VALUE):"]
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else None
        lines.append(f"  {f.name} (default {default!r}): {docs.get(f.name, '')}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _epilog()
    parser.add_argument("--config", required=True, help="run config JSON with 'model' and 'train' sections")
    parser.add_argument("--out", default=None, help="output directory (train.out_dir)")
    parser.add_argument("--data-dir", default=None, help="built data folder (train.data_dir)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N (train.device)")
    parser.add_argument("--epochs", type=int, default=None, help="train.epochs")
    parser.add_argument(
        "--run-epochs",
        type=int,
        default=None,
        help="stop after N epochs in this invocation; continue with --resume (train.run_epochs)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="train.batch_size")
    parser.add_argument("--lr", type=float, default=None, help="train.lr")
    parser.add_argument("--seed", type=int, default=None, help="train.seed")
    parser.add_argument("--max-train-rows", type=int, default=None, help="train.max_train_rows (smoke runs)")
    parser.add_argument("--max-val-rows", type=int, default=None, help="train.max_val_rows")
    parser.add_argument("--num-workers", type=int, default=None, help="train.num_workers (feature encoding)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override any field, e.g. model.use_moe=false or train.fgsm_epsilon=0 (VALUE is JSON)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from <out>/last")
    parser.add_argument("--prepare-only", action="store_true", help="only build the normalized-text / feature cache")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or log lines")


def apply_overrides(model: dict[str, Any], train: dict[str, Any], sets: list[str]) -> None:
    """Apply ``section.key=value`` strings (value parsed as JSON, else taken as a string) in place."""
    for item in sets:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or section not in ("model", "train"):
            raise ValueError(f"--set {item!r}: expected model.KEY=VALUE or train.KEY=VALUE")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        (model if section == "model" else train)[name] = parsed


def run(args: argparse.Namespace) -> int:
    import json as _json
    from pathlib import Path

    from tinyguardrail.train.loop import TrainConfig, setup

    raw = _json.loads(Path(args.config).read_text(encoding="utf-8"))
    if "model" not in raw:
        raise ValueError(f"{args.config}: a run config needs a 'model' section")
    model, train = dict(raw["model"]), dict(raw.get("train", {}))
    flags = {"out_dir": args.out, "data_dir": args.data_dir, "device": args.device, "epochs": args.epochs,
             "run_epochs": args.run_epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "max_train_rows": args.max_train_rows,
             "max_val_rows": args.max_val_rows, "num_workers": args.num_workers}  # fmt: skip
    train.update({k: v for k, v in flags.items() if v is not None})
    if args.no_progress:
        train["progress"] = False
    apply_overrides(model, train, args.set)
    summary = setup(model, TrainConfig.from_dict(train), resume=args.resume, prepare_only=args.prepare_only)
    summary.pop("history", None)
    print(_json.dumps(summary, indent=2))
    return 0
