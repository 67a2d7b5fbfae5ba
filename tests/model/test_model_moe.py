"""Mixture-of-Experts feed-forward: top-k gates, load-balancing loss, sparse (capacity) vs dense dispatch."""

from __future__ import annotations

import math

import torch
from _tg_tiny_model import tiny_config

from tinyguardrail.model.model import MoEFFN, balance_loss


def _moe(**overrides) -> MoEFFN:
    torch.manual_seed(0)
    return MoEFFN(tiny_config(**overrides))


def test_topk_gates_have_exactly_k_nonzeros_summing_to_one():
    moe = _moe(n_experts=6, top_k=2)
    x = torch.randn(50, 32)
    _, w, idx = moe.route(x)
    gates = moe.gate_matrix(w, idx)
    assert gates.shape == (50, 6)
    assert ((gates > 0).sum(-1) == 2).all()
    torch.testing.assert_close(gates.sum(-1), torch.ones(50))
    moe1 = _moe(n_experts=6, top_k=1)
    _, w1, idx1 = moe1.route(x)
    assert ((moe1.gate_matrix(w1, idx1) > 0).sum(-1) == 1).all()


def test_balance_loss_is_one_for_uniform_routing_and_larger_when_skewed():
    n, e, k = 64, 8, 2
    valid = torch.ones(n)
    uniform = torch.full((n, e), 1.0 / e)
    idx = torch.stack([torch.arange(n) % e, (torch.arange(n) + 1) % e], dim=1)  # balanced assignments
    torch.testing.assert_close(balance_loss(uniform, idx, valid), torch.tensor(1.0))
    skew = torch.softmax(torch.tensor([4.0, 3.0] + [0.0] * (e - 2)), -1).expand(n, e)
    skew_idx = torch.tensor([[0, 1]]).expand(n, k)
    assert balance_loss(skew, skew_idx, valid) > 1.5
    # collapse onto one expert approaches E (top-1)
    collapsed = torch.zeros(n, e)
    collapsed[:, 0] = 1.0
    assert math.isclose(float(balance_loss(collapsed, torch.zeros(n, 1, dtype=torch.long), valid)), e, rel_tol=1e-6)
    # padding is excluded from both statistics
    pad = torch.cat([valid, torch.zeros(10)])
    more = torch.cat([uniform, collapsed[:10]])
    more_idx = torch.cat([idx, torch.zeros(10, k, dtype=torch.long)])
    torch.testing.assert_close(balance_loss(more, more_idx, pad), torch.tensor(1.0))


def test_zero_gate_weights_give_uniform_router_and_unit_aux():
    moe = _moe()
    torch.nn.init.zeros_(moe.gate.weight)
    x = torch.randn(2, 7, 32)
    _, aux = moe.eval()(x, torch.ones(2, 7, dtype=torch.bool))
    torch.testing.assert_close(aux, torch.tensor(1.0))


def test_sparse_dispatch_without_capacity_equals_dense():
    moe = _moe(capacity_factor=0.0)
    x = torch.randn(3, 9, 32)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 5:] = False
    y_sparse, aux_s = moe.train()(x, mask)
    y_dense, aux_d = moe.eval()(x, mask)
    torch.testing.assert_close(y_sparse[mask], y_dense[mask], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(aux_s, aux_d)
    assert torch.equal(y_sparse[~mask], torch.zeros_like(y_sparse[~mask]))  # padding is not dispatched


def test_capacity_limits_tokens_per_expert_first_choices_first():
    moe = _moe(n_experts=4, top_k=2, capacity_factor=1.0)
    n = 40
    idx = torch.stack([torch.zeros(n, dtype=torch.long), torch.arange(n) % 3 + 1], dim=1)  # everyone's 1st: expert 0
    valid = torch.ones(n)
    cap = moe.capacity(n)
    assert cap == math.ceil(1.0 * 2 * n / 4)
    keep, slot, token = moe.assign_slots(idx, valid, cap)
    first, second = keep[:n], keep[n:]  # choice-major
    assert first[:cap].all() and not first[cap:].any()  # expert 0 full: earlier tokens won its slots
    assert second.all()  # second choices spread over 3 experts all fit
    kept_slots = slot[keep]
    assert len(set(kept_slots.tolist())) == int(keep.sum())  # no slot is shared
    assert (kept_slots // cap == idx.t().reshape(-1)[keep]).all()  # each slot belongs to the chosen expert
    # padding never takes a slot
    pad_valid = valid.clone()
    pad_valid[:5] = 0
    keep_p, _, token_p = moe.assign_slots(idx, pad_valid, cap)
    assert not keep_p[token_p < 5].any()
    # a router that sends everyone to expert 0 overflows it: in training those tokens lose its output
    torch.nn.init.zeros_(moe.gate.weight)
    with torch.no_grad():
        moe.gate.weight[0] = 1.0
    x = torch.rand(1, n, 32) + 0.1
    moe.train()
    y, _ = moe(x, torch.ones(1, n, dtype=torch.bool))
    assert torch.isfinite(y).all()
    moe.eval()
    y_dense, _ = moe(x, torch.ones(1, n, dtype=torch.bool))
    assert not torch.allclose(y, y_dense)  # tokens were dropped in training
