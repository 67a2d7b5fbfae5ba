"""Export a guard model to the runtime's two ONNX graphs, then let ONNX Runtime optimize them.

    fast.onnx   inputs  input_ids int64 [B,T], attention_mask int64 [B,T], char_ids int64 [B,T,C],
                        detector_feats float32 [B,F]
                outputs fast_logits [B,4], fast_severity [B], router_logits [B,3], hidden [B,T,D]
    deep.onnx   inputs  hidden float32 [B,T,D], attention_mask int64 [B,T]
                outputs deep_logits [B,4], severity [B]

B and T are dynamic; opset 17; the legacy TorchScript exporter (``dynamo=False``) by default, which handles this
model's data-dependent shapes (hierarchical pooling windows, MoE routing) without guards and exports in well under a
second. Any ``nn.Module`` with ``forward_fast`` / ``forward_deep`` as above can be exported (the model code is
``tinyguardrail.model.model.GuardrailModel``).

Optimization (measured on the guard model, see ``export_report.json``): ``onnxruntime.transformers``' BERT optimizer
fuses GELU and skip-LayerNorm but not attention here (``scaled_dot_product_attention`` with a key-padding mask does
not match its attention patterns), and ORT's own EXTENDED level applies the same fusions, so the saved fp32 graph is
ORT's offline EXTENDED optimization (CPU execution provider; portable across x86 CPUs, unlike the ALL level's layout
transforms). Quantizers read the ``quant_pre_process`` form (symbolic shape inference + BASIC level) instead: fused
contrib ops would hide MatMuls from them. The runtime applies the remaining fusions online when it loads a graph.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.artifact import DEEP_INPUTS, DEEP_OUTPUTS, FAST_INPUTS, FAST_OUTPUTS

OPSET = 17

_FAST_AXES = {
    "input_ids": {0: "B", 1: "T"},
    "attention_mask": {0: "B", 1: "T"},
    "char_ids": {0: "B", 1: "T"},
    "detector_feats": {0: "B"},
    "fast_logits": {0: "B"},
    "fast_severity": {0: "B"},
    "router_logits": {0: "B"},
    "hidden": {0: "B", 1: "T"},
}
_DEEP_AXES = {
    "hidden": {0: "B", 1: "T"},
    "attention_mask": {0: "B", 1: "T"},
    "deep_logits": {0: "B"},
    "severity": {0: "B"},
}


def _require_onnx():
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("export needs onnx and onnxruntime: pip install 'tinyguardrail[train]'") from exc
    return onnx, onnxruntime


@dataclass
class ExportedGraphs:
    """Paths written by :func:`export_onnx`.

    Attributes:
        fast: optimized fp32 fast graph (``fast.fp32.onnx``).
        deep: optimized fp32 deep graph, or None for a model without a deep branch.
        fast_prequant: the ``quant_pre_process`` form of the fast graph (quantizer input).
        deep_prequant: same for the deep graph (or None).
        info: what was done (opset, exporter, optimization, node counts).
    """

    fast: Path
    deep: Path | None
    fast_prequant: Path
    deep_prequant: Path | None
    info: dict[str, Any]


def model_dims(model: Any) -> dict[str, int]:
    """Sizes of the model's inputs read from ``model.config`` (``GuardrailConfig`` field names)."""
    cfg = model.config
    return {
        "vocab_size": int(cfg.vocab_size),
        "max_chars": int(cfg.max_chars),
        "char_vocab": int(cfg.char_vocab),
        "n_detector_feats": int(cfg.n_detector_feats),
        "d_model": int(cfg.d_model),
        "max_len": int(cfg.max_len),
        "pad_id": int(getattr(cfg, "pad_id", 0)),
    }


