"""ONNX export parity and post-training quantization on a tiny stand-in model (fast, offline)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from tinyguardrail.export.onnx import (
    DEEP_INPUTS,
    DEEP_OUTPUTS,
    FAST_INPUTS,
    FAST_OUTPUTS,
    example_inputs,
    export_onnx,
    make_session,
    run_deep,
    run_fast,
    torch_outputs,
)
from tinyguardrail.export.quantize import (
    VARIANTS,
    activation_matmuls,
    build_variants,
    choose_variant,
    evaluate_variants,
    format_table,
    pad_batch,
    quantize_int8_rowwise,
    split_batch1,
)


def _feeds(model, shapes, seed=0):
    return [example_inputs(model, batch=b, seq=t, seed=seed + i) for i, (b, t) in enumerate(shapes)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_guard):
    model = tiny_guard().eval()
    out = tmp_path_factory.mktemp("onnx")
    return model, export_onnx(model, out)


def test_fp32_parity_fast_and_deep(exported):
    model, graphs = exported
    assert graphs.info["opset"] == 17
    fast, deep = make_session(graphs.fast), make_session(graphs.deep)
    assert [i.name for i in fast.get_inputs()] == list(FAST_INPUTS)
    assert [o.name for o in fast.get_outputs()] == list(FAST_OUTPUTS)
    assert [i.name for i in deep.get_inputs()] == list(DEEP_INPUTS)
    assert [o.name for o in deep.get_outputs()] == list(DEEP_OUTPUTS)
    for feeds in _feeds(model, [(1, 5), (3, 40), (2, 17)], seed=10):  # dynamic B and T, with padding rows
        ref = torch_outputs(model, feeds)
        got = run_fast(fast, feeds)
        got.update(run_deep(deep, got["hidden"], feeds["attention_mask"]))
        for k, v in ref.items():
            np.testing.assert_allclose(got[k], v, atol=1e-4, rtol=1e-4, err_msg=k)


def test_export_restores_training_mode(tmp_path, tiny_guard):
    model = tiny_guard().train()
    export_onnx(model, tmp_path, optimize="none")
    assert model.training and model.fast_layer.training


def test_no_deep_branch_and_unused_detector_input(tmp_path, tiny_guard):
    model = tiny_guard(n_feats=0, deep=False).eval()
    graphs = export_onnx(model, tmp_path)
    assert graphs.deep is None and graphs.deep_prequant is None
    assert not (tmp_path / "deep.fp32.onnx").exists()
    # detector_feats is unused with F = 0; the exporter prunes it, export_onnx puts it back for the runtime
    names = [i.name for i in onnx.load(str(graphs.fast)).graph.input]
    assert names == list(FAST_INPUTS)
    feeds = example_inputs(model, batch=2, seq=9)
    assert feeds["detector_feats"].shape == (2, 0)
    got = run_fast(make_session(graphs.fast), feeds)
    np.testing.assert_allclose(got["fast_logits"], torch_outputs(model, feeds, deep=False)["fast_logits"], atol=1e-4)
    variants = build_variants(graphs, tmp_path, ["fp32", "int8-dynamic"])
    assert variants["int8-dynamic"]["deep"] is None
    report = evaluate_variants(variants, split_batch1(_feeds(model, [(2, 8)])), torch_model=model)
    assert {r["variant"] for r in report} == {"fp32", "int8-dynamic"}
    assert all(r["deep_bytes"] == 0 and r["early_exit_share"] >= 0 for r in report)


def test_quantized_variants(exported, tmp_path):
    """INT8 (row-wise, dynamic, static, static without the attention MatMuls, 8-bit blocks) label agreement >= 95%
    with PyTorch fp32 on random inputs of the tiny model; int4 (weight-only, block 32) builds, runs and is smaller
    (its agreement on this random model is looser: >= 80%)."""
    model, graphs = exported
    rng = np.random.default_rng(0)
    calib = _feeds(model, [(4, int(t)) for t in rng.integers(6, 48, 8)], seed=100)
    evals = split_batch1(_feeds(model, [(4, int(t)) for t in rng.integers(4, 64, 25)], seed=200))
    labels = rng.integers(0, 4, len(evals))
    variants = build_variants(graphs, tmp_path, calib_feeds=calib)
    assert set(variants) == set(VARIANTS)
    report = {r["variant"]: r for r in evaluate_variants(variants, evals, torch_model=model, labels=labels)}
    assert report["fp32"]["label_agreement"] == 1.0 and report["fp32"]["max_prob_diff"] < 1e-4
    int8 = ("int8-rowwise", "int8-dynamic", "int8-static", "int8-static-nomask", "int8-nbits")
    for v in int8:
        assert report[v]["label_agreement"] >= 0.95, (v, report[v])
    assert report["int4"]["label_agreement"] >= 0.80
    fp32_weights = report["fp32"]["weight_bytes"]
    assert report["fp32"]["weight_bytes_by_type"]["float"] > 0.99 * fp32_weights
    for v in (*int8, "int4"):
        # weights shrink ~4x (int8) / ~5x (int4 + fp32 scales); the file also holds the graph, a large share here
        assert report[v]["weight_bytes"] < fp32_weights / 3, (v, report[v])
        assert report[v]["weight_bytes_by_type"]["float"] < fp32_weights / 12, (v, report[v])
        assert report[v]["bytes"] < report["fp32"]["bytes"] / 1.7, (v, report[v])
    for r in report.values():
        assert {"bytes", "latency_ms", "fast_ms", "deep_ms", "accuracy", "early_exit_share", "n"} <= set(r)
        assert {"batch_max_prob_diff", "batch_label_flips"} <= set(r)
        assert r["n"] == len(evals) and r["latency_ms"] > 0
    # constant or per-token activation scales: a text scores the same alone and inside padded batches
    for v in ("fp32", "int8-rowwise", "int8-static-nomask"):
        assert report[v]["batch_max_prob_diff"] <= 1e-4 and report[v]["batch_label_flips"] == 0, (v, report[v])
    assert "int8-rowwise" in format_table(list(report.values()))

    # the token-embedding table is stored in 8 bits by the dynamic and row-wise variants (Gather quantization)
    for v in ("int8-dynamic", "int8-rowwise"):
        m = onnx.load(str(variants[v]["fast"]))
        word = [t for t in m.graph.initializer if tuple(t.dims) == (300, 32)]
        assert word and all(t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8) for t in word)
    ops = {n.op_type for n in onnx.load(str(variants["int4"]["fast"])).graph.node}
    assert {"MatMulNBits", "GatherBlockQuantized"} <= ops
    assert "MatMulNBits" in {n.op_type for n in onnx.load(str(variants["int8-nbits"]["deep"])).graph.node}


def _alone_and_batched(fast, deep, feeds):
    """Outputs of each batch-1 feed alone and inside one right-padded batch of all of them (its rows, unpadded)."""
    alone = []
    for f in feeds:
        o = run_fast(fast, f)
        o.update(run_deep(deep, o["hidden"], f["attention_mask"]))
        alone.append(o)
    batch = pad_batch(feeds)
    b = run_fast(fast, batch)
    b.update(run_deep(deep, b["hidden"], batch["attention_mask"]))
    rows = []
    for i, f in enumerate(feeds):
        t = f["input_ids"].shape[1]
        rows.append({k: (v[i : i + 1, :t] if k == "hidden" else v[i : i + 1]) for k, v in b.items()})
    return alone, rows


def _max_diff(alone, rows, key):
    return max(float(np.abs(a[key] - r[key]).max()) for a, r in zip(alone, rows, strict=True))


def test_int8_rowwise_is_batch_invariant(exported, tmp_path):
    """Per-token activation scales: every output of a text is the same alone and inside a padded batch of texts of
    other lengths (up to the last fp32 bit of the pooled sums); int8-dynamic's per-call scale is not."""
    model, graphs = exported
    rng = np.random.default_rng(3)
    feeds = split_batch1(_feeds(model, [(4, int(t)) for t in rng.integers(4, 60, 3)], seed=300))
    variants = build_variants(graphs, tmp_path, ["int8-rowwise", "int8-dynamic"])
    fast, deep = make_session(variants["int8-rowwise"]["fast"]), make_session(variants["int8-rowwise"]["deep"])
    alone, rows = _alone_and_batched(fast, deep, feeds)
    assert _max_diff(alone, rows, "hidden") == 0.0  # per-token rows: bit for bit
    for key in ("fast_logits", "router_logits", "fast_severity", "deep_logits", "severity"):
        assert _max_diff(alone, rows, key) < 1e-5, key
    # reordering the batch changes nothing either
    order = rng.permutation(len(feeds))
    alone2, rows2 = _alone_and_batched(fast, deep, [feeds[i] for i in order])
    assert _max_diff([rows[i] for i in order], rows2, "deep_logits") < 1e-5

    dyn_fast = make_session(variants["int8-dynamic"]["fast"])
    dyn_deep = make_session(variants["int8-dynamic"]["deep"])
    dyn_alone, dyn_rows = _alone_and_batched(dyn_fast, dyn_deep, feeds)
    assert _max_diff(dyn_alone, dyn_rows, "hidden") > 1e-4  # the cause: one activation scale for the whole call


