"""Inference fast paths keep the model's math: routed (sparse) MoE eval dispatch == dense dispatch, prefix-sum
hierarchical pooling == average pooling, in PyTorch and in the exported (fp32 and INT8-dynamic) deep graph."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _tg_tiny_model import tiny_config, tiny_inputs

from tinyguardrail.model.model import _NEG, GuardrailModel, HierarchicalPool, MoEFFN


def _dense_out(moe: MoEFFN, x, mask):
    moe.eval_dispatch = "dense"  # instance override of the class attribute
    try:
        return moe(x, mask)
    finally:
        del moe.eval_dispatch


@pytest.mark.parametrize("n_experts,top_k", [(4, 2), (8, 2), (6, 1), (5, 3)])
def test_routed_moe_equals_dense_on_real_tokens(n_experts, top_k):
    torch.manual_seed(n_experts * 10 + top_k)
    moe = MoEFFN(tiny_config(n_experts=n_experts, top_k=top_k)).eval()
    assert MoEFFN.eval_dispatch == "sparse"
    for b, t in ((1, 1), (3, 9), (8, 50)):
        x = torch.randn(b, t, 32) * 2
        mask = torch.rand(b, t) > 0.3
        mask[:, 0] = True
        with torch.no_grad():
            y, aux = moe(x, mask)
            y_d, aux_d = _dense_out(moe, x, mask)
        torch.testing.assert_close(y[mask], y_d[mask], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(aux, aux_d)
        assert torch.equal(y[~mask], torch.zeros_like(y[~mask]))  # padding is not dispatched


def test_routed_moe_expert_without_tokens_and_gradients():
    torch.manual_seed(0)
    moe = MoEFFN(tiny_config(n_experts=4, top_k=2))
    with torch.no_grad():  # experts 2 and 3 can never be chosen
        moe.gate.weight[2:] = 0.0
        moe.gate.weight[:2] = 1.0
    x = torch.rand(2, 5, 32) + 0.1
    mask = torch.ones(2, 5, dtype=torch.bool)
    moe.eval()
    _, _, idx = moe.route(x.reshape(-1, 32))
    assert set(idx.unique().tolist()) == {0, 1}
    x.requires_grad_(True)
    y, _ = moe(x, mask)
    y.sum().backward()
    assert moe.experts[0].fc_in.weight.grad is not None and moe.experts[2].fc_in.weight.grad.abs().sum() == 0
    with torch.no_grad():
        torch.testing.assert_close(y, _dense_out(moe, x, mask)[0], atol=1e-5, rtol=1e-5)


def test_eval_dispatch_rejects_unknown_mode():
    moe = MoEFFN(tiny_config()).eval()
    moe.eval_dispatch = "bogus"
    with pytest.raises(ValueError, match="eval_dispatch"):
        moe(torch.randn(1, 3, 32), torch.ones(1, 3, dtype=torch.bool))


def _avgpool_reference(pool: HierarchicalPool, hidden, mask):
    """The previous implementation (stride-1 average pooling over a right-padded sequence), in float64."""
    h = hidden.double()
    m = mask.to(h.dtype)[:, None, :]
    hm = (h * m.transpose(1, 2)).transpose(1, 2)
    n_tokens = m.sum(-1, keepdim=True)
    outs = []
    for s in pool.scales:
        if s == 1:
            win, valid = hm, m > 0
        else:
            total = F.avg_pool1d(F.pad(hm, (0, s - 1)), kernel_size=s, stride=1) * s
            count = F.avg_pool1d(F.pad(m, (0, s - 1)), kernel_size=s, stride=1) * s
            win = total / count.clamp_min(1.0)
            valid = count > n_tokens.clamp_max(float(s)) - 0.5
        outs.append(win.masked_fill(~valid, _NEG).amax(dim=-1))
    return F.linear(torch.cat(outs, dim=-1), pool.proj.weight.double(), pool.proj.bias.double())


@pytest.mark.parametrize("scales", [(1, 4, 16, 64), (1, 3, 8), (4,), (2, 64)])
def test_prefix_sum_pool_equals_average_pooling(scales):
    torch.manual_seed(0)
    pool = HierarchicalPool(tiny_config(pool_scales=scales)).eval()
    for b, t in ((1, 1), (4, 7), (3, 64), (5, 256)):
        hidden = torch.randn(b, t, 32) * 3 + torch.randn(1, 1, 32) * 5  # some dims with a large common offset
        mask = torch.ones(b, t, dtype=torch.bool)
        for i in range(1, b):
            mask[i, max(1, t // (i + 1)) :] = False
        if b > 2:
            mask[-1] = False  # an all-padding row
        with torch.no_grad():
            got = pool(hidden, mask).double()
        ref = _avgpool_reference(pool, hidden, mask)
        torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)


ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def _random_batch(model, b, t, seed):
    ids, mask, chars, feats = tiny_inputs(model.config, batch=b, length=t, seed=seed)
    g = torch.Generator().manual_seed(seed)
    for i in range(1, b):  # ragged lengths, every row keeps at least one token
        mask[i, int(torch.randint(1, t + 1, (1,), generator=g)) :] = 0
    with torch.no_grad():
        hidden = model.forward_fast(ids, mask, chars, feats)[3]
    return hidden, mask


def test_exported_deep_graph_matches_pytorch_and_dense_dispatch(tmp_path):
    from tinyguardrail.export.onnx import export_onnx, make_session, run_deep
    from tinyguardrail.export.quantize import quantize_int8_dynamic

    torch.manual_seed(0)
    model = GuardrailModel(tiny_config(pool_scales=(1, 4, 16, 64), max_len=64)).eval()
    with torch.no_grad():  # O(1) activations and logits (the init's std 0.02 gives logits of ~0.01)
        for p in model.deep.parameters():
            if p.dim() == 2:
                p.normal_(0.0, p.shape[1] ** -0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graphs = export_onnx(model, tmp_path)
        int8 = quantize_int8_dynamic(graphs.deep_prequant, tmp_path / "deep.int8.onnx")
    assert not model.training
    import onnx

    ops = {n.op_type for n in onnx.load(str(graphs.deep)).graph.node}
    assert {"NonZero", "CumSum"} <= ops and "AveragePool" not in ops  # routed MoE and prefix-sum pooling
    fp32 = make_session(graphs.deep)
    q8 = make_session(int8)
    moes = [m for m in model.modules() if isinstance(m, MoEFFN)]
    assert moes
    for b, t in ((1, 1), (1, 2), (2, 5), (3, 17), (8, 50), (4, 64)):  # (1, 1): most experts get no token
        hidden, mask = _random_batch(model, b, t, seed=b * 100 + t)
        with torch.no_grad():
            ref = model.forward_deep(hidden, mask)
            for m in moes:
                m.eval_dispatch = "dense"
            try:
                ref_dense = model.forward_deep(hidden, mask)
            finally:
                for m in moes:
                    del m.eval_dispatch
        for r, d in zip(ref, ref_dense, strict=True):
            torch.testing.assert_close(r, d, atol=1e-5, rtol=1e-5)
        got = run_deep(fp32, hidden.numpy(), mask.numpy())
        np.testing.assert_allclose(got["deep_logits"], ref[0].numpy(), atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(got["severity"], ref[1].numpy(), atol=1e-4, rtol=1e-4)
        got8 = run_deep(q8, hidden.numpy(), mask.numpy())
        assert np.isfinite(got8["deep_logits"]).all()
        np.testing.assert_allclose(got8["deep_logits"], ref[0].numpy(), atol=0.5)  # quantization noise only


def test_exported_fast_graph_and_its_char_split_match_pytorch(tmp_path):
    """The fast graph (char CNN on distinct tokens and trimmed positions, attention with the mask in QK^T) matches
    PyTorch's training-mode modules run in eval, and cutting its char CNN out (export.split) changes nothing."""
    from tinyguardrail.export.onnx import FAST_INPUTS, FAST_OUTPUTS, export_onnx, make_session, run_fast
    from tinyguardrail.export.split import split_fast_graph
    from tinyguardrail.model.model import CharCNN, EncoderLayer

    torch.manual_seed(1)
    model = GuardrailModel(tiny_config(max_len=64)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graphs = export_onnx(model, tmp_path)
    cfg = model.config
    split_fast_graph(graphs.fast, tmp_path / "char.onnx", tmp_path / "fast.split.onnx", FAST_INPUTS, FAST_OUTPUTS,
                     cfg.d_model, cfg.max_chars)  # fmt: skip
    whole, char, split = (make_session(p) for p in (graphs.fast, tmp_path / "char.onnx", tmp_path / "fast.split.onnx"))
    for b, t in ((1, 1), (2, 9), (4, 33)):
        ids, mask, chars, feats = tiny_inputs(cfg, batch=b, length=t, seed=b + t)
        chars[0, 0] = torch.arange(1, cfg.max_chars + 1)  # one token that fills every character position
        feeds = {k: v.numpy() for k, v in zip(FAST_INPUTS, (ids, mask, chars, feats), strict=True)}
        # reference: SDPA attention and the char CNN on every row (the training-mode code paths), in eval
        EncoderLayer.explicit_eval_attention, CharCNN.dedup_eval = False, False
        try:
            with torch.no_grad():
                ref = dict(zip(FAST_OUTPUTS, (x.numpy() for x in model.forward_fast(ids, mask, chars, feats)),
                               strict=True))  # fmt: skip
        finally:
            EncoderLayer.explicit_eval_attention, CharCNN.dedup_eval = True, True
        got_whole, got_split = run_fast(whole, feeds), run_fast(split, feeds, char)
        for k in ("fast_logits", "router_logits", "hidden"):
            real = mask.numpy().astype(bool) if k == "hidden" else slice(None)
            np.testing.assert_allclose(got_whole[k][real], ref[k][real], atol=1e-4, rtol=1e-4)
            np.testing.assert_allclose(got_split[k][real], got_whole[k][real], atol=1e-5, rtol=1e-5)
