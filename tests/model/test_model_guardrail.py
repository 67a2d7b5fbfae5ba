"""GuardrailModel: output shapes, every ablation switch, the exported entry points, the combine rule."""

from __future__ import annotations

import pytest
import torch
from _tg_tiny_model import tiny_config, tiny_inputs

from tinyguardrail.model.model import (
    ROUTE_BOTH,
    ROUTE_DEEP,
    ROUTE_FAST,
    GuardrailModel,
    combine_probs,
    combine_severity,
    route_decision,
)
from tinyguardrail.train.losses import GuardrailLoss

SWITCHES = [
    {},
    {"use_char_cnn": False},
    {"use_detector_feats": False},
    {"n_detector_feats": 0},
    {"use_fast_branch": False},
    {"use_deep_branch": False},
    {"use_router": False},
    {"use_moe": False},
    {"use_pattern_bank": False},
    {"fast_pooling": "cls"},
    {"moe_sparse_train": False},
    {"use_fast_branch": False, "use_moe": False, "use_char_cnn": False, "use_detector_feats": False},
]


@pytest.mark.parametrize("overrides", SWITCHES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "full")
def test_forward_backward_every_switch(overrides):
    torch.manual_seed(0)
    cfg = tiny_config(**overrides)
    model = GuardrailModel(cfg)
    ids, mask, chars, feats = tiny_inputs(cfg)
    out = model(ids, mask, chars, feats)
    b = ids.shape[0]
    assert out["fast_logits"].shape == (b, 4)
    assert out["deep_logits"].shape == (b, 4)
    assert out["router_logits"].shape == (b, 3)
    assert out["severity"].shape == (b,) and out["fast_severity"].shape == (b,)
    assert ((out["severity"] >= 0) & (out["severity"] <= 1)).all()
    assert out["aux_loss"].shape == ()
    labels = torch.tensor([0, 1, 3])
    loss, parts = GuardrailLoss(cfg)(out, labels)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    # the parts present follow the switches
    assert ("focal_fast" in parts) == cfg.use_fast_branch
    assert ("focal_deep" in parts) == cfg.use_deep_branch
    assert ("router" in parts) == cfg.router_active
    assert ("moe_balance" in parts) == (cfg.use_deep_branch and cfg.use_moe)


def test_fixed_routes_when_switched_off():
    ids_cfg = tiny_config()
    inputs = tiny_inputs(ids_cfg)
    for overrides, route in (({"use_deep_branch": False}, ROUTE_FAST), ({"use_fast_branch": False}, ROUTE_DEEP),
                             ({"use_router": False}, ROUTE_BOTH)):  # fmt: skip
        model = GuardrailModel(tiny_config(**overrides)).eval()
        out = model(*inputs)
        assert (out["router_logits"].argmax(-1) == route).all(), overrides
    # no fast branch: forward_fast's hidden is the embedding output and the fast logits are zeros
    model = GuardrailModel(tiny_config(use_fast_branch=False)).eval()
    fast_logits, _, _, hidden = model.forward_fast(*inputs)
    assert torch.equal(fast_logits, torch.zeros_like(fast_logits))
    assert torch.allclose(hidden, model.embed(inputs[0], inputs[2], inputs[3]))


def test_fast_and_deep_entry_points_match_forward():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = GuardrailModel(cfg).eval()
    ids, mask, chars, feats = tiny_inputs(cfg)
    with torch.no_grad():
        out = model(ids, mask, chars, feats)
        fast_logits, fast_sev, router_logits, hidden = model.forward_fast(ids, mask, chars, feats)
        deep_logits, sev = model.forward_deep(hidden, mask)
    assert hidden.shape == (3, ids.shape[1], cfg.d_model) and hidden.dtype == torch.float32
    torch.testing.assert_close(fast_logits, out["fast_logits"])
    torch.testing.assert_close(fast_sev, out["fast_severity"])
    torch.testing.assert_close(router_logits, out["router_logits"])
    torch.testing.assert_close(deep_logits, out["deep_logits"])
    torch.testing.assert_close(sev, out["severity"])
    with pytest.raises(RuntimeError):
        GuardrailModel(tiny_config(use_deep_branch=False)).forward_deep(hidden, mask)


