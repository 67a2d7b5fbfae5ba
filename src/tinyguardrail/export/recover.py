"""Rebuild a PyTorch checkpoint from an exported model folder (the inverse of ``tinyguardrail export``).

A shipped model folder holds only ONNX graphs (INT8 weights, fp32 for the character CNN) and its config; ``runs/``
is not in the repository, so without this a fresh checkout cannot train on from the shipped model (a CPU
continuation, a fine-tune on new data). The weights come back dequantized:

* named initializers (``model.<param>``: biases, LayerNorms, fp32 weights) are taken as they are;
* quantized embedding tables (``<param>_quantized`` / ``_scale`` / ``_zero_point``) are dequantized;
* the weight of every MatMul / Gemm / ``MatMulIntegerToFloat`` / ``MatMulInteger`` with a constant weight (int8 x
  per-column scale, less its zero point for ONNX Runtime's dynamic quantization, or fp32) is mapped back to its
  ``nn.Linear`` by the node name the exporter wrote (``/fast/layers.0/q/MatMul`` -> ``fast.layers.0.q.weight``,
  transposed back to ``[out, in]``);
* two folded constants are unfolded: the pattern bank's prototypes (stored normalized, which the bank's forward
  does anyway) and the character CNN's one-matmul filter banks (split back into one ``nn.Linear`` per kernel size).

Every parameter of the model the config describes must be recovered with its exact shape, or the call fails and
names what is missing. The result is the exported model's function up to its quantization error (the INT8 weights
are what the shipped model computes with), not the fp32 checkpoint it was exported from: measure with
``python -m tinyguardrail.export.parity --checkpoint OUT --model MODEL_DIR``.

    tinyguardrail recover --model models/<name> --out runs/recovered
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: ONNX ops whose second input is a weight [in, out] of an ``nn.Linear`` (``Gemm`` may store it transposed).
_WEIGHT_OPS = ("MatMul", "Gemm", "MatMulIntegerToFloat", "MatMulInteger")


def module_path(node_name: str) -> str:
    """``/router/mlp/mlp.0/Gemm_MatMul`` -> ``router.mlp.0``: the exporter's node scope without the op, with the
    repeated parent prefix of ``nn.Sequential`` children (``mlp/mlp.0``) folded."""
    parts = node_name.strip("/").split("/")[:-1]
    out: list[str] = []
    for p in parts:
        if out and p.startswith(out[-1] + "."):
            out[-1] = p
        else:
            out.append(p)
    return ".".join(out)


class _Graph:
    """One ONNX graph's constants: initializers plus the fp32 value of the few constant subgraphs the quantizer
    writes (``Cast`` + ``Mul`` of an int8 weight and its scale)."""

    def __init__(self, path: Path) -> None:
        import onnx
        from onnx import numpy_helper

        try:
            self.model = onnx.load(str(path))
        except OSError:
            raise
        except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
            raise ValueError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from exc
        g = self.model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers: dict[str, list[Any]] = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def const(self, name: str) -> np.ndarray | None:
        if name in self.inits:
            return self.inits[name]
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Cast":
            x = self.const(node.input[0])
            return None if x is None else x.astype(np.float32)
        if node.op_type == "Mul":
            a, b = self.const(node.input[0]), self.const(node.input[1])
            return None if a is None or b is None else (a * b).astype(np.float32)
        return None

    def norms_and_biases(self) -> list[tuple[str, str, np.ndarray, Any]]:
        """(module path, "weight" / "bias", value, node) of every LayerNormalization's scale and shift and every
        bias Add of a Linear (a 1-D constant added in the Linear's scope), found by the node, not by the constant's
        name: the exporter stores equal constants once, under one parameter's name."""
        out = []
        for n in self.model.graph.node:
            path = module_path(n.name)
            if n.op_type == "LayerNormalization" and len(n.input) >= 3:
                for key, i in (("weight", 1), ("bias", 2)):
                    if (v := self.const(n.input[i])) is not None:
                        out.append((path, key, v, n))
            elif n.op_type == "Add" and path:
                for i in n.input:
                    if (v := self.const(i)) is not None and v.ndim == 1 and v.size > 1:
                        out.append((path, "bias", v, n))
        return out

    def integer_weight_scale(self, node: Any) -> np.ndarray | None:
        """The weight scale of a ``MatMulInteger`` (ONNX Runtime's dynamic quantization): its int32 output is cast to
        float and multiplied by ``activation scale x weight scale``; the weight scale is that product's constant
        factor (per column or scalar)."""
        for cast in self.consumers.get(node.output[0], []):
            if cast.op_type != "Cast":
                continue
            for mul in self.consumers.get(cast.output[0], []):
                other = next((i for i in mul.input if i != cast.output[0]), None)
                scales = self.producer.get(other) if mul.op_type == "Mul" and other else None
                if scales is not None and scales.op_type == "Mul":
                    found = [v for v in (self.const(i) for i in scales.input) if v is not None]
                    if len(found) == 1:
                        return found[0].astype(np.float32)
        return None

    def linear_weights(self) -> list[tuple[str, Any, np.ndarray]]:
        """(module path, node, weight [out, in]) for every node with a constant 2-D weight."""
        from onnx import helper

        out = []
        for n in self.model.graph.node:
            if n.op_type not in _WEIGHT_OPS or len(n.input) < 2:
                continue
            w = self.const(n.input[1])
            if w is None or w.ndim != 2:
                continue
            w = w.astype(np.float32)
            if n.op_type == "MatMulIntegerToFloat":
                w = w * self.const(n.input[3]).astype(np.float32)  # per-column scale; zero point of B is 0
            elif n.op_type == "MatMulInteger":
                scale = self.integer_weight_scale(n)
                if scale is None:
                    continue
                zero = self.const(n.input[3]) if len(n.input) > 3 and n.input[3] else None
                w = (w - (0.0 if zero is None else zero.astype(np.float32))) * scale
            trans_b = n.op_type == "Gemm" and any(
                a.name == "transB" and helper.get_attribute_value(a) for a in n.attribute
            )
            out.append((module_path(n.name.removesuffix("_rowwise")), n, w if trans_b else w.T))
        return out


def _dequantized_tables(g: _Graph) -> dict[str, np.ndarray]:
    out = {}
    for name, q in g.inits.items():
        if not name.endswith("_quantized"):
            continue
        base = name.removesuffix("_quantized")
        scale, zp = g.inits.get(base + "_scale"), g.inits.get(base + "_zero_point")
        if scale is None or zp is None or scale.size != 1 or zp.size != 1:
            continue  # one scale per table is what the exporter writes; anything else stays unrecovered (and named)
        out[base] = ((q.astype(np.float32) - zp.astype(np.float32)) * scale.astype(np.float32)).astype(np.float32)
    return out


def _char_banks(g: _Graph, node: Any, w: np.ndarray, model: Any) -> dict[str, np.ndarray]:
    """Split the character CNN's one matmul (``w`` [n_kernels * channels, k_max * E]) back into its per-kernel
    ``nn.Linear`` weights, and its bias (the bias input of the Add / BiasGelu that reads the matmul)."""
    cnn = model.embed.char_cnn
    ch, emb = cnn.convs[0].out_features, cnn.emb_dim
    bias = None
    for c in g.consumers.get(node.output[0], []):
        if c.op_type in ("Add", "BiasGelu"):
            bias = next((b for b in (g.const(i) for i in c.input) if b is not None and b.ndim == 1), None)
    if bias is None:
        raise ValueError("the character CNN's filter bias was not found after its MatMul")
    out = {}
    for i, k in enumerate(cnn.kernels):
        out[f"embed.char_cnn.convs.{i}.weight"] = w[i * ch : (i + 1) * ch, : k * emb]
        out[f"embed.char_cnn.convs.{i}.bias"] = bias[i * ch : (i + 1) * ch]
        if np.abs(w[i * ch : (i + 1) * ch, k * emb :]).max(initial=0.0) > 0:
            raise ValueError(f"character CNN kernel {k}: the padded columns are not zero")
    return out


def recover_state(model_dir: str | Path) -> tuple[Any, dict[str, str]]:
    """The model of ``model_dir`` as a ``GuardrailModel`` with its exported weights; returns it (eval mode) and
    where each parameter came from. Raises ValueError when a parameter cannot be recovered."""
    import torch

    from tinyguardrail.model.config import GuardrailConfig
    from tinyguardrail.model.model import GuardrailModel

    model_dir = Path(model_dir)
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    model = GuardrailModel(GuardrailConfig.from_dict(cfg["model"]))
    target = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found: dict[str, np.ndarray] = {}
    source: dict[str, str] = {}

    def put(key: str, value: np.ndarray, where: str) -> None:
        if key in target and tuple(value.shape) == target[key] and key not in found:
            found[key], source[key] = np.array(value, dtype=np.float32, order="C"), where

    for fname in cfg["files"].values():
        if not fname.endswith(".onnx"):
            continue
        g = _Graph(model_dir / fname)
        for name, arr in g.inits.items():
            if name.startswith("model.") and arr.dtype == np.float32:
                put(name.removeprefix("model."), arr, f"{fname}: {name}")
        for base, arr in _dequantized_tables(g).items():
            put(base.removeprefix("model."), arr, f"{fname}: {base} (uint8, dequantized)")
        for path, key, value, node in g.norms_and_biases():  # deduplicated constants (equal biases share one name)
            put(f"{path}.{key}", value, f"{fname}: {node.name} input")
        for path, node, w in g.linear_weights():
            where = f"{fname}: {node.name}"
            if path == "fast.bank":
                put("fast.bank.prototypes", w, where + " (normalized)")
            elif path == "embed.char_cnn" and model.embed.char_cnn is not None:
                for k, v in _char_banks(g, node, w, model).items():
                    put(k, v, where + " (split by kernel size)")
            else:
                put(f"{path}.weight", w, where)
    missing = sorted(set(target) - set(found))
    if missing:
        raise ValueError(
            f"{model_dir}: {len(missing)} parameters could not be recovered: {', '.join(missing[:12])}"
            + (" ..." if len(missing) > 12 else "")
        )
    model.load_state_dict({k: torch.from_numpy(v) for k, v in found.items()}, strict=True)
    return model.eval(), source


def recover_checkpoint(model_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the checkpoint of ``model_dir`` (see :func:`recover_state`) to ``out_dir``, with the model folder's
    tokenizer and training config, so ``train.init_checkpoint`` can start from it."""
    from tinyguardrail.hashing import file_sha256
    from tinyguardrail.model.checkpoint import save_checkpoint

    model_dir = Path(model_dir)
    model, source = recover_state(model_dir)
    cfg_path = model_dir / "training_config.json"
    run_config = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else None
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if run_config is not None:  # serve it as it was trained: the front-end switches travel in train_config.json
        run_config.setdefault("train", {}).update(cfg.get("front_end", {}))
    info = {
        "recovered_from": {"model": cfg.get("name"), "quantization": cfg.get("quantization"),
                           "sha256": {f: file_sha256(model_dir / f) for f in cfg["files"].values()}},
        "sources": source,
    }  # fmt: skip
    return save_checkpoint(out_dir, model, run_config, model_dir / cfg["files"]["tokenizer"], info)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="an exported model folder (config.json + *.onnx)")
    parser.add_argument("--out", required=True, help="the checkpoint directory to write")


def run(args: argparse.Namespace) -> int:
    try:
        out = recover_checkpoint(args.model, args.out)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tinyguardrail recover: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} (dequantized weights of {args.model}; check with python -m tinyguardrail.export.parity)")
    return 0
