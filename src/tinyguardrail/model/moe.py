"""Feed-forward blocks: the dense BERT FFN and a top-k Mixture-of-Experts FFN (Switch / GShard style).

Both take ``(x [B,T,D], token_mask [B,T] bool)`` and return ``(y [B,T,D], aux)`` where ``aux`` is the scalar
load-balancing loss (0 for the dense block), so a layer does not care which one it holds.

MoE dispatch:

* **eval / export (dense)**: every expert runs on every token and the outputs are combined with a [N, E] gate
  matrix that holds the renormalised top-k probabilities and zeros elsewhere (``topk`` + ``scatter``). No
  data-dependent control flow, so it exports to ONNX as-is; each expert is a plain pair of ``nn.Linear`` so INT8
  dynamic quantization reaches it. At 8 experts of a 384-wide model this costs a few dense FFNs.
* **training (sparse, ``moe_sparse_train``)**: tokens are gathered per expert with GShard's capacity rule
  (capacity = ceil(capacity_factor * top_k * n_tokens / n_experts); first choices claim slots before second
  choices, earlier tokens before later ones); tokens over capacity get no output from that expert (the residual
  carries them). Capacity only exists in this mode: dense dispatch has no buffers to overflow, which is why eval
  never drops tokens. With ``capacity_factor <= 0`` the sparse path equals the dense one exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tinyguardrail.model.config import GuardrailConfig


class FeedForward(nn.Module):
    """BERT feed-forward: Linear -> GELU (erf) -> Linear. Keys ``fc_in`` / ``fc_out`` (HF intermediate / output)."""

    def __init__(self, d_model: int, ffn_dim: int) -> None:
        super().__init__()
        self.fc_in = nn.Linear(d_model, ffn_dim)
        self.fc_out = nn.Linear(ffn_dim, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_out(F.gelu(self.fc_in(x)))


class DenseFFN(nn.Module):
    """The dense block with the (y, aux) interface of ``MoEFFN``."""

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.ffn = FeedForward(config.d_model, config.ffn_dim)

    def forward(self, x: torch.Tensor, token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ffn(x), x.new_zeros((), dtype=torch.float32)


def balance_loss(probs: torch.Tensor, top_idx: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Switch/GShard load-balancing loss ``E * sum_i f_i * P_i``.

    Args:
        probs: [N, E] router softmax probabilities.
        top_idx: [N, k] chosen experts per token.
        valid: [N] float, 1 for real tokens (padding is excluded from both statistics).

    f_i is the share of token->expert assignments that went to expert i (over all k choices), P_i the mean router
    probability of expert i. Uniform probabilities give exactly 1, the minimum reachable for assignments that
    follow the probabilities; collapse onto one expert gives up to E.
    """
    n_experts = probs.shape[-1]
    k = top_idx.shape[-1]
    denom = valid.sum().clamp_min(1.0)
    assign = F.one_hot(top_idx, n_experts).to(probs.dtype).sum(dim=1)  # (N, E) number of choices per expert
    f = (assign * valid[:, None]).sum(0) / (denom * k)
    p = (probs * valid[:, None]).sum(0) / denom
    return n_experts * (f * p).sum()


class MoEFFN(nn.Module):
    """Top-k Mixture-of-Experts feed-forward (``n_experts`` experts of width ``moe_ffn_dim``)."""

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.n_experts = config.n_experts
        self.top_k = config.top_k
        self.capacity_factor = config.capacity_factor
        self.sparse_train = config.moe_sparse_train
        self.gate = nn.Linear(config.d_model, config.n_experts, bias=False)
        self.experts = nn.ModuleList(FeedForward(config.d_model, config.moe_ffn_dim) for _ in range(config.n_experts))

    def route(self, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x2 [N, D] -> (probs [N,E] fp32, top_w [N,k] renormalised gate weights, top_idx [N,k])."""
        probs = torch.softmax(self.gate(x2).float(), dim=-1)
        top_w, top_idx = probs.topk(self.top_k, dim=-1)
        if self.top_k > 1:  # GShard: the chosen experts' weights sum to 1
            top_w = top_w / top_w.sum(dim=-1, keepdim=True)
        return probs, top_w, top_idx

    def gate_matrix(self, top_w: torch.Tensor, top_idx: torch.Tensor) -> torch.Tensor:
        """[N, E] weights: the top-k renormalised probabilities, zeros elsewhere (exactly k nonzeros a row)."""
        return torch.zeros(top_w.shape[0], self.n_experts, dtype=top_w.dtype, device=top_w.device).scatter(
            1, top_idx, top_w
        )

    def forward(self, x: torch.Tensor, token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        x2 = x.reshape(b * t, d)
        valid = token_mask.reshape(b * t).to(torch.float32)
        probs, top_w, top_idx = self.route(x2)
        aux = balance_loss(probs, top_idx, valid)
        if self.training and self.sparse_train:
            y = self._sparse(x2, top_w, top_idx, valid)
        else:
            y = self._dense(x2, top_w, top_idx)
        return y.to(x.dtype).reshape(b, t, d), aux

    def _dense(self, x2: torch.Tensor, top_w: torch.Tensor, top_idx: torch.Tensor) -> torch.Tensor:
        gates = self.gate_matrix(top_w, top_idx)  # (N, E)
        y = None
        for e, expert in enumerate(self.experts):  # static loop over modules: exports as E MatMul pairs
            ye = gates[:, e : e + 1] * expert(x2).float()
            y = ye if y is None else y + ye
        return y

    def dispatch_mask(self, top_idx: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """[N, k, E] 0/1: token n's j-th choice is expert e and got a slot (GShard capacity rule)."""
        n = top_idx.shape[0]
        if self.capacity_factor > 0:
            n_valid = int(valid.sum().item())
            capacity = max(1, math.ceil(self.capacity_factor * self.top_k * n_valid / self.n_experts))
        else:
            capacity = n * self.top_k
        filled = torch.zeros(self.n_experts, dtype=torch.long, device=top_idx.device)
        kept = []
        for j in range(self.top_k):  # first choices claim slots before second choices
            m = F.one_hot(top_idx[:, j], self.n_experts) * valid.long()[:, None]  # (N, E)
            loc = torch.cumsum(m, dim=0) - 1 + filled[None]  # slot each token would take in its expert
            m = m * (loc < capacity).long()
            filled = filled + m.sum(0)
            kept.append(m)
        return torch.stack(kept, dim=1)

    def _sparse(self, x2: torch.Tensor, top_w: torch.Tensor, top_idx: torch.Tensor, valid: torch.Tensor):
        kept = self.dispatch_mask(top_idx, valid)  # (N, k, E)
        weights = (kept.to(top_w.dtype) * top_w[:, :, None]).sum(1)  # (N, E) combine weights of kept slots
        routed = kept.sum(1) > 0  # (N, E)
        y = torch.zeros(x2.shape, dtype=torch.float32, device=x2.device)
        for e, expert in enumerate(self.experts):
            idx = routed[:, e].nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            y.index_add_(0, idx, expert(x2[idx]).float() * weights[idx, e : e + 1])
        return y