def test_int8_rowwise_graph(exported, tmp_path):
    """Per-token Linear layers: int8 weights x per-row quantized activations (no per-call DynamicQuantizeLinear);
    Linear layers on pooled vectors: int8 weights stored, dequantized by Cast + Mul (folded at load), fp32 product;
    no fp32 weight matrix in the file; and ONNX Runtime's optimizer re-quantizes no activation (it rewrites
    DequantizeLinear -> MatMul as MatMulNBits, whose kernel is not batch invariant)."""
    model, graphs = exported
    dst = quantize_int8_rowwise(graphs.deep_prequant, tmp_path / "deep.rowwise.onnx")
    m = onnx.load(str(dst))
    ops = [n.op_type for n in m.graph.node]
    assert "DynamicQuantizeLinear" not in ops and "MatMulInteger" not in ops
    d = model.config.d_model
    # the tiny deep layer: qkv, o, ffn in, ffn out on [B, T, K] tokens; the head on the pooled [B, 2D] vector
    assert ops.count("MatMulIntegerToFloat") == 4 and ops.count("QuantizeLinear") == 4
    assert all(n.attribute[0].i == 0 for n in m.graph.node if n.op_type == "QuantizeLinear")  # axis 0: per row
    assert "DequantizeLinear" not in ops
    assert sum(n.name.endswith("_weight_cast") for n in m.graph.node) == 1  # the head's weight
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(tmp_path / "deep.rowwise.optimized.onnx")
    ort.InferenceSession(str(dst), so, providers=["CPUExecutionProvider"])
    optimized = {n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node}
    assert "MatMulIntegerToFloat" in optimized
    assert not optimized & {"MatMulNBits", "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulInteger"}
    inits = {t.name: t for t in m.graph.initializer}
    for t in inits.values():
        assert not (t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2 and min(t.dims) >= 4), t.name
    assert any(t.data_type == onnx.TensorProto.INT8 and tuple(t.dims) == (d, 3 * d) for t in inits.values())
    # it matches fp32 closely on a padded batch
    feeds = _feeds(model, [(3, 20)], seed=7)[0]
    hidden = run_fast(make_session(graphs.fast), feeds)["hidden"]
    got = run_deep(make_session(dst), hidden, feeds["attention_mask"])
    ref = run_deep(make_session(graphs.deep), hidden, feeds["attention_mask"])
    np.testing.assert_allclose(got["deep_logits"], ref["deep_logits"], atol=0.15 * np.abs(ref["deep_logits"]).max())


