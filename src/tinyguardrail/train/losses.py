"""Training losses (SPEC section 5).

total = focal(fast) + focal(deep)                      classification, alpha 0.25, gamma 2, label smoothing 0.05
      + moe_balance_weight * aux                        Switch/GShard load balancing (0.01)
      + router_loss_weight * CE(router, router_targets) (0.1)
      + consistency_weight * KL(deep || fast)           deep detached: the fast branch learns from the deep (0.05)
      + severity_weight * (BCE(fast sev) + BCE(deep sev)) severity heads learn P(attack) (0.1)
      + xling_weight * (1 - cos(pooled(x), pooled(en)))   on a separate batch of translation pairs, the English
                                                        side without a graph (``xling_loss``; 0: off, the default)

Each branch's classification term is ``type_loss_weight * focal(4 classes) + decision_loss_weight *
focal(benign vs attack)`` (defaults 1 and 0: the four-class loss alone). The decision term collapses the same four
logits to the block-or-allow decision the runtime takes (log P(attack) = logsumexp of the attack classes'
log-probabilities), so the attack types, which the sources define, need not be told apart to lower it. With
``type_loss_rows="attack"`` the type term is instead the focal loss of the attack type given an attack,
softmax over the three attack logits on the attack rows alone (``attack_type_focal_loss``): the two terms then train
the two factors of P(class) = P(attack) * P(type | attack): the type term's value does not depend on P(attack), so
it asks nothing of the decision (its gradient may still move P(attack) through the shared layers and logits).

Terms of switched-off components are skipped (e.g. no focal(fast) without a fast branch, no router loss without a
router). Severity target: the data carries no graded severity, so the heads learn "is this an attack" (label !=
benign); the runtime maps that probability to the 0-15 severity field.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tinyguardrail.labels import DECISION_GATES
from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.model import ROUTE_BOTH, ROUTE_DEEP, ROUTE_FAST, exit_confidence
from tinyguardrail.train.config import TrainConfig


def _focal_per_row(logits: torch.Tensor, target: torch.Tensor, gamma: float, label_smoothing: float) -> torch.Tensor:
    logp = F.log_softmax(logits.float(), dim=-1)
    n_classes = logits.shape[-1]
    q = F.one_hot(target, n_classes).float() * (1.0 - label_smoothing) + label_smoothing / n_classes
    per = -(q * logp).sum(-1)
    if gamma > 0:
        p_true = logp.gather(1, target[:, None]).squeeze(1).exp()
        per = (1.0 - p_true).clamp_min(0.0).pow(gamma) * per
    return per


def _reduce(per: torch.Tensor, alpha: float | None, row_weights: torch.Tensor | None) -> torch.Tensor:
    if alpha is not None:
        per = alpha * per
    if row_weights is not None:
        w = row_weights.to(per)
        return (w * per).sum() / w.sum().clamp_min(1e-12)
    return per.mean()


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    label_smoothing: float = 0.0,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multi-class focal loss (Lin et al. 2017) on top of label-smoothed cross-entropy; mean over the batch.

    loss_i = alpha * (1 - p_i,y)^gamma * CE_ls_i, with CE_ls_i = -sum_c q_ic log p_ic and q the smoothed one-hot
    target ((1 - eps) on the label, eps / C everywhere). The focusing factor uses the probability of the true class.
    (Applying it per class, -sum_c q_c (1 - p_c)^gamma log p_c, caps the optimal confidence at ~0.76 for gamma 2 and
    eps 0.05: the fast branch could then never reach an early-exit threshold of 0.9.) A scalar alpha scales the
    loss (the multi-class form most implementations use); per-class weighting goes through ``class_weights`` [C],
    giving the weighted mean sum_i w_y_i loss_i / sum_i w_y_i. With gamma = 0, alpha None and no class weights this
    is exactly ``F.cross_entropy(logits, target, label_smoothing=eps)``.
    """
    per = _focal_per_row(logits, target, gamma, label_smoothing)
    return _reduce(per, alpha, None if class_weights is None else class_weights.to(per)[target])