def example_inputs(model: Any, batch: int = 2, seq: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Random fast-graph inputs with a padded second row (exercises the mask path during tracing)."""
    d = model_dims(model)
    rng = np.random.default_rng(seed)
    seq = min(seq, d["max_len"])
    ids = rng.integers(0, d["vocab_size"], size=(batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    if batch > 1 and seq > 3:
        mask[1, seq // 2 :] = 0
        ids[1, seq // 2 :] = d["pad_id"]
    chars = rng.integers(1, d["char_vocab"], size=(batch, seq, d["max_chars"]), dtype=np.int64)
    chars[..., d["max_chars"] // 2 :] = 0
    chars *= mask[..., None]
    feats = rng.random((batch, d["n_detector_feats"]), dtype=np.float32)
    return {"input_ids": ids, "attention_mask": mask, "char_ids": chars, "detector_feats": feats}


def has_deep_branch(model: Any) -> bool:
    cfg = getattr(model, "config", None)
    if cfg is not None and not getattr(cfg, "use_deep_branch", True):
        return False
    return getattr(model, "deep", True) is not None


def _wrappers(model: Any):
    import torch

    class FastGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, char_ids, detector_feats):
            return tuple(self.model.forward_fast(input_ids, attention_mask, char_ids, detector_feats))

    class DeepGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, hidden, attention_mask):
            return tuple(self.model.forward_deep(hidden, attention_mask))

    # The exporter restores the *wrapper's* train/eval mode on the whole tree when it finishes: a wrapper left in
    # the default training mode would switch the model's dropout on afterwards.
    return FastGraph().eval(), DeepGraph().eval()


def _restore_inputs(path: Path, wanted: dict[str, tuple[int, list]]) -> list[str]:
    """Put back graph inputs the exporter pruned because they are unused (e.g. detector_feats with F = 0): the
    runtime always feeds all of them. Returns the names restored."""
    import onnx

    model = onnx.load(str(path))
    have = {i.name for i in model.graph.input}
    restored = []
    for name, (elem, shape) in wanted.items():
        if name not in have:
            model.graph.input.append(onnx.helper.make_tensor_value_info(name, elem, shape))
            restored.append(name)
    if restored:
        onnx.save(model, str(path))
    return restored


def _torch_export(module, args, path: Path, input_names, output_names, axes, opset: int, dynamo: bool) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about data-dependent Python ints are expected here
        kwargs: dict[str, Any] = dict(
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=opset,
            do_constant_folding=True,
        )
        kwargs["dynamo"] = dynamo
        kwargs["dynamic_axes"] = axes
        with torch.no_grad():
            torch.onnx.export(module, tuple(args), str(path), **kwargs)


def optimize_onnx(src: Path, dst: Path, level: str = "extended") -> Path:
    """Save ONNX Runtime's offline optimization of ``src`` (``level``: ``basic`` or ``extended``) to ``dst``."""
    _, ort = _require_onnx()
    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    }[level]
    so.optimized_model_filepath = str(dst)
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
    return dst