def test_int8_rowwise_shares_an_input_quantization(tmp_path):
    """Two products of one input (as q, k and v read the same LayerNorm output) quantize it once; a product of a
    pooled [B, K] vector keeps int8 weights only; each row's result is its own, whatever the batch."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = [rng.standard_normal(shape).astype(np.float32) for shape in ((8, 6), (8, 6), (6, 3))]
    nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["a"]),
        helper.make_node("MatMul", ["x", "w1"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["y"]),
        helper.make_node("ReduceMean", ["y"], ["pooled"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w2"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None), helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a, f"w{i}") for i, a in enumerate(w)],
    )  # fmt: skip
    model = onnx.shape_inference.infer_shapes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    onnx.save(model, str(tmp_path / "g.onnx"))
    quantize_int8_rowwise(tmp_path / "g.onnx", tmp_path / "g.rowwise.onnx", gather=False)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "g.rowwise.onnx")).graph.node]
    assert ops.count("QuantizeLinear") == 1 and ops.count("MatMulIntegerToFloat") == 2
    assert ops.count("Cast") == 1 and "DequantizeLinear" not in ops
    sess = make_session(tmp_path / "g.rowwise.onnx")
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    x[2] *= 100.0  # a row with a much larger range than the others
    y, z = sess.run(["y", "z"], {"x": x})
    ref_y = x @ w[0] + x @ w[1]
    np.testing.assert_allclose(y, ref_y, atol=0.05 * np.abs(ref_y).max(axis=-1, keepdims=True).max())
    np.testing.assert_allclose(z, ref_y.mean(1) @ w[2], rtol=0.05, atol=0.05 * np.abs(z).max())
    for i in range(3):  # alone = in the batch, to the bit
        yi, zi = sess.run(["y", "z"], {"x": x[i : i + 1]})
        assert np.array_equal(yi, y[i : i + 1]) and np.abs(zi - z[i : i + 1]).max() < 1e-5


def test_int8_static_nomask_keeps_attention_fp32(exported, tmp_path):
    """The activation x activation MatMuls (attention scores, probabilities x values) get no Quantize/Dequantize
    pair: the scores' inputs carry the -1e4 padding bias, whose range would swallow the real keys."""
    model, graphs = exported
    names = activation_matmuls(graphs.deep_prequant)
    assert len(names) == 2  # q @ k^T and att @ v of the tiny deep layer
    calib = _feeds(model, [(4, 12), (4, 30)], seed=400)
    variants = build_variants(graphs, tmp_path, ["int8-static", "int8-static-nomask"], calib_feeds=calib)
    for v, expect_fp32 in (("int8-static", False), ("int8-static-nomask", True)):
        m = onnx.load(str(variants[v]["deep"]))
        producers = {o: n.op_type for n in m.graph.node for o in n.output}
        attention = [n for n in m.graph.node if n.name in names]
        assert len(attention) == 2, v
        fed_by_dq = any(producers.get(i) == "DequantizeLinear" for n in attention for i in n.input)
        assert fed_by_dq != expect_fp32, v
