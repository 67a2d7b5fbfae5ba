"""Post-training quantization of the exported graphs, and the measurements that choose a variant.

Variants (each applied to both graphs, ``fast`` and ``deep``):

* ``fp32``: the optimized fp32 graphs (reference).
* ``int8-dynamic``: ``quantize_dynamic``, per-channel symmetric int8 weights, activations quantized at run time
  (uint8, per tensor, from each batch's own range). Quantizes MatMul (``MatMulInteger``; the quantizer first rewrites
  Gemm with constant weights, i.e. the 2-D Linear layers, as MatMul + Add) and Gather (the token embedding table
  becomes uint8 with a zero point, dequantized after the lookup). ``Conv`` (the character CNN) stays fp32: ORT's
  CPU ``ConvInteger`` has no int8-weight kernel, and the CNN is tiny.
* ``int8-static``: ``quantize_static`` in QDQ format, per-channel int8 weights, uint8 activations with ranges
  calibrated (MinMax) on real inputs; quantizes MatMul, Gemm, Conv and Gather.
* ``int4``: weight-only 4-bit, block-wise (``MatMulNBitsQuantizer``, block 32, symmetric): MatMul becomes
  ``MatMulNBits`` (accuracy level 4: int8 activations for the dot products) and Gather becomes
  ``GatherBlockQuantized``; Gemm nodes are rewritten as MatMul + Add first so they are covered too; the rest
  (LayerNorms, biases, the character CNN's Conv) stays fp32.

:func:`evaluate_variants` measures each: file size, mean latency at batch 1 on one thread, label agreement with the
PyTorch fp32 model under the runtime's combine rule (``runtime.guard.combine_probs``), and accuracy when labels are
known. :func:`choose_variant` picks the smallest-and-fastest one that agrees enough.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.export.onnx import (
    DEEP_INPUTS,
    FAST_INPUTS,
    ExportedGraphs,
    make_session,
    run_deep,
    run_fast,
    torch_outputs,
)

VARIANTS = ("fp32", "int8-dynamic", "int8-static", "int4")
QUANT_CHOICES = ("int8-dynamic", "int8-static", "int4", "fp32")


def _quiet() -> None:
    # the quantizers log every skipped node at INFO / WARNING on the root logger
    logging.getLogger().setLevel(logging.ERROR)


def quantize_int8_dynamic(src: str | Path, dst: str | Path, per_channel: bool = True, gather: bool = True) -> Path:
    """Dynamic INT8 quantization (int8 per-channel weights; MatMul and, with ``gather``, the embedding Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    _quiet()
    ops = ["MatMul", "Attention"] + (["Gather"] if gather else [])
    quantize_dynamic(
        str(src),
        str(dst),
        op_types_to_quantize=ops,
        per_channel=per_channel,
        reduce_range=False,
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True},
    )
    return Path(dst)