def prequant(src: Path, dst: Path) -> Path:
    """``quant_pre_process``: symbolic shape inference + BASIC optimization, the recommended quantizer input."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    logging.getLogger("root").setLevel(logging.ERROR)
    try:
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=False)
    except Exception:  # symbolic shape inference gives up on some graphs: ONNX shape inference is enough then
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    return dst


def export_onnx(
    model: Any,
    out_dir: str | Path,
    *,
    example: dict[str, np.ndarray] | None = None,
    opset: int = OPSET,
    deep: bool | None = None,
    optimize: str = "extended",
    dynamo: bool = False,
) -> ExportedGraphs:
    """Export ``model`` (``forward_fast`` / ``forward_deep``) to ONNX in ``out_dir``.

    Args:
        model: the PyTorch model (put in eval mode here; its mode is restored afterwards).
        out_dir: output directory; writes ``fast.fp32.onnx``, ``fast.prequant.onnx`` (and the deep pair) there.
        example: fast-graph inputs to trace with (default: :func:`example_inputs`).
        opset: ONNX opset (17).
        deep: export the deep graph (default: when the model has a deep branch).
        optimize: ``"extended"``, ``"basic"`` or ``"none"`` (ONNX Runtime offline optimization of the fp32 graph).
        dynamo: use the ``torch.export``-based exporter instead of the TorchScript one.

    Returns:
        the written paths (:class:`ExportedGraphs`).
    """
    import onnx
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    try:
        example = example if example is not None else example_inputs(model)
        feeds = [torch.from_numpy(np.asarray(example[k])) for k in FAST_INPUTS]
        fast_mod, deep_mod = _wrappers(model)
        raw_fast = out_dir / "fast.raw.onnx"
        _torch_export(fast_mod, feeds, raw_fast, FAST_INPUTS, FAST_OUTPUTS, _FAST_AXES, opset, dynamo)
        d_model = model_dims(model)["d_model"]
        n_feats = int(example["detector_feats"].shape[1])
        restored = _restore_inputs(
            raw_fast,
            {
                "input_ids": (onnx.TensorProto.INT64, ["B", "T"]),
                "attention_mask": (onnx.TensorProto.INT64, ["B", "T"]),
                "char_ids": (onnx.TensorProto.INT64, ["B", "T", int(example["char_ids"].shape[2])]),
                "detector_feats": (onnx.TensorProto.FLOAT, ["B", n_feats]),
            },
        )
        do_deep = has_deep_branch(model) if deep is None else deep
        raw_deep = None
        if do_deep:
            with torch.no_grad():
                hidden = fast_mod(*feeds)[3]
            raw_deep = out_dir / "deep.raw.onnx"
            _torch_export(deep_mod, (hidden, feeds[1]), raw_deep, DEEP_INPUTS, DEEP_OUTPUTS, _DEEP_AXES, opset, dynamo)
            restored += _restore_inputs(
                raw_deep,
                {
                    "hidden": (onnx.TensorProto.FLOAT, ["B", "T", d_model]),
                    "attention_mask": (onnx.TensorProto.INT64, ["B", "T"]),
                },
            )
    finally:
        model.train(was_training)

    info: dict[str, Any] = {
        "opset": opset,
        "exporter": "dynamo" if dynamo else "torchscript",
        "torch": torch.__version__,
        "optimization": optimize,
        "restored_unused_inputs": restored,
    }
    paths: dict[str, Path | None] = {}
    for role, raw in (("fast", raw_fast), ("deep", raw_deep)):
        if raw is None:
            paths[role] = paths[role + "_prequant"] = None
            continue
        final = out_dir / f"{role}.fp32.onnx"
        if optimize == "none":
            raw.replace(final)
            raw = final
        else:
            optimize_onnx(raw, final, optimize)
        paths[role] = final
        paths[role + "_prequant"] = prequant(raw, out_dir / f"{role}.prequant.onnx")
        if raw != final:
            raw.unlink()
        info[f"{role}_nodes"] = len(onnx.load(str(final)).graph.node)
    return ExportedGraphs(
        fast=paths["fast"],  # type: ignore[arg-type]
        deep=paths["deep"],
        fast_prequant=paths["fast_prequant"],  # type: ignore[arg-type]
        deep_prequant=paths["deep_prequant"],
        info=info,
    )


# ----------------------------------------------------------------------------------------------- running


def make_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and full online optimization."""
    _, ort = _require_onnx()
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def char_vecs(char_session, char_ids: np.ndarray) -> np.ndarray:
    """[B, T, C] character ids -> [B, T, D] vectors from a ``char.onnx`` session (``export.split``), the graph run
    once on the distinct rows."""
    b, t, c = char_ids.shape
    rows, inverse = np.unique(char_ids.reshape(b * t, c), axis=0, return_inverse=True)
    vecs = char_session.run(["char_vecs"], {"char_ids": np.ascontiguousarray(rows)})[0]
    return vecs[inverse.reshape(-1)].reshape(b, t, -1)


def run_fast(session, feeds: dict[str, np.ndarray], char_session=None) -> dict[str, np.ndarray]:
    """Fast-graph outputs for ``feeds`` (with ``char_ids``); with ``char_session`` the fast graph is a split one
    that takes ``char_vecs`` instead, computed here from the feeds' ``char_ids``."""
    if char_session is None:
        inputs = {k: feeds[k] for k in FAST_INPUTS}
    else:
        inputs = {k: feeds[k] for k in FAST_INPUTS if k != "char_ids"}
        inputs["char_vecs"] = char_vecs(char_session, feeds["char_ids"])
    outs = session.run(list(FAST_OUTPUTS), inputs)
    return dict(zip(FAST_OUTPUTS, outs, strict=True))


def run_deep(session, hidden: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
    outs = session.run(list(DEEP_OUTPUTS), {"hidden": hidden, "attention_mask": attention_mask})
    return dict(zip(DEEP_OUTPUTS, outs, strict=True))


def torch_outputs(model: Any, feeds: dict[str, np.ndarray], deep: bool = True) -> dict[str, np.ndarray]:
    """The PyTorch model's outputs for one batch of fast-graph feeds (eval mode, no grad), as NumPy."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            args = [torch.from_numpy(np.asarray(feeds[k])) for k in FAST_INPUTS]
            fast = model.forward_fast(*args)
            out = {k: v.numpy() for k, v in zip(FAST_OUTPUTS, fast, strict=True)}
            if deep:
                d = model.forward_deep(fast[3], args[1])
                out.update({k: v.numpy() for k, v in zip(DEEP_OUTPUTS, d, strict=True)})
    finally:
        model.train(was_training)
    return out
