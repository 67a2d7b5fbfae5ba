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

#: The train fields that also have a flag of their own (flag -> field); every field has ``--set train.NAME=VALUE``.
FLAGS = {
    "--out": "out_dir", "--data-dir": "data_dir", "--device": "device", "--epochs": "epochs",
    "--run-epochs": "run_epochs", "--batch-size": "batch_size", "--lr": "lr", "--seed": "seed",
    "--max-train-rows": "max_train_rows", "--max-val-rows": "max_val_rows", "--num-workers": "num_workers",
}  # fmt: skip
_TYPES = {"int": int, "float": float, "str": str}


def train_field_docs() -> dict[str, str]:
    """``TrainConfig`` field -> its attribute docstring (litgpt style: the docstrings are the help)."""
    from tinyguardrail.train import config

    tree = ast.parse(inspect.getsource(config.TrainConfig))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def _default(f: dataclasses.Field):
    """A field's default, from its factory when it has one (a list default)."""
    if f.default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tinyguardrail.train.config import TrainConfig

    docs = train_field_docs()
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    lines = ["train options (the 'train' section of --config, or --set train.NAME=VALUE):"]
    lines += [f"  {f.name} (default {_default(f)!r}): {docs.get(f.name, '')}" for f in fields.values()]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "\n".join(lines)
    parser.add_argument("--config", required=True, help="run config JSON with 'model' and 'train' sections")
    for flag, name in FLAGS.items():
        kind = _TYPES[str(fields[name].type).removesuffix(" | None")]
        parser.add_argument(flag, dest=name, type=kind, default=None, help=f"{docs[name]} (train.{name})".replace("%", "%%"))
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

    from tinyguardrail.train.config import TrainConfig, check_model_section
    from tinyguardrail.train.loop import setup

    raw = _json.loads(Path(args.config).read_text(encoding="utf-8"))
    if "model" not in raw:
        raise ValueError(f"{args.config}: a run config needs a 'model' section")
    model, train = dict(raw["model"]), dict(raw.get("train", {}))
    train.update({name: getattr(args, name) for name in FLAGS.values() if getattr(args, name) is not None})
    if args.no_progress:
        train["progress"] = False
    apply_overrides(model, train, args.set)
    check_model_section(model, f"{args.config} and --set")
    summary = setup(model, TrainConfig.from_dict(train), resume=args.resume, prepare_only=args.prepare_only)
    summary.pop("history", None)
    print(_json.dumps(summary, indent=2))
    return 0
