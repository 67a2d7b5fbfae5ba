"""``tinyguardrail model-info``: parameter count (total and per component) and estimated INT8 size of a config.

INT8 estimate: 1 byte per weight of ``nn.Linear`` / ``nn.Embedding`` / ``nn.Conv1d`` (what dynamic INT8
quantization stores as int8; scales and zero points ignored), 4 bytes for everything else (biases, LayerNorms,
prototypes). The model is built on the ``meta`` device, so this is instant and allocates nothing.
"""

from __future__ import annotations

import argparse
import json
from collections import OrderedDict
from pathlib import Path

#: The SPEC's hard limit.
MAX_PARAMS = 60_000_000


def load_model_dict(path: str | Path) -> dict:
    """A model-config dict from a run config (``{"model": ..., "train": ...}``) or a bare ``config.json``."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    return dict(d["model"]) if isinstance(d.get("model"), dict) else d


def _component(name: str) -> str:
    """Group a parameter name into a report row."""
    parts = name.split(".")
    if parts[0] == "embed":
        return {"word": "embed.token", "pos": "embed.position", "ln": "embed.layernorm",
                "char_cnn": "embed.char_cnn", "det_proj": "embed.detector"}[parts[1]]  # fmt: skip
    if parts[0] in ("fast", "deep") and parts[1] == "layers":
        branch = parts[0]
        if parts[3] == "ffn":
            if parts[4] == "experts":
                return f"{branch}.moe_experts"
            if parts[4] == "gate":
                return f"{branch}.moe_gates"
            return f"{branch}.ffn"
        return f"{branch}.attention+ln"
    if parts[0] == "fast":
        return {"bank": "fast.pattern_bank", "head": "fast.head"}[parts[1]]
    if parts[0] == "deep":
        return {"pool": "deep.hier_pool", "head": "deep.head"}[parts[1]]
    return parts[0]  # router


def parameter_report(config) -> dict:
    """{"total": n, "int8_bytes": b, "components": {name: n}} for a ``GuardrailConfig``."""
    import torch
    from torch import nn

    from tinyguardrail.model.model import GuardrailModel

    with torch.device("meta"):
        model = GuardrailModel(config)
    int8_names = set()
    for mname, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Embedding | nn.Conv1d):
            int8_names.add(f"{mname}.weight")
    comps: dict[str, int] = OrderedDict()
    total = size = 0
    for name, p in model.named_parameters():
        n = p.numel()
        comps[_component(name)] = comps.get(_component(name), 0) + n
        total += n
        size += n * (1 if name in int8_names else 4)
    return {"total": total, "int8_bytes": size, "components": dict(comps)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="run config (with a 'model' section) or a model config.json")
    parser.add_argument("--vocab-size", type=int, default=None, help="vocabulary size when the config says 'auto'")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from tinyguardrail.model.config import GuardrailConfig, detector_count, resolve_auto

    d = resolve_auto(load_model_dict(args.config), vocab_size=args.vocab_size, pad_id=0,
                     n_detector_feats=detector_count() or 0)  # fmt: skip
    config = GuardrailConfig.from_dict(d)
    rep = parameter_report(config)
    rep["limit"] = MAX_PARAMS
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        width = max(len(k) for k in rep["components"])
        for k, n in rep["components"].items():
            print(f"{k:<{width}}  {n:>12,}")
        print(f"{'total':<{width}}  {rep['total']:>12,}   (limit {MAX_PARAMS:,})")
        print(f"{'int8 size':<{width}}  {rep['int8_bytes'] / 2**20:>11.1f}M   (MiB, estimate)")
    if rep["total"] > MAX_PARAMS:
        print(f"tinyguardrail: model has {rep['total']:,} parameters > limit {MAX_PARAMS:,}")
        return 1
    return 0