def test_padding_does_not_change_outputs():
    """Dynamic padding must be invisible: a row alone equals the same row padded inside a batch."""
    torch.manual_seed(0)
    cfg = tiny_config()
    model = GuardrailModel(cfg).eval()
    ids, mask, chars, feats = tiny_inputs(cfg, batch=3, length=20)
    with torch.no_grad():
        batch = model(ids, mask, chars, feats)
        n = int(mask[1].sum())
        alone = model(ids[1:2, :n], mask[1:2, :n], chars[1:2, :n], feats[1:2])
    for k in ("fast_logits", "deep_logits", "router_logits", "severity"):
        torch.testing.assert_close(batch[k][1:2], alone[k], atol=1e-5, rtol=1e-5)


def test_seed_prototypes():
    cfg = tiny_config()
    model = GuardrailModel(cfg)
    vecs = torch.randn(2, cfg.d_model)
    assert model.seed_prototypes(vecs) == 2
    torch.testing.assert_close(model.fast.bank.prototypes[:2].detach(), vecs)
    assert model.seed_prototypes(torch.randn(10, cfg.d_model)) == cfg.n_prototypes
    assert GuardrailModel(tiny_config(use_pattern_bank=False)).seed_prototypes(vecs) == 0
    ids, mask, chars, feats = tiny_inputs(cfg)
    assert model.pooled_fast(ids, mask, chars, feats).shape == (3, cfg.d_model)


def test_combine_probs_rule():
    fast = torch.tensor([[4.0, 0.0, 0.0, 0.0], [4.0, 0.0, 0.0, 0.0], [4.0, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0]])
    deep = torch.tensor([[0.0, 4.0, 0.0, 0.0]] * 4)
    router = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    pf, pd = torch.softmax(fast, -1), torch.softmax(deep, -1)
    p = combine_probs(fast, deep, router)
    torch.testing.assert_close(p[0], pf[0])  # 0: fast only
    torch.testing.assert_close(p[1], pd[1])  # 1: deep only
    torch.testing.assert_close(p[2], (pf[2] + pd[2]) / 2)  # 2: mean of both
    torch.testing.assert_close(p[3], pf[3])  # pure router rule: argmax 0 -> fast, whatever the confidence
    torch.testing.assert_close(p.sum(-1), torch.ones(4))
    # the runtime's rule: fast-only needs fast confidence >= threshold, else both
    p_thr = combine_probs(fast, deep, router, early_exit_threshold=0.9)
    torch.testing.assert_close(p_thr[0], pf[0])  # softmax max of [4,0,0,0] = 0.948 >= 0.9
    torch.testing.assert_close(p_thr[3], (pf[3] + pd[3]) / 2)
    sev = combine_severity(fast, torch.zeros(4), torch.ones(4), router, 0.9)
    torch.testing.assert_close(sev, torch.tensor([0.0, 1.0, 0.5, 0.5]))


def test_attack_gate_exits_on_a_sure_decision_split_over_attack_types():
    """gate="attack": a row whose attack probability is split over two attack types (no class reaches the
    threshold) exits early when the router says fast and P(attack) does; "label" sends it to both branches. A benign
    row is the same under both gates (its class is its decision); an unsure row exits under neither."""
    fast = torch.log(torch.tensor([[0.02, 0.49, 0.49, 0.0001], [0.95, 0.02, 0.02, 0.01], [0.5, 0.3, 0.1, 0.1]]))
    router = torch.tensor([[5.0, 0, 0]] * 3)
    assert route_decision(fast, router, 0.9, "label").tolist() == [ROUTE_BOTH, ROUTE_FAST, ROUTE_BOTH]
    assert route_decision(fast, router, 0.9, "attack").tolist() == [ROUTE_FAST, ROUTE_FAST, ROUTE_BOTH]
    with pytest.raises(ValueError, match="gate"):
        route_decision(fast, router, 0.9, "class")
    with pytest.raises(ValueError, match="early_exit_gate"):
        tiny_config(early_exit_gate="class")


