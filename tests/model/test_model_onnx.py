"""forward_fast / forward_deep export to ONNX (opset 17, dynamic batch and length) and match PyTorch in ORT."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from _tg_tiny_model import tiny_config, tiny_inputs

from tinyguardrail.model.model import GuardrailModel

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

FAST_IN = ["input_ids", "attention_mask", "char_ids", "detector_feats"]
FAST_OUT = ["fast_logits", "fast_severity", "router_logits", "hidden"]
DEEP_IN = ["hidden", "attention_mask"]
DEEP_OUT = ["deep_logits", "severity"]


class _Fast(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, char_ids, detector_feats):
        return self.m.forward_fast(input_ids, attention_mask, char_ids, detector_feats)


class _Deep(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, hidden, attention_mask):
        return self.m.forward_deep(hidden, attention_mask)


def _export(model, tmp_path, dynamo: bool):
    inputs = tiny_inputs(model.config, batch=2, length=7)
    bt = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Fast(model).eval(), inputs, str(tmp_path / "fast.onnx"), opset_version=17,
                          input_names=FAST_IN, output_names=FAST_OUT, dynamo=dynamo,
                          dynamic_axes={"input_ids": bt, "attention_mask": bt, "char_ids": bt,
                                        "detector_feats": {0: "batch"}})  # fmt: skip
        hidden = model.forward_fast(*inputs)[3]
        torch.onnx.export(_Deep(model).eval(), (hidden, inputs[1]), str(tmp_path / "deep.onnx"), opset_version=17,
                          input_names=DEEP_IN, output_names=DEEP_OUT, dynamo=dynamo,
                          dynamic_axes={"hidden": bt, "attention_mask": bt})  # fmt: skip


def _check(model, tmp_path):
    fast = ort.InferenceSession(str(tmp_path / "fast.onnx"), providers=["CPUExecutionProvider"])
    deep = ort.InferenceSession(str(tmp_path / "deep.onnx"), providers=["CPUExecutionProvider"])
    for batch, length in ((1, 3), (3, 11), (4, 40)):  # other shapes than the traced one, incl. > every pool scale
        inputs = tiny_inputs(model.config, batch=batch, length=length, seed=batch)
        feed = {k: v.numpy() for k, v in zip(FAST_IN, inputs, strict=True)}
        got = fast.run(FAST_OUT, feed)
        with torch.no_grad():
            ref = model.forward_fast(*inputs)
            ref_deep = model.forward_deep(ref[3], inputs[1])
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_allclose(g, r.numpy(), atol=1e-4, rtol=1e-4)
        got_deep = deep.run(DEEP_OUT, {"hidden": got[3], "attention_mask": feed["attention_mask"]})
        for g, r in zip(got_deep, ref_deep, strict=True):
            np.testing.assert_allclose(g, r.numpy(), atol=1e-4, rtol=1e-4)


def test_onnx_export_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    model = GuardrailModel(tiny_config()).eval()
    _export(model, tmp_path, dynamo=False)
    _check(model, tmp_path)


@pytest.mark.slow
def test_onnx_dynamo_export_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    model = GuardrailModel(tiny_config()).eval()
    _export(model, tmp_path, dynamo=True)
    _check(model, tmp_path)
