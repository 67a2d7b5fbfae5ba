"""Focal loss, router targets, consistency loss, FGSM."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from _tg_tiny_model import tiny_config, tiny_inputs

from tinyguardrail.model.model import ROUTE_BOTH, ROUTE_DEEP, ROUTE_FAST, GuardrailModel
from tinyguardrail.train.adversarial import fgsm_delta, fgsm_loss
from tinyguardrail.train.losses import GuardrailLoss, consistency_loss, focal_loss, router_targets


def test_focal_equals_cross_entropy_without_focusing():
    torch.manual_seed(0)
    logits, y = torch.randn(16, 4), torch.randint(0, 4, (16,))
    torch.testing.assert_close(focal_loss(logits, y, alpha=None, gamma=0.0), F.cross_entropy(logits, y))
    torch.testing.assert_close(focal_loss(logits, y, alpha=None, gamma=0.0, label_smoothing=0.05),
                               F.cross_entropy(logits, y, label_smoothing=0.05))  # fmt: skip
    w = torch.tensor([1.0, 2.0, 0.5, 3.0])
    torch.testing.assert_close(focal_loss(logits, y, alpha=None, gamma=0.0, class_weights=w),
                               F.cross_entropy(logits, y, weight=w))  # fmt: skip


def test_focal_down_weights_easy_examples():
    easy = torch.tensor([[8.0, 0, 0, 0]])
    hard = torch.tensor([[0.5, 0, 0, 0]])
    y = torch.tensor([0])
    ratio_focal = focal_loss(easy, y, None, 2.0) / focal_loss(hard, y, None, 2.0)
    ratio_ce = F.cross_entropy(easy, y) / F.cross_entropy(hard, y)
    assert ratio_focal < ratio_ce / 100
    torch.testing.assert_close(focal_loss(hard, y, 0.25, 2.0), 0.25 * focal_loss(hard, y, None, 2.0))


def test_router_targets():
    fast = torch.tensor([[5.0, 0, 0, 0], [5.0, 0, 0, 0], [0.3, 0, 0, 0], [0.0, 0, 3.0, 0]])
    labels = torch.tensor([0, 1, 0, 2])
    t = router_targets(fast, labels, threshold=0.9)
    # right+confident -> fast; wrong -> deep; right but unsure -> both; right+confident (0.86 < 0.9) -> both
    assert t.tolist() == [ROUTE_FAST, ROUTE_DEEP, ROUTE_BOTH, ROUTE_BOTH]
    assert router_targets(fast, labels, threshold=0.8).tolist()[3] == ROUTE_FAST


def test_router_targets_under_the_decision_gates():
    """gate "attack" / "decision": right and sure are about the block-or-allow decision. An attack whose
    probability is split over two attack types is right and sure (fast), where the label gate says both; an attack
    called by the wrong attack type is right (the decision is); an attack read as benign is wrong (deep)."""
    p = torch.tensor([[0.02, 0.49, 0.49, 0.0], [0.02, 0.0, 0.97, 0.01], [0.95, 0.05, 0.0, 0.0], [0.3, 0.7, 0.0, 0.0]])
    fast, labels = p.clamp_min(1e-6).log(), torch.tensor([1, 1, 2, 0])
    assert router_targets(fast, labels, 0.9).tolist() == [ROUTE_BOTH, ROUTE_DEEP, ROUTE_DEEP, ROUTE_DEEP]
    for gate in ("attack", "decision"):
        assert router_targets(fast, labels, 0.9, gate).tolist() == [ROUTE_FAST, ROUTE_FAST, ROUTE_DEEP, ROUTE_DEEP]
    assert router_targets(fast, torch.tensor([1, 1, 2, 1]), 0.9, "attack").tolist()[3] == ROUTE_BOTH  # unsure


def test_consistency_loss_zero_when_equal_and_only_trains_fast():
    a = torch.randn(5, 4, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    assert float(consistency_loss(a, b).detach()) < 1e-6
    c = torch.randn(5, 4, requires_grad=True)
    consistency_loss(a, c).backward()
    assert a.grad is not None and c.grad is None  # the deep side is the (detached) target


def test_fgsm_perturbs_embeddings_and_backprops():
    torch.manual_seed(0)
    cfg = tiny_config(dropout=0.0)
    model = GuardrailModel(cfg)
    ids, mask, chars, feats = tiny_inputs(cfg)
    labels = torch.tensor([0, 1, 2])
    loss_fn = GuardrailLoss(cfg)
    emb = model.embed(ids, chars, feats)
    out = model.forward_from_embeddings(emb, mask, feats)
    loss, _ = loss_fn(out, labels)
    delta = fgsm_delta(loss, emb, 0.05)
    assert delta.shape == emb.shape and torch.allclose(delta.abs().max(), torch.tensor(0.05))
    adv = fgsm_loss(model, loss_fn, emb, loss, mask, feats, labels, 0.05)
    assert float(adv.detach()) > float(loss_fn.classification(out, labels).detach()) - 1e-6  # the step goes uphill
    (loss + adv).backward()
    assert model.embed.word.weight.grad is not None


def test_focal_with_label_smoothing_still_allows_confident_predictions():
    """The early-exit threshold (0.9) must be reachable: the loss optimum is a confident prediction."""
    z = torch.zeros(1, 4, requires_grad=True)
    opt = torch.optim.Adam([z], lr=0.05)
    for _ in range(2000):
        loss = focal_loss(z, torch.tensor([0]), 0.25, 2.0, 0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(torch.softmax(z.detach(), -1)[0, 0]) > 0.95


def test_loss_weights_are_training_settings(tmp_path):
    """The weights come from TrainConfig; a model config written before the move still loads (the weights are
    dropped); a run config that sets one in its model section is refused."""
    import json

    import pytest

    from tinyguardrail.model.config import GuardrailConfig
    from tinyguardrail.train.config import TrainConfig, load_run_config

    torch.manual_seed(0)
    cfg = tiny_config(dropout=0.0)
    model = GuardrailModel(cfg).eval()
    out = model(*tiny_inputs(cfg))
    labels = torch.tensor([0, 1, 2])
    _, parts = GuardrailLoss(cfg)(out, labels)
    assert "consistency" in parts and "severity" in parts
    _, parts = GuardrailLoss(cfg, TrainConfig(consistency_weight=0.0, severity_weight=0.0))(out, labels)
    assert "consistency" not in parts and "severity" not in parts
    old = {**cfg.to_dict(), "consistency_weight": 0.05, "focal_gamma": 2.0}
    assert GuardrailConfig.from_dict(old) == cfg
    (tmp_path / "run.json").write_text(json.dumps({"model": {"consistency_weight": 0.1}, "train": {}}))
    with pytest.raises(ValueError, match="train"):
        load_run_config(tmp_path / "run.json")
    with pytest.raises(ValueError, match="label_smoothing"):
        TrainConfig(label_smoothing=1.0)


def test_decision_focal_loss_is_the_binary_focal_loss_of_benign_against_attack():
    from tinyguardrail.train.losses import decision_focal_loss

    torch.manual_seed(0)
    logits, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 2])
    p_attack = torch.softmax(logits, -1)[:, 1:].sum(-1)
    two = torch.stack([(1 - p_attack).log(), p_attack.log()], -1)  # log-probabilities: log_softmax leaves them
    binary = (y != 0).long()
    for gamma, eps in ((0.0, 0.0), (2.0, 0.05)):
        torch.testing.assert_close(decision_focal_loss(logits, y, 0.25, gamma, eps),
                                   focal_loss(two, binary, 0.25, gamma, eps))  # fmt: skip
    torch.testing.assert_close(decision_focal_loss(logits, y, None, 0.0), F.binary_cross_entropy(p_attack, binary.float()))
    # class weights weight each row by its own four-class label
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    per = -torch.where(binary == 1, p_attack.log(), (1 - p_attack).log())
    torch.testing.assert_close(decision_focal_loss(logits, y, None, 0.0, class_weights=w), (w[y] * per).sum() / w[y].sum())
    # moving probability between attack types leaves it unchanged
    shuffled = logits.clone()
    shuffled[:, 1:] = logits[:, [2, 3, 1]]
    torch.testing.assert_close(decision_focal_loss(shuffled, y), decision_focal_loss(logits, y))
    assert not torch.allclose(focal_loss(shuffled, y), focal_loss(logits, y))


def test_classification_weights_mix_the_type_and_decision_terms():
    from tinyguardrail.train.config import TrainConfig
    from tinyguardrail.train.losses import decision_focal_loss

    cfg = tiny_config()
    out = GuardrailModel(cfg).eval()(*tiny_inputs(cfg))
    labels = torch.tensor([0, 1, 2])
    default = GuardrailLoss(cfg)
    torch.testing.assert_close(default.focal(out["deep_logits"], labels), focal_loss(out["deep_logits"], labels, 0.25, 2.0, 0.05))
    mixed = GuardrailLoss(cfg, TrainConfig(type_loss_weight=0.25, decision_loss_weight=1.0))
    want = 0.25 * focal_loss(out["deep_logits"], labels, 0.25, 2.0, 0.05) + decision_focal_loss(out["deep_logits"], labels, 0.25, 2.0, 0.05)
    torch.testing.assert_close(mixed.focal(out["deep_logits"], labels), want)
    import pytest

    with pytest.raises(ValueError, match="cannot both be 0"):
        TrainConfig(type_loss_weight=0.0, decision_loss_weight=0.0)
    with pytest.raises(ValueError, match="decision_loss_weight"):
        TrainConfig(decision_loss_weight=-1.0)


def test_decision_focal_loss_matches_the_written_out_formula():
    from tinyguardrail.train.config import TrainConfig
    from tinyguardrail.train.losses import decision_focal_loss

    torch.manual_seed(1)
    logits, y = torch.randn(5, 4), torch.tensor([0, 3, 1, 0, 2])
    p_att = torch.softmax(logits, -1)[:, 1:].sum(-1)
    p_t = torch.where(y != 0, p_att, 1 - p_att)  # probability of the right decision
    alpha, gamma, eps = 0.25, 2.0, 0.1
    per = alpha * (1 - p_t) ** gamma * (-(1 - eps / 2) * p_t.log() - (eps / 2) * (1 - p_t).log())
    torch.testing.assert_close(decision_focal_loss(logits, y, alpha, gamma, eps), per.mean())
    # a zero type weight leaves the decision term alone
    cfg = tiny_config()
    only = GuardrailLoss(cfg, TrainConfig(type_loss_weight=0.0, decision_loss_weight=1.0, label_smoothing=eps))
    torch.testing.assert_close(only.focal(logits, y), decision_focal_loss(logits, y, 0.25, 2.0, eps))


def test_attack_type_focal_loss_is_the_type_given_an_attack_on_attack_rows():
    import pytest

    from tinyguardrail.train.config import TrainConfig
    from tinyguardrail.train.losses import attack_type_focal_loss, decision_focal_loss

    torch.manual_seed(2)
    logits, y = torch.randn(7, 4), torch.tensor([0, 1, 2, 3, 0, 2, 1])
    rows = y != 0
    # cross-entropy of softmax over the attack logits, attack rows only
    cond = torch.log_softmax(logits[rows][:, 1:], -1)
    want = -cond.gather(1, (y[rows] - 1)[:, None]).mean()
    torch.testing.assert_close(attack_type_focal_loss(logits, y, None, 0.0), want)
    # class weights: the attack classes' weights, each row by its class
    w = torch.tensor([5.0, 1.0, 2.0, 3.0])
    per = -cond.gather(1, (y[rows] - 1)[:, None]).squeeze(1)
    wr = w[y[rows]]
    torch.testing.assert_close(attack_type_focal_loss(logits, y, None, 0.0, class_weights=w), (wr * per).sum() / wr.sum())
    # benign rows and a common shift of the attack logits (which moves P(benign)) change nothing
    moved = logits.clone()
    moved[~rows] = torch.randn(int((~rows).sum()), 4)
    moved[:, 1:] += 3.0
    torch.testing.assert_close(attack_type_focal_loss(moved, y), attack_type_focal_loss(logits, y))
    assert not torch.allclose(decision_focal_loss(moved, y), decision_focal_loss(logits, y))
    # no attack rows: zero, with a gradient path
    z = torch.randn(3, 4, requires_grad=True)
    out = attack_type_focal_loss(z, torch.zeros(3, dtype=torch.long))
    assert out.item() == 0.0
    out.backward()
    assert z.grad is not None and torch.count_nonzero(z.grad) == 0
    # GuardrailLoss switches the type term with train.type_loss_rows
    cfg = tiny_config()
    split = GuardrailLoss(cfg, TrainConfig(type_loss_weight=0.5, type_loss_rows="attack", decision_loss_weight=1.0))
    torch.testing.assert_close(split.focal(logits, y), 0.5 * attack_type_focal_loss(logits, y, 0.25, 2.0, 0.05)
                               + decision_focal_loss(logits, y, 0.25, 2.0, 0.05))  # fmt: skip
    with pytest.raises(ValueError, match="type_loss_rows"):
        TrainConfig(type_loss_rows="benign")
    with pytest.raises(ValueError, match="needs train.decision_loss_weight"):
        TrainConfig(type_loss_rows="attack")
