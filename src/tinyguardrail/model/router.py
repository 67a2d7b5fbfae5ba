"""The router (fast-only / deep-only / both) and the one rule that turns branch outputs into probabilities.

``combine_probs`` is used by training-time validation; the ONNX runtime mirrors it in NumPy (same rule, same
route ids). Keep the two in sync.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinyguardrail.model.config import GuardrailConfig

ROUTE_FAST, ROUTE_DEEP, ROUTE_BOTH = 0, 1, 2
ROUTES = ("fast", "deep", "both")


class Router(nn.Module):
    """Small MLP on concat(fast pooled rep, fast probabilities) -> router logits [B, 3].

    Inputs are detached: the router learns *when* to trust the fast branch without bending the fast branch's
    representation towards that task.
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model + config.n_classes, config.router_hidden),
            nn.GELU(),
            nn.Linear(config.router_hidden, len(ROUTES)),
        )

    def forward(self, pooled: torch.Tensor, fast_logits: torch.Tensor) -> torch.Tensor:
        z = torch.cat([pooled.detach().float(), torch.softmax(fast_logits.detach().float(), dim=-1)], dim=-1)
        return self.mlp(z).float()


def fixed_route_logits(route: int, like: torch.Tensor) -> torch.Tensor:
    """Constant router logits [B, 3] that always pick ``route`` (used when the router is switched off)."""
    logits = torch.zeros(like.shape[0], len(ROUTES), dtype=torch.float32, device=like.device)
    return logits + F.one_hot(torch.tensor(route, device=like.device), len(ROUTES)).float()


def route_decision(
    fast_logits: torch.Tensor, router_logits: torch.Tensor, early_exit_threshold: float = 0.0
) -> torch.Tensor:
    """Which branch answers each row [B] (0 fast, 1 deep, 2 both): the router's argmax, except that a fast-only
    choice whose fast max probability is below ``early_exit_threshold`` becomes "both" (the runtime's rule:
    the deep branch is skipped only when the router says so *and* the fast branch is confident)."""
    route = router_logits.argmax(dim=-1)
    if early_exit_threshold > 0:
        conf = torch.softmax(fast_logits.float(), dim=-1).amax(dim=-1)
        route = torch.where(
            (route == ROUTE_FAST) & (conf < early_exit_threshold), torch.full_like(route, ROUTE_BOTH), route
        )
    return route


def combine_probs(
    fast_logits: torch.Tensor,
    deep_logits: torch.Tensor,
    router_logits: torch.Tensor,
    early_exit_threshold: float = 0.0,
) -> torch.Tensor:
    """Final class probabilities [B, C], by ``route_decision``: 0 -> softmax(fast); 1 -> softmax(deep);
    2 -> mean of both softmaxes.

    ``early_exit_threshold`` 0 is the pure router rule; pass ``config.early_exit_threshold`` to get exactly what the
    ONNX runtime (``artifact.combine_probs``) answers. Branch switches are expressed as constant router
    logits, so this rule covers every ablation (without a deep branch, deep_logits equal fast_logits).
    """
    route = route_decision(fast_logits, router_logits, early_exit_threshold)[:, None]
    p_fast = torch.softmax(fast_logits.float(), dim=-1)
    p_deep = torch.softmax(deep_logits.float(), dim=-1)
    return torch.where(route == ROUTE_FAST, p_fast, torch.where(route == ROUTE_DEEP, p_deep, 0.5 * (p_fast + p_deep)))


def combine_severity(
    fast_logits: torch.Tensor,
    fast_sev: torch.Tensor,
    deep_sev: torch.Tensor,
    router_logits: torch.Tensor,
    early_exit_threshold: float = 0.0,
) -> torch.Tensor:
    """Severity [B] by the same rule as ``combine_probs``."""
    route = route_decision(fast_logits, router_logits, early_exit_threshold)
    return torch.where(
        route == ROUTE_FAST, fast_sev, torch.where(route == ROUTE_DEEP, deep_sev, 0.5 * (fast_sev + deep_sev))
    )