def test_decision_gate_does_not_ask_the_router():
    """gate="decision": a row whose block-or-allow probability reaches the threshold answers from the fast branch
    unless the router chose the deep branch alone; the others keep the router's choice (fast without confidence ->
    both)."""
    fast = torch.log(torch.tensor([[0.02, 0.49, 0.49, 0.0001], [0.95, 0.02, 0.02, 0.01], [0.5, 0.3, 0.1, 0.1],
                                   [0.5, 0.3, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1]]))
    router = torch.tensor([[0, 0, 5.0], [0, 5.0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    assert route_decision(fast, router, 0.9, "attack").tolist() == [ROUTE_BOTH, ROUTE_DEEP, ROUTE_DEEP, ROUTE_BOTH,
                                                                     ROUTE_BOTH]
    assert route_decision(fast, router, 0.9, "decision").tolist() == [ROUTE_FAST, ROUTE_DEEP, ROUTE_DEEP,
                                                                       ROUTE_BOTH, ROUTE_BOTH]


def test_char_cnn_equals_per_kernel_convolutions():
    """The fused single-matmul char CNN computes exactly Conv1d per kernel size (right-padded), GELU, max."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    cfg = tiny_config()
    cnn = GuardrailModel(cfg).embed.char_cnn
    chars = torch.randint(0, cfg.char_vocab, (2, 5, cfg.max_chars))
    x = cnn.char_emb(chars.reshape(10, -1)).transpose(1, 2)  # (N, E, C)
    feats = []
    for conv, k in zip(cnn.convs, cnn.kernels, strict=True):
        w = conv.weight.view(cfg.char_channels, k, cfg.char_emb_dim).transpose(1, 2)  # (out, E, k)
        feats.append(F.gelu(F.conv1d(F.pad(x, (0, k - 1)), w, conv.bias)).amax(-1))
    ref = cnn.proj(torch.cat(feats, -1)).reshape(2, 5, -1)
    torch.testing.assert_close(cnn(chars), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("gate", ["label", "attack", "decision"])
@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.9, 1.1])
def test_combine_rule_torch_equals_runtime_numpy(threshold, gate):
    """The branch-combine rule is written twice, in torch (training-time validation, export checks) and in NumPy
    (the ONNX runtime): on random logits, with and without early exit, both give the same probabilities and
    severities, and the runtime asks the deep branch for exactly the rows the torch rule does not answer fast."""
    import numpy as np

    from tinyguardrail.artifact import combine_probs as runtime_combine

    gen = torch.Generator().manual_seed(int(threshold * 10) + 7)
    n = 512
    fast = torch.randn(n, 4, generator=gen) * 3
    deep = torch.randn(n, 4, generator=gen) * 3
    router = torch.randn(n, 3, generator=gen) * 2
    fast_sev, deep_sev = torch.rand(n, generator=gen), torch.rand(n, generator=gen)
    want_p = combine_probs(fast, deep, router, early_exit_threshold=threshold, gate=gate)
    want_s = combine_severity(fast, fast_sev, deep_sev, router, early_exit_threshold=threshold, gate=gate)
    asked = {}

    def run_deep(rows):
        asked["rows"] = rows
        return deep.numpy()[rows], deep_sev.numpy()[rows]

    probs, sev, branch = runtime_combine(fast.numpy(), fast_sev.numpy(), router.numpy(), threshold, run_deep,
                                         gate=gate)
    np.testing.assert_allclose(probs, want_p.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(sev, want_s.numpy(), rtol=0, atol=1e-6)
    route = route_decision(fast, router, threshold, gate).numpy()
    assert branch.tolist() == route.tolist()
    assert asked.get("rows", np.array([], int)).tolist() == np.flatnonzero(route != ROUTE_FAST).tolist()
