"""Post-training quantization of the exported graphs, and the measurements that choose a variant.

Variants (each applied to both graphs, ``fast`` and ``deep``):

* ``fp32``: the optimized fp32 graphs (reference).
* ``int8-rowwise`` (the default): per-channel symmetric int8 weights; the Linear layers on per-token activations
  ([B, T, K]) quantize their input at run time *per token* (symmetric, one scale per row) and run
  ``MatMulIntegerToFloat``; the Linear layers on pooled vectors (heads, router, pooling projection) keep int8
  weights but multiply in fp32; embedding tables as in ``int8-dynamic``. A text's scores do not depend on the other
  texts of its batch nor on padding (:func:`quantize_int8_rowwise`).
* ``int8-dynamic``: ``quantize_dynamic``, per-channel symmetric int8 weights, activations quantized at run time
  (uint8, per tensor, from each call's own range: *every row of the batch, padding included*, so a text's scores
  move with its batch, up to 0.12 in probability on v0.7). Quantizes MatMul (``MatMulInteger``; the quantizer first
  rewrites Gemm with constant weights, i.e. the 2-D Linear layers, as MatMul + Add) and Gather (the token embedding
  table becomes uint8 with a zero point, dequantized after the lookup). ``Conv`` (the character CNN) stays fp32:
  ORT's CPU ``ConvInteger`` has no int8-weight kernel, and the CNN is tiny.
* ``int8-static``: ``quantize_static`` in QDQ format, per-channel int8 weights, uint8 activations with ranges
  calibrated (MinMax) on real inputs; quantizes MatMul, Gemm, Conv and Gather (not the Gathers of computed
  tensors). Its attention MatMuls read the key-padding bias (-1e4), whose calibrated range leaves the real scores no
  resolution: it agrees poorly with fp32, and is not batch invariant either (the padded keys' scores share it).
* ``int8-static-nomask``: ``int8-static`` with the activation x activation MatMuls (attention) left in fp32; constant
  scales, so batch invariant, but per-tensor activation ranges cost agreement.
* ``int8-nbits``: 8-bit block-wise weights (``MatMulNBits``, block 32, accuracy level 4: int8 activations per row
  block inside the kernel); close to fp32 but ~2x slower than ``MatMulIntegerToFloat`` on CPU, and its kernel does
  not give a row the same result in every batch.
* ``int4``: weight-only 4-bit, block-wise (``MatMulNBitsQuantizer``, block 32, symmetric): MatMul becomes
  ``MatMulNBits`` (accuracy level 4: int8 activations for the dot products) and Gather becomes
  ``GatherBlockQuantized``; Gemm nodes are rewritten as MatMul + Add first so they are covered too; the rest
  (LayerNorms, biases, the character CNN's Conv) stays fp32.

:func:`evaluate_variants` measures each: file size, mean latency at batch 1 on one thread, label agreement with the
PyTorch fp32 model under the runtime's combine rule (``artifact.combine_probs``), accuracy when labels are
known, and batch invariance (each text alone vs inside padded batches of other texts). :func:`choose_variant` picks
the smallest-and-fastest batch-invariant one that agrees enough.
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

VARIANTS = ("fp32", "int8-rowwise", "int8-dynamic", "int8-static", "int8-static-nomask", "int8-nbits", "int4")
QUANT_CHOICES = ("int8-rowwise", "int8-dynamic", "int8-static", "int8-static-nomask", "int8-nbits", "int4", "fp32")
STATIC_VARIANTS = ("int8-static", "int8-static-nomask")
"""Variants that need calibration inputs (``--calib``)."""
MAX_BATCH_DIFF = 1e-4
"""Largest change of a text's class probability between alone and inside a batch that counts as batch invariant."""


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
    const_weights_only: bool = False,
    quant_format: str = "qdq",
) -> Path:
    """Static INT8 quantization, activation ranges calibrated on ``calib_feeds`` (constant scales in the graph).

    ``const_weights_only``: quantize only the MatMuls whose second input is a constant (the Linear layers), leaving
    the attention's activation x activation MatMuls in fp32: the scores' MatMul reads the key-padding bias (-1e4),
    whose calibrated range leaves the real keys no resolution. ``quant_format``: ``qdq`` or ``qoperator``.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not calib_feeds:
        raise ValueError("static quantization needs calibration inputs (--calib)")
    _quiet()
    quantize_static(
        str(src),
        str(dst),
        _FeedReader(calib_feeds, input_names),
        quant_format={"qdq": QuantFormat.QDQ, "qoperator": QuantFormat.QOperator}[quant_format],
        op_types_to_quantize=["MatMul", "Gemm", "Conv", "Gather"],
        nodes_to_exclude=activation_gathers(src) + (activation_matmuls(src) if const_weights_only else []),
        per_channel=per_channel,
        reduce_range=False,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method={"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[method],
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False, "MatMulConstBOnly": const_weights_only},
    )
    return Path(dst)


def _constants(model) -> set[str]:
    consts = {t.name for t in model.graph.initializer}
    return consts | {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}


def activation_matmuls(path: str | Path) -> list[str]:
    """Names of the MatMul nodes both of whose inputs are computed (activation x activation): in attention, the
    scores' product, whose key side carries the padding bias (-1e4), and the probabilities x values product.
    (``quantize_static``'s ``MatMulConstBOnly`` does not keep the QDQ quantizer off them.)"""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    consts = _constants(model)
    return [n.name for n in model.graph.node
            if n.op_type == "MatMul" and n.input[0] not in consts and n.input[1] not in consts]


def activation_gathers(path: str | Path) -> list[str]:
    """Names of the Gather nodes whose data is computed, not a stored table (e.g. the character CNN's per-token
    vectors gathered back to the [B, T] grid): quantizing them stores nothing smaller, adds a Quantize/Dequantize
    pair and moves the cut that ``export.split`` makes between ``char.onnx`` and ``fast.onnx``."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    consts = _constants(model)
    return [n.name for n in model.graph.node if n.op_type == "Gather" and n.input[0] not in consts]


def _ranks(model) -> dict[str, int]:
    """Rank of every tensor whose shape the graph declares (inputs, outputs, value_info)."""
    g = model.graph
    out = {}
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            out[v.name] = len(v.type.tensor_type.shape.dim)
    return out


def quantize_int8_rowwise(src: str | Path, dst: str | Path, gather: bool = True) -> Path:
    """INT8 Linear layers whose activations are quantized at run time *per token*, never across rows.

    ``quantize_dynamic`` computes one activation scale per call (``DynamicQuantizeLinear`` over the whole
    [B, T, K] tensor), so a text's numbers depend on the other rows of its batch, padding included. Here every
    MatMul with a constant 2-D weight on per-token activations (rank >= 3, [B, T, K]) becomes::

        x [..., K] -> Reshape [M, K] -> s = max(max x_row, -min x_row) / 127 [M]
          -> QuantizeLinear(axis 0, zero point 128) uint8
          -> MatMulIntegerToFloat(W int8 [K, N], per-column scales, a_zero_point 128) -> * s[:, None] -> [..., N]

    (symmetric per row, stored as uint8 around 128: MLAS's fast u8 x s8 kernels; int8 x int8 is ~20x slower on
    CPU). Each token's result depends on that token's row only, and the rows that reach these layers are computed
    bit for bit the same whatever the batch and its padding (attention adds exact zeros for padded keys).

    The Linear layers on pooled vectors (rank 2: heads, router, pooling projection; Gemm, rewritten as MatMul +
    Add) store int8 weights *only* (dequantized when the session loads, fp32 product): a pooled vector is a sum over
    the padded length, whose fp32 rounding differs in the last bits between batch shapes, and an activation
    quantizer there would turn that 1e-7 into a whole quantization step. They are a few small [B, K] products.

    With ``gather`` the embedding tables are quantized as in :func:`quantize_int8_dynamic` (a constant uint8 table,
    dequantized after the lookup).
    """
    import tempfile

    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization.onnx_model import ONNXModel

    _quiet()
    if gather:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as tmp:
            quantize_dynamic(str(src), f"{tmp}/g.onnx", op_types_to_quantize=["Gather"], weight_type=QuantType.QUInt8)
            model = onnx.load(f"{tmp}/g.onnx")
    else:
        model = onnx.load(str(src))
    ranks = _ranks(model)  # before the Gemm rewrite: its MatMuls read the Gemms' inputs, whose ranks are declared
    wrapped = ONNXModel(model)
    wrapped.replace_gemm_with_matmul()
    model = wrapped.model
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    uses: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1

    def const(name: str, value: np.ndarray) -> str:
        g.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    one = const("rowq_one", np.array(1.0, np.float32))
    azp = const("rowq_azp", np.array(128, np.uint8))
    inv127 = const("rowq_inv127", np.array(1 / 127.0, np.float32))
    tiny = const("rowq_tiny", np.array(1e-30, np.float32))  # an all-zero row: scale > 0, quantizes to 128
    zero, last = const("rowq_zero", np.array([0], np.int64)), const("rowq_last", np.array([-1], np.int64))
    axis1 = const("rowq_axis1", np.array([1], np.int64))
    new_nodes = []
    quantized: dict[tuple[str, int], str] = {}  # (input, K) -> prefix of its per-row quantization
    count = 0
    for node in g.node:
        w = numpy_helper.to_array(inits[node.input[1]]) if node.op_type == "MatMul" and node.input[1] in inits else None
        if w is None or w.ndim != 2 or w.dtype != np.float32:
            new_nodes.append(node)
            continue
        count += 1
        p = f"rowq{count}"
        k, n_out = w.shape
        absmax = np.abs(w).max(axis=0)
        w_scale = np.where(absmax > 0, absmax / 127.0, 1.0).astype(np.float32)
        wq = const(f"{p}_w", np.clip(np.rint(w / w_scale), -127, 127).astype(np.int8))
        ws = const(f"{p}_wscale", w_scale)
        x, y = node.input[0], node.output[0]
        uses[node.input[1]] -= 1
        if ranks.get(x, 0) < 3:  # pooled vectors: int8 weights, fp32 product
            # Cast + Mul, not DequantizeLinear: ONNX Runtime rewrites DequantizeLinear -> MatMul as MatMulNBits,
            # whose kernel quantizes the activations again (and not the same way at every batch size); Cast + Mul
            # of constants is folded into an fp32 weight when the session loads.
            new_nodes += [
                helper.make_node("Cast", [wq], [f"{p}_wcast"], to=TensorProto.FLOAT, name=f"{p}_weight_cast"),
                helper.make_node("Mul", [f"{p}_wcast", ws], [f"{p}_wf"], name=f"{p}_weight_scale"),
                helper.make_node("MatMul", [x, f"{p}_wf"], [y], name=node.name),
            ]
            continue
        if (x, k) not in quantized:  # one quantization per input (q, k and v read the same tensor)
            q = f"rowq_in{len(quantized) + 1}"
            quantized[(x, k)] = q
            new_nodes += [
                helper.make_node("Shape", [x], [f"{q}_shape"]),
                helper.make_node("Slice", [f"{q}_shape", zero, last], [f"{q}_lead"]),
                helper.make_node("Reshape", [x, const(f"{q}_2d", np.array([-1, k], np.int64))], [f"{q}_x2"]),
                # max |x| of each row as max(max x, -min x): two reads of x and no full-size Abs tensor; the same
                # value as Abs + ReduceMax, a few percent less wall time per 512-token call of the fast graph
                helper.make_node("ReduceMax", [f"{q}_x2"], [f"{q}_hi"], axes=[1], keepdims=0),
                helper.make_node("ReduceMin", [f"{q}_x2"], [f"{q}_lo"], axes=[1], keepdims=0),
                helper.make_node("Neg", [f"{q}_lo"], [f"{q}_nlo"]),
                helper.make_node("Max", [f"{q}_hi", f"{q}_nlo"], [f"{q}_amax"]),
                helper.make_node("Mul", [f"{q}_amax", inv127], [f"{q}_sraw"]),
                helper.make_node("Max", [f"{q}_sraw", tiny], [f"{q}_scale"]),  # [M]
                helper.make_node("Shape", [f"{q}_scale"], [f"{q}_m"]),
                helper.make_node("ConstantOfShape", [f"{q}_m"], [f"{q}_zp"],
                                 value=helper.make_tensor("value", TensorProto.UINT8, [1], [128])),
                helper.make_node("QuantizeLinear", [f"{q}_x2", f"{q}_scale", f"{q}_zp"], [f"{q}_xq"], axis=0),
                helper.make_node("Unsqueeze", [f"{q}_scale", axis1], [f"{q}_scale2"]),  # [M, 1]
            ]
        q = quantized[(x, k)]
        new_nodes += [
            helper.make_node("Concat", [f"{q}_lead", const(f"{p}_n", np.array([n_out], np.int64))],
                             [f"{p}_outshape"], axis=0),
            helper.make_node("MatMulIntegerToFloat", [f"{q}_xq", wq, one, ws, azp], [f"{p}_acc"],
                             domain="com.microsoft", name=(node.name or p) + "_rowwise"),
            helper.make_node("Mul", [f"{p}_acc", f"{q}_scale2"], [f"{p}_y2"]),
            helper.make_node("Reshape", [f"{p}_y2", f"{p}_outshape"], [y]),
        ]
    del g.node[:]
    g.node.extend(new_nodes)
    keep = [t for t in g.initializer if uses.get(t.name, 1) > 0]
    del g.initializer[:]
    g.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(dst))
    return Path(dst)


def quantize_int4(
    src: str | Path, dst: str | Path, block_size: int = 32, gather: bool = True, accuracy_level: int | None = 4
) -> Path:
    """Weight-only 4-bit block-wise quantization (``MatMulNBits``; ``GatherBlockQuantized`` for the embeddings)."""
    return quantize_nbits(src, dst, bits=4, block_size=block_size, gather=gather, accuracy_level=accuracy_level)


def quantize_nbits(
    src: str | Path,
    dst: str | Path,
    bits: int = 4,
    block_size: int = 32,
    gather: bool = True,
    accuracy_level: int | None = 4,
) -> Path:
    """Weight-only ``bits``-bit (4 or 8) block-wise symmetric quantization: MatMul becomes ``MatMulNBits``; with
    ``gather`` the embedding tables become ``GatherBlockQuantized`` (4 bits) or a constant uint8 table dequantized
    after the lookup (8 bits). ``accuracy_level`` 4 computes the dot products in int8 with the activations quantized
    per row and per block of ``block_size`` (so a row's result does not depend on the other rows); 0 or 1 in fp32."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    _quiet()
    model = onnx.load(str(src))
    if gather and bits == 4:
        # GatherBlockQuantized holds int4 data, which needs opset 21: convert properly first (the quantizer would
        # only bump the version number, leaving e.g. opset-17 ReduceMax attributes that opset 21 rejects).
        from onnx import version_converter

        opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        if opset < 21:
            model = version_converter.convert_version(model, 21)
    elif gather:
        import tempfile

        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as tmp:
            quantize_dynamic(str(src), f"{tmp}/g.onnx", op_types_to_quantize=["Gather"], weight_type=QuantType.QUInt8)
            model = onnx.load(f"{tmp}/g.onnx")
    # Linear layers on 2-D inputs (heads, MoE experts over gathered tokens) export as Gemm, which MatMulNBits does
    # not cover: rewrite Gemm(A, const B) as MatMul + Add first, as the int8 quantizers do internally.
    from onnxruntime.quantization.onnx_model import ONNXModel

    wrapped = ONNXModel(model)
    wrapped.replace_gemm_with_matmul()
    model = wrapped.model
    ops = ("MatMul", "Gather") if gather and bits == 4 else ("MatMul",)
    q = MatMulNBitsQuantizer(
        model,
        bits=bits,
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

    The static variants (``STATIC_VARIANTS``) are skipped (with no entry) when ``calib_feeds`` is empty. Returns
    variant -> {fast, deep} paths.
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
        if v in STATIC_VARIANTS and not calib_feeds:
            continue
        paths: dict[str, Path | None] = {"deep": None}
        for role, src in (("fast", exported.fast_prequant), ("deep", exported.deep_prequant)):
            if src is None:
                continue
            dst = out_dir / f"{role}.{v}.onnx"
            if v == "int8-rowwise":
                quantize_int8_rowwise(src, dst)
            elif v == "int8-dynamic":
                quantize_int8_dynamic(src, dst)
            elif v == "int8-nbits":
                quantize_nbits(src, dst, bits=8, block_size=32, accuracy_level=4)
            elif v == "int4":
                quantize_int4(src, dst, block_size=int4_block_size)
            else:
                nomask = v == "int8-static-nomask"
                if role == "fast":
                    quantize_int8_static(src, dst, calib_feeds, FAST_INPUTS, const_weights_only=nomask)
                else:
                    if deep_feeds is None:
                        deep_feeds = fp32_hidden_feeds(exported.fast, calib_feeds)
                    quantize_int8_static(src, dst, deep_feeds, DEEP_INPUTS, const_weights_only=nomask)
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


def _combine(out: dict[str, np.ndarray], early_exit_threshold: float, deep: bool,
             gate: str = "label") -> tuple[np.ndarray, np.ndarray]:
    """Final probabilities and branch under the runtime's rule (one place: ``artifact.combine_probs``)."""
    from tinyguardrail.artifact import combine_probs

    run = (lambda rows: (out["deep_logits"][rows], out["severity"][rows])) if deep else None
    probs, _, branch = combine_probs(
        out["fast_logits"], out["fast_severity"], out["router_logits"], early_exit_threshold, run, gate=gate
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


def pad_batch(feeds: Sequence[dict[str, np.ndarray]], pad_id: int = 0) -> dict[str, np.ndarray]:
    """One right-padded batch from batch-1 fast-graph feeds (as the runtime pads a call)."""
    width = max(f["input_ids"].shape[1] for f in feeds)
    n, chars = len(feeds), feeds[0]["char_ids"].shape[2]
    out = {
        "input_ids": np.full((n, width), pad_id, dtype=np.int64),
        "attention_mask": np.zeros((n, width), dtype=np.int64),
        "char_ids": np.zeros((n, width, chars), dtype=np.int64),
        "detector_feats": np.concatenate([f["detector_feats"] for f in feeds]).astype(np.float32),
    }
    for i, f in enumerate(feeds):
        t = f["input_ids"].shape[1]
        out["input_ids"][i, :t] = f["input_ids"][0]
        out["attention_mask"][i, :t] = f["attention_mask"][0]
        out["char_ids"][i, :t] = f["char_ids"][0]
    return out


def batch_invariance(
    fast_session: Any,
    deep_session: Any,
    feeds: Sequence[dict[str, np.ndarray]],
    probs: Sequence[np.ndarray],
    early_exit_threshold: float,
    batch_size: int = 16,
    pad_id: int = 0,
    seed: int = 0,
    gate: str = "label",
) -> dict[str, Any]:
    """Graph-level batch invariance: each batch-1 feed's final probabilities ``probs`` (as scored alone) against the
    same text's inside shuffled, right-padded batches of ``batch_size`` texts of other lengths.

    Returns ``batch_max_prob_diff`` (largest |dp| over texts and classes) and ``batch_label_flips``.
    (``runtime.invariance.batch_invariance`` measures the same through the guard, windows and views included.)
    """
    order = np.random.default_rng(seed).permutation(len(feeds))
    diff, flips = 0.0, 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = pad_batch([feeds[i] for i in idx], pad_id)
        out = run_fast(fast_session, batch)
        if deep_session is not None:
            out.update(run_deep(deep_session, out["hidden"], batch["attention_mask"]))
        p, _ = _combine(out, early_exit_threshold, deep_session is not None, gate)
        for row, i in enumerate(idx):
            alone = np.asarray(probs[i])[0]
            diff = max(diff, float(np.abs(p[row] - alone).max()))
            flips += int(p[row].argmax() != alone.argmax())
    return {"batch_max_prob_diff": diff, "batch_label_flips": flips}


def evaluate_variants(
    variants: dict[str, dict[str, Path | None]],
    feeds: Sequence[dict[str, np.ndarray]],
    torch_model: Any = None,
    labels: Sequence[int] | None = None,
    threads: int = 1,
    early_exit_threshold: float | None = None,
    warmup: int = 3,
    invariance_batch: int = 16,
) -> list[dict[str, Any]]:
    """Measure every variant on the batch-1 ``feeds``.

    Args:
        variants: name -> {"fast": path, "deep": path or None} (from :func:`build_variants`).
        feeds: batch-1 fast-graph feeds (see :func:`split_batch1`); one per text.
        torch_model: the PyTorch fp32 model; when given, agreement is measured against it.
        labels: true class ids of the feeds; when given, accuracy is reported.
        threads: intra-op threads (1 for the latency target of SPEC section 9).
        early_exit_threshold: the combine rule's threshold (default: ``torch_model.config.early_exit_threshold``,
            else 0.9); the gate is ``torch_model.config.early_exit_gate`` (else "label").
        warmup: untimed runs before timing.
        invariance_batch: texts per padded batch of the batch-invariance check (:func:`batch_invariance`); 0 skips
            it.

    Returns:
        one dict per variant: ``variant``, ``bytes`` (fast + deep files), ``fast_bytes``, ``deep_bytes``,
        ``weight_bytes`` / ``weight_bytes_by_type`` (initializers only, without graph structure),
        ``latency_ms`` (mean fast + deep, the deep graph run for every text: the worst case), ``fast_ms``,
        ``deep_ms``, ``label_agreement`` (vs PyTorch, final label), ``fast_label_agreement``,
        ``max_prob_diff``, ``early_exit_share``, ``accuracy`` (when labels are given), ``n``, and
        ``batch_max_prob_diff`` / ``batch_label_flips`` (each text alone vs inside padded batches).
    """
    cfg = getattr(torch_model, "config", None)
    if early_exit_threshold is None:
        early_exit_threshold = float(getattr(cfg, "early_exit_threshold", 0.9))
    gate = str(getattr(cfg, "early_exit_gate", "label"))
    pad_id = int(getattr(cfg, "pad_id", 0))
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
        probs, branch = zip(*(_combine(o, early_exit_threshold, deep_s is not None, gate) for o in outs), strict=True)
        pred = np.concatenate([p.argmax(-1) for p in probs])
        row["early_exit_share"] = float(np.mean(np.concatenate(branch) == 0))
        if ref is not None:
            ref_probs = [_combine(r, early_exit_threshold, deep_s is not None, gate)[0] for r in ref]
            ref_pred = np.concatenate([p.argmax(-1) for p in ref_probs])
            row["label_agreement"] = float(np.mean(pred == ref_pred))
            fast_pred = np.concatenate([o["fast_logits"].argmax(-1) for o in outs])
            ref_fast = np.concatenate([r["fast_logits"].argmax(-1) for r in ref])
            row["fast_label_agreement"] = float(np.mean(fast_pred == ref_fast))
            row["max_prob_diff"] = float(max(np.abs(p - q).max() for p, q in zip(probs, ref_probs, strict=True)))
        if labels is not None:
            row["accuracy"] = float(np.mean(pred == np.asarray(labels)[: len(pred)]))
        if invariance_batch > 1 and len(feeds) > 1:
            row.update(batch_invariance(fast_s, deep_s, feeds, probs, early_exit_threshold, invariance_batch, pad_id,
                                        gate=gate))
        report.append(row)
    return report


def choose_variant(
    report: Sequence[dict[str, Any]],
    min_agreement: float = 0.99,
    prefer: str | None = None,
    max_batch_diff: float | None = MAX_BATCH_DIFF,
) -> str:
    """The variant to ship: ``prefer`` if given and measured; else, among quantized variants whose label agreement
    with PyTorch fp32 is at least ``min_agreement`` (and, when labels were given, whose accuracy is within 0.5 point
    of fp32's) and which are batch invariant (``batch_max_prob_diff`` at most ``max_batch_diff``, when measured; None
    disables the check), the smallest file, ties broken by latency; ``fp32`` when none qualifies."""
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
        if max_batch_diff is not None and "batch_max_prob_diff" in r:
            good = good and r["batch_max_prob_diff"] <= max_batch_diff
        if good:
            ok.append(r)
    if not ok:
        return "fp32"
    return min(ok, key=lambda r: (r["bytes"], r["latency_ms"]))["variant"]


def format_table(report: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of :func:`evaluate_variants`' rows."""
    cols = ["variant", "MB", "fast ms", "deep ms", "total ms", "agreement", "fast agr.", "max |dp|", "accuracy",
            "batch |dp|"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]

    def f(r: dict[str, Any], key: str, fmt: str) -> str:
        return format(r[key], fmt) if key in r else "-"

    for r in report:
        lines.append(
            f"| {r['variant']} | {r['bytes'] / 1e6:.2f} | {r['fast_ms']:.2f} | {r['deep_ms']:.2f} | "
            f"{r['latency_ms']:.2f} | {f(r, 'label_agreement', '.4f')} | {f(r, 'fast_label_agreement', '.4f')} | "
            f"{f(r, 'max_prob_diff', '.4f')} | {f(r, 'accuracy', '.4f')} | {f(r, 'batch_max_prob_diff', '.1e')} |"
        )
    return "\n".join(lines)