def decision_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    label_smoothing: float = 0.0,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """``focal_loss`` of the block-or-allow decision: the [N, C] class logits (class 0 benign) collapsed to two
    log-probabilities, log P(benign) and log P(attack) = logsumexp of the other classes' log-probabilities, against
    "label != 0". Label smoothing spreads over these two outcomes. ``class_weights`` [C] still weight each row by its
    own class (the same balancing as the four-class term)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    two = torch.stack([logp[:, 0], torch.logsumexp(logp[:, 1:], dim=-1)], dim=-1)
    per = _focal_per_row(two, (target != 0).long(), gamma, label_smoothing)
    return _reduce(per, alpha, None if class_weights is None else class_weights.to(per)[target])


def attack_type_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    label_smoothing: float = 0.0,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """``focal_loss`` of the attack type given an attack: the attack rows (label != 0) alone, the softmax over the
    attack classes' logits (columns 1..C-1) against label - 1. Shifting the attack logits together (which moves
    P(benign)) leaves it unchanged. ``class_weights`` [C] weight each row by its class. A batch without attack rows
    gives 0 (still attached to the graph)."""
    rows = target != 0
    if not bool(rows.any()):
        return logits.float().sum() * 0.0
    cw = None if class_weights is None else class_weights.to(logits.device)[1:]
    return focal_loss(logits[rows][:, 1:], target[rows] - 1, alpha, gamma, label_smoothing, cw)


@torch.no_grad()
def router_targets(fast_logits: torch.Tensor, labels: torch.Tensor, threshold: float,
                   gate: str = "label") -> torch.Tensor:  # fmt: skip
    """Router labels from the (detached) fast prediction, in the terms of the runtime's early-exit ``gate``:
    0 fast-only when the fast branch is right and sure (confidence >= threshold), 1 deep-only when it is wrong,
    2 both otherwise (right but unsure). ``gate="label"``: right = the class, sure = the largest class probability;
    ``"attack"`` / ``"decision"``: right = the block-or-allow decision (benign or not), sure = max(P(benign),
    1 - P(benign)), so that the router does not send a sure decision whose attack type is split to both branches."""
    probs = torch.softmax(fast_logits.detach().float(), dim=-1)
    conf = exit_confidence(probs, gate)
    right = ((probs[:, 0] < 0.5) == (labels != 0)) if gate in DECISION_GATES else (probs.argmax(dim=-1) == labels)
    both = torch.full_like(labels, ROUTE_BOTH)
    return torch.where(right & (conf >= threshold), torch.full_like(labels, ROUTE_FAST),
                       torch.where(~right, torch.full_like(labels, ROUTE_DEEP), both))  # fmt: skip


def consistency_loss(fast_logits: torch.Tensor, deep_logits: torch.Tensor) -> torch.Tensor:
    """KL(p_deep || p_fast) with p_deep detached (distils the deep branch into the fast one); batch mean."""
    target = torch.softmax(deep_logits.detach().float(), dim=-1)
    return F.kl_div(F.log_softmax(fast_logits.float(), dim=-1), target, reduction="batchmean")


def xling_loss(other: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Cross-lingual consistency: mean ``1 - cos`` between the pooled vectors of rows in other languages [P, D] and
    those of their English parallels [P, D] (detached: the English reading is the teacher)."""
    if other.shape != anchor.shape:
        raise ValueError(f"xling_loss: {tuple(other.shape)} rows against {tuple(anchor.shape)} English ones")
    return (1.0 - F.cosine_similarity(other.float(), anchor.float().detach(), dim=-1)).mean()


class GuardrailLoss:
    """The combined loss of a ``GuardrailModel`` output dict.

    Args:
        config: the model config (which branches and heads exist).
        weights: the loss weights (``TrainConfig``'s focal_alpha, focal_gamma, label_smoothing, type_loss_weight,
            type_loss_rows, decision_loss_weight, moe_balance_weight, router_loss_weight, consistency_weight, severity_weight); default: ``TrainConfig()``'s.
        class_weights: optional [C] tensor for class balancing (see ``focal_loss``).
    """

    def __init__(self, config: GuardrailConfig, weights: TrainConfig | None = None,
                 class_weights: torch.Tensor | None = None) -> None:  # fmt: skip
        self.config = config
        self.w = weights if weights is not None else TrainConfig()
        self.class_weights = class_weights

    def focal(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        w = self.w
        cw = self.class_weights.to(logits.device) if self.class_weights is not None else None
        args = (logits, labels, w.focal_alpha, w.focal_gamma, w.label_smoothing, cw)
        loss = logits.new_zeros((), dtype=torch.float32)
        if w.type_loss_weight > 0:
            type_loss = attack_type_focal_loss if w.type_loss_rows == "attack" else focal_loss
            loss = loss + w.type_loss_weight * type_loss(*args)
        if w.decision_loss_weight > 0:
            loss = loss + w.decision_loss_weight * decision_focal_loss(*args)
        return loss

    def classification(self, out: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """focal(fast) + focal(deep) over the branches that exist (what the FGSM pass adds)."""
        c = self.config
        loss = out["fast_logits"].new_zeros(())
        if c.use_fast_branch:
            loss = loss + self.focal(out["fast_logits"], labels)
        if c.use_deep_branch:
            loss = loss + self.focal(out["deep_logits"], labels)
        return loss

    def __call__(
        self, out: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-> (total loss, {part name: detached scalar tensor}) for logging (tensors: no device sync per step)."""
        c, w = self.config, self.w
        parts: dict[str, torch.Tensor] = {}
        if c.use_fast_branch:
            parts["focal_fast"] = self.focal(out["fast_logits"], labels)
        if c.use_deep_branch:
            parts["focal_deep"] = self.focal(out["deep_logits"], labels)
        if c.use_deep_branch and c.use_moe and w.moe_balance_weight > 0:
            parts["moe_balance"] = w.moe_balance_weight * out["aux_loss"].float()
        if c.router_active and w.router_loss_weight > 0:
            targets = router_targets(out["fast_logits"], labels, c.early_exit_threshold, c.early_exit_gate)
            parts["router"] = w.router_loss_weight * F.cross_entropy(out["router_logits"].float(), targets)
        if c.use_fast_branch and c.use_deep_branch and w.consistency_weight > 0:
            parts["consistency"] = w.consistency_weight * consistency_loss(out["fast_logits"], out["deep_logits"])
        if w.severity_weight > 0:
            is_attack = (labels != 0).float()
            sev = out["fast_logits"].new_zeros(())
            if c.use_fast_branch:
                sev = sev + F.binary_cross_entropy_with_logits(out["fast_severity_logit"].float(), is_attack)
            if c.use_deep_branch:
                sev = sev + F.binary_cross_entropy_with_logits(out["severity_logit"].float(), is_attack)
            parts["severity"] = w.severity_weight * sev
        total = sum(parts.values())
        return total, {k: v.detach() for k, v in parts.items()}
