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
    build_variants,
    choose_variant,
    evaluate_variants,
    format_table,
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
    """INT8 (dynamic and static) label agreement >= 95% with PyTorch fp32 on random inputs of the tiny model; int4
    (weight-only, block 32) builds, runs and is smaller (its agreement on this random model is looser: >= 80%)."""
    model, graphs = exported
    rng = np.random.default_rng(0)
    calib = _feeds(model, [(4, int(t)) for t in rng.integers(6, 48, 8)], seed=100)
    evals = split_batch1(_feeds(model, [(4, int(t)) for t in rng.integers(4, 64, 25)], seed=200))
    labels = rng.integers(0, 4, len(evals))
    variants = build_variants(graphs, tmp_path, calib_feeds=calib)
    assert set(variants) == {"fp32", "int8-dynamic", "int8-static", "int4"}
    report = {r["variant"]: r for r in evaluate_variants(variants, evals, torch_model=model, labels=labels)}
    assert report["fp32"]["label_agreement"] == 1.0 and report["fp32"]["max_prob_diff"] < 1e-4
    for v in ("int8-dynamic", "int8-static"):
        assert report[v]["label_agreement"] >= 0.95, (v, report[v])
    assert report["int4"]["label_agreement"] >= 0.80
    fp32_weights = report["fp32"]["weight_bytes"]
    assert report["fp32"]["weight_bytes_by_type"]["float"] > 0.99 * fp32_weights
    for v in ("int8-dynamic", "int8-static", "int4"):
        # weights shrink ~4x (int8) / ~5x (int4 + fp32 scales); the file also holds the graph, a large share here
        assert report[v]["weight_bytes"] < fp32_weights / 3, (v, report[v])
        assert report[v]["weight_bytes_by_type"]["float"] < fp32_weights / 12, (v, report[v])
        assert report[v]["bytes"] < report["fp32"]["bytes"] / 1.7, (v, report[v])
    for r in report.values():
        assert {"bytes", "latency_ms", "fast_ms", "deep_ms", "accuracy", "early_exit_share", "n"} <= set(r)
        assert r["n"] == len(evals) and r["latency_ms"] > 0
    assert "int8-dynamic" in format_table(list(report.values()))

    # the token-embedding table is stored in 8 bits by the dynamic variant (Gather quantization)
    m = onnx.load(str(variants["int8-dynamic"]["fast"]))
    word = [t for t in m.graph.initializer if tuple(t.dims) == (300, 32)]
    assert word and all(t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8) for t in word)
    ops = {n.op_type for n in onnx.load(str(variants["int4"]["fast"])).graph.node}
    assert {"MatMulNBits", "GatherBlockQuantized"} <= ops


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