def test_choose_variant():
    rows = [
        {"variant": "fp32", "bytes": 100, "latency_ms": 2.0, "label_agreement": 1.0, "accuracy": 0.90},
        {"variant": "int8-dynamic", "bytes": 30, "latency_ms": 1.0, "label_agreement": 0.995, "accuracy": 0.90},
        {"variant": "int8-static", "bytes": 31, "latency_ms": 0.9, "label_agreement": 0.999, "accuracy": 0.90},
        {"variant": "int4", "bytes": 20, "latency_ms": 1.5, "label_agreement": 0.97, "accuracy": 0.89},
    ]
    assert choose_variant(rows) == "int8-dynamic"
    assert choose_variant(rows, min_agreement=0.96) == "int8-dynamic"  # int4 also loses 1 accuracy point
    rows[3]["accuracy"] = 0.898
    assert choose_variant(rows, min_agreement=0.96) == "int4"
    assert choose_variant(rows, min_agreement=0.9999) == "fp32"
    assert choose_variant(rows, prefer="int8-static") == "int8-static"
    with pytest.raises(ValueError):
        choose_variant(rows[:1], prefer="int4")
    # a variant whose scores move with the batch is never chosen by the rule (only on request)
    rows[3]["accuracy"] = 0.90
    rows[1]["batch_max_prob_diff"], rows[2]["batch_max_prob_diff"] = 0.05, 0.0
    rows[3]["batch_max_prob_diff"] = 2e-4
    assert choose_variant(rows, min_agreement=0.96) == "int8-static"
    assert choose_variant(rows, min_agreement=0.96, max_batch_diff=None) == "int4"
    assert choose_variant(rows, prefer="int8-dynamic") == "int8-dynamic"