class _FeedReader:
    """``CalibrationDataReader`` over a list of feed dicts restricted to ``names``."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]], names: Sequence[str]) -> None:
        self._feeds = [{k: np.asarray(f[k]) for k in names} for f in feeds]
        self._i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._i >= len(self._feeds):
            return None
        self._i += 1
        return self._feeds[self._i - 1]

    def rewind(self) -> None:
        self._i = 0

    def __len__(self) -> int:
        return len(self._feeds)


def quantize_int8_static(
    src: str | Path,
    dst: str | Path,
    calib_feeds: Sequence[dict[str, np.ndarray]],
    input_names: Sequence[str],
    per_channel: bool = True,
    method: str = "minmax",
) -> Path:
    """Static INT8 quantization in QDQ format, activation ranges calibrated on ``calib_feeds``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not calib_feeds:
        raise ValueError("static quantization needs calibration inputs (--calib)")
    _quiet()
    quantize_static(
        str(src),
        str(dst),
        _FeedReader(calib_feeds, input_names),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul", "Gemm", "Conv", "Gather"],
        per_channel=per_channel,
        reduce_range=False,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method={"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[method],
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
    )
    return Path(dst)


def quantize_int4(
    src: str | Path, dst: str | Path, block_size: int = 32, gather: bool = True, accuracy_level: int | None = 4
) -> Path:
    """Weight-only 4-bit block-wise quantization (``MatMulNBits``; ``GatherBlockQuantized`` for the embeddings)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    _quiet()
    model = onnx.load(str(src))
    if gather:
        # GatherBlockQuantized holds int4 data, which needs opset 21: convert properly first (the quantizer would
        # only bump the version number, leaving e.g. opset-17 ReduceMax attributes that opset 21 rejects).
        from onnx import version_converter

        opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        if opset < 21:
            model = version_converter.convert_version(model, 21)
    # Linear layers on 2-D inputs (heads, MoE experts over gathered tokens) export as Gemm, which MatMulNBits does
    # not cover: rewrite Gemm(A, const B) as MatMul + Add first, as the int8 quantizers do internally.
    from onnxruntime.quantization.onnx_model import ONNXModel

    wrapped = ONNXModel(model)
    wrapped.replace_gemm_with_matmul()
    model = wrapped.model
    ops = ("MatMul", "Gather") if gather else ("MatMul",)
    q = MatMulNBitsQuantizer(
        model,
        bits=4,
        block_size=block_size,
        is_symmetric=True,
        accuracy_level=accuracy_level,
        op_types_to_quantize=ops,
        quant_axes=(("MatMul", 0), ("Gather", 1)),
    )
    with np.errstate(divide="ignore", invalid="ignore"):  # all-zero blocks (e.g. the padding row) have scale 0
        q.process()
    q.model.save_model_to_file(str(dst), use_external_data_format=False)
    return Path(dst)


def fp32_hidden_feeds(
    fast_path: str | Path, feeds: Sequence[dict[str, np.ndarray]], threads: int = 1
) -> list[dict[str, np.ndarray]]:
    """Deep-graph calibration feeds: the fp32 fast graph's ``hidden`` for each fast feed."""
    sess = make_session(fast_path, threads)
    return [{"hidden": run_fast(sess, f)["hidden"], "attention_mask": f["attention_mask"]} for f in feeds]


def build_variants(
    exported: ExportedGraphs,
    out_dir: str | Path,
    variants: Iterable[str] = VARIANTS,
    calib_feeds: Sequence[dict[str, np.ndarray]] | None = None,
    int4_block_size: int = 32,
) -> dict[str, dict[str, Path | None]]:
    """Write each quantized variant of ``exported`` under ``out_dir`` (``fast.<variant>.onnx``, ``deep.<variant>.onnx``).

    ``int8-static`` is skipped (with no entry) when ``calib_feeds`` is empty. Returns variant -> {fast, deep} paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, dict[str, Path | None]] = {}
    deep_feeds = None
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant {v!r}; expected one of {VARIANTS}")
        if v == "fp32":
            result[v] = {"fast": exported.fast, "deep": exported.deep}
            continue
        if v == "int8-static" and not calib_feeds:
            continue
        paths: dict[str, Path | None] = {"deep": None}
        for role, src in (("fast", exported.fast_prequant), ("deep", exported.deep_prequant)):
            if src is None:
                continue
            dst = out_dir / f"{role}.{v}.onnx"
            if v == "int8-dynamic":
                quantize_int8_dynamic(src, dst)
            elif v == "int4":
                quantize_int4(src, dst, block_size=int4_block_size)
            else:
                if role == "fast":
                    quantize_int8_static(src, dst, calib_feeds, FAST_INPUTS)
                else:
                    if deep_feeds is None:
                        deep_feeds = fp32_hidden_feeds(exported.fast, calib_feeds)
                    quantize_int8_static(src, dst, deep_feeds, DEEP_INPUTS)
            paths[role] = dst
        result[v] = paths
    return result


# ----------------------------------------------------------------------------------------------- measuring


def initializer_bytes(path: str | Path) -> dict[str, int]:
    """Bytes of a graph's initializers (weights) by element type, e.g. ``{"float32": ..., "int8": ...}``."""
    import onnx
    from onnx import helper

    out: dict[str, int] = {}
    for t in onnx.load(str(path), load_external_data=False).graph.initializer:
        np_type = helper.tensor_dtype_to_np_dtype(t.data_type)
        n = int(np.prod(t.dims)) if len(t.dims) else 1
        size = (n + 1) // 2 if t.data_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4) else n * np_type.itemsize
        name = helper.tensor_dtype_to_string(t.data_type).replace("TensorProto.", "").lower()
        out[name] = out.get(name, 0) + size
    return out


def _combine(out: dict[str, np.ndarray], early_exit_threshold: float, deep: bool) -> tuple[np.ndarray, np.ndarray]:
    """Final probabilities and branch under the runtime's rule (one place: ``runtime.guard.combine_probs``)."""
    from tinyguardrail.runtime.guard import combine_probs

    run = (lambda rows: (out["deep_logits"][rows], out["severity"][rows])) if deep else None
    probs, _, branch = combine_probs(
        out["fast_logits"], out["fast_severity"], out["router_logits"], early_exit_threshold, run
    )
    return probs, branch


def split_batch1(feeds: Sequence[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Batch-1 feeds (padding removed) from batched ones: what one text of a latency benchmark looks like."""
    out = []
    for f in feeds:
        for i in range(f["input_ids"].shape[0]):
            n = max(1, int(f["attention_mask"][i].sum()))
            out.append(
                {
                    "input_ids": f["input_ids"][i : i + 1, :n],
                    "attention_mask": f["attention_mask"][i : i + 1, :n],
                    "char_ids": f["char_ids"][i : i + 1, :n],
                    "detector_feats": f["detector_feats"][i : i + 1],
                }
            )
    return out


def evaluate_variants(
    variants: dict[str, dict[str, Path | None]],
    feeds: Sequence[dict[str, np.ndarray]],
    torch_model: Any = None,
    labels: Sequence[int] | None = None,
    threads: int = 1,
    early_exit_threshold: float | None = None,
    warmup: int = 3,
) -> list[dict[str, Any]]:
    """Measure every variant on the batch-1 ``feeds``.

    Args:
        variants: name -> {"fast": path, "deep": path or None} (from :func:`build_variants`).
        feeds: batch-1 fast-graph feeds (see :func:`split_batch1`); one per text.
        torch_model: the PyTorch fp32 model; when given, agreement is measured against it.
        labels: true class ids of the feeds; when given, accuracy is reported.
        threads: intra-op threads (1 for the latency target of SPEC section 9).
        early_exit_threshold: the combine rule's threshold (default: ``torch_model.config.early_exit_threshold``,
            else 0.9).
        warmup: untimed runs before timing.

    Returns:
        one dict per variant: ``variant``, ``bytes`` (fast + deep files), ``fast_bytes``, ``deep_bytes``,
        ``weight_bytes`` / ``weight_bytes_by_type`` (initializers only, without graph structure),
        ``latency_ms`` (mean fast + deep, the deep graph run for every text: the worst case), ``fast_ms``,
        ``deep_ms``, ``label_agreement`` (vs PyTorch, final label), ``fast_label_agreement``,
        ``max_prob_diff``, ``early_exit_share``, ``accuracy`` (when labels are given), ``n``.
    """
    if early_exit_threshold is None:
        cfg = getattr(torch_model, "config", None)
        early_exit_threshold = float(getattr(cfg, "early_exit_threshold", 0.9))
    has_deep = any(p.get("deep") is not None for p in variants.values())
    ref = None
    if torch_model is not None:
        ref = [torch_outputs(torch_model, f, deep=has_deep) for f in feeds]
    report = []
    for name, paths in variants.items():
        fast_s = make_session(paths["fast"], threads)
        deep_s = make_session(paths["deep"], threads) if paths.get("deep") is not None else None
        for f in feeds[:warmup]:
            o = run_fast(fast_s, f)
            if deep_s is not None:
                run_deep(deep_s, o["hidden"], f["attention_mask"])
        fast_t, deep_t, outs = [], [], []
        for f in feeds:
            t0 = time.perf_counter()
            o = run_fast(fast_s, f)
            t1 = time.perf_counter()
            if deep_s is not None:
                o.update(run_deep(deep_s, o["hidden"], f["attention_mask"]))
            t2 = time.perf_counter()
            fast_t.append(t1 - t0)
            deep_t.append(t2 - t1)
            outs.append(o)
        fast_b = Path(paths["fast"]).stat().st_size
        deep_b = Path(paths["deep"]).stat().st_size if paths.get("deep") is not None else 0
        row: dict[str, Any] = {
            "variant": name,
            "bytes": fast_b + deep_b,
            "fast_bytes": fast_b,
            "deep_bytes": deep_b,
            "fast_ms": 1e3 * float(np.mean(fast_t)),
            "deep_ms": 1e3 * float(np.mean(deep_t)),
            "n": len(feeds),
        }
        row["latency_ms"] = row["fast_ms"] + row["deep_ms"]
        weights: dict[str, int] = {}
        for p in (paths["fast"], paths.get("deep")):
            if p is not None:
                for k, b in initializer_bytes(p).items():
                    weights[k] = weights.get(k, 0) + b
        row["weight_bytes"] = sum(weights.values())
        row["weight_bytes_by_type"] = weights
        probs, branch = zip(*(_combine(o, early_exit_threshold, deep_s is not None) for o in outs), strict=True)
        pred = np.concatenate([p.argmax(-1) for p in probs])
        row["early_exit_share"] = float(np.mean(np.concatenate(branch) == 0))
        if ref is not None:
            ref_probs = [_combine(r, early_exit_threshold, deep_s is not None)[0] for r in ref]
            ref_pred = np.concatenate([p.argmax(-1) for p in ref_probs])
            row["label_agreement"] = float(np.mean(pred == ref_pred))
            fast_pred = np.concatenate([o["fast_logits"].argmax(-1) for o in outs])
            ref_fast = np.concatenate([r["fast_logits"].argmax(-1) for r in ref])
            row["fast_label_agreement"] = float(np.mean(fast_pred == ref_fast))
            row["max_prob_diff"] = float(max(np.abs(p - q).max() for p, q in zip(probs, ref_probs, strict=True)))
        if labels is not None:
            row["accuracy"] = float(np.mean(pred == np.asarray(labels)[: len(pred)]))
        report.append(row)
    return report


def choose_variant(report: Sequence[dict[str, Any]], min_agreement: float = 0.99, prefer: str | None = None) -> str:
    """The variant to ship: ``prefer`` if given and measured; else, among quantized variants whose label agreement
    with PyTorch fp32 is at least ``min_agreement`` (and, when labels were given, whose accuracy is within 0.5 point
    of fp32's), the smallest file, ties broken by latency; ``fp32`` when none qualifies."""
    by = {r["variant"]: r for r in report}
    if prefer is not None:
        if prefer not in by:
            raise ValueError(f"variant {prefer!r} was not built")
        return prefer
    base_acc = by.get("fp32", {}).get("accuracy")
    ok = []
    for r in report:
        if r["variant"] == "fp32":
            continue
        good = r.get("label_agreement", 1.0) >= min_agreement
        if base_acc is not None and "accuracy" in r:
            good = good and r["accuracy"] >= base_acc - 0.005
        if good:
            ok.append(r)
    if not ok:
        return "fp32"
    return min(ok, key=lambda r: (r["bytes"], r["latency_ms"]))["variant"]


def format_table(report: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of :func:`evaluate_variants`' rows."""
    cols = ["variant", "MB", "fast ms", "deep ms", "total ms", "agreement", "fast agr.", "max |dp|", "accuracy"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]

    def f(r: dict[str, Any], key: str, fmt: str) -> str:
        return format(r[key], fmt) if key in r else "-"

    for r in report:
        lines.append(
            f"| {r['variant']} | {r['bytes'] / 1e6:.2f} | {r['fast_ms']:.2f} | {r['deep_ms']:.2f} | "
            f"{r['latency_ms']:.2f} | {f(r, 'label_agreement', '.4f')} | {f(r, 'fast_label_agreement', '.4f')} | "
            f"{f(r, 'max_prob_diff', '.4f')} | {f(r, 'accuracy', '.4f')} |"
        )
    return "\n".join(lines)
