"""Feed-forward blocks: the dense BERT FFN and a top-k Mixture-of-Experts FFN (Switch / GShard style).

Both take ``(x [B,T,D], token_mask [B,T] bool)`` and return ``(y [B,T,D], aux)`` where ``aux`` is the scalar
load-balancing loss (0 for the dense block), so a layer does not care which one it holds.

MoE dispatch:

* **eval / export (routed, the default: ``MoEFFN.eval_dispatch = "sparse"``)**: each expert runs only on the real
  (non-padding) tokens routed to it: a static loop over the experts gathers their rows (``nonzero`` +
  ``index_select``), runs the expert, scales by the renormalised top-k gate weight and adds the result to those rows
  of the output (``index_put``), in expert order. Every real token gets exactly the sum the dense path computes (the
  dense path only adds exact zeros besides), so outputs match it up to matmul rounding; padding rows get 0 (they
  never reach a real token or a pooled vector: attention masks padded keys, pooling masks padded tokens). No Python
  control flow depends on the data, so the TorchScript exporter gives a graph with dynamic row counts (NonZero /
  Gather / ScatterND); an expert that receives no token runs on an empty batch. Expert compute is about
  top_k / n_experts of the dense path's. Used in eval mode only (``nonzero`` syncs with the host on GPU).
* **eval / export (dense, ``eval_dispatch = "dense"``)**: every expert runs on every token and the outputs are
  combined with a [N, E] gate matrix that holds the renormalised top-k probabilities and zeros elsewhere (``topk`` +
  ``scatter``). Each expert is a plain pair of ``nn.Linear`` in both eval paths, so INT8 dynamic quantization
  reaches it. At 8 experts of a 384-wide model this costs a few dense FFNs.
* **training (sparse, ``moe_sparse_train``)**: tokens are gathered into fixed-size expert buffers with GShard's
  capacity rule (capacity = ceil(capacity_factor * top_k * n_tokens / n_experts), n_tokens counting the padded
  batch so that the buffer size is known without a device->host sync; padding is never dispatched; first choices
  claim slots before second choices, earlier tokens before later ones); an assignment over capacity gets no output
  from that expert (the residual carries the token). Each expert computes capacity rows instead of every token.
  Capacity only exists in this mode: the eval paths have no buffers to overflow, which is why eval never drops
  tokens. With ``capacity_factor <= 0`` the sparse path equals the dense one exactly.
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
    """Top-k Mixture-of-Experts feed-forward (``n_experts`` experts of width ``moe_ffn_dim``).

    ``eval_dispatch`` (class attribute, may be overridden on an instance) picks the eval-mode path: ``"sparse"``
    (each expert on its routed tokens only) or ``"dense"`` (every expert on every token). Training uses the capacity
    path with ``moe_sparse_train``, else the dense one.
    """

    eval_dispatch: str = "sparse"

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
        if self.eval_dispatch not in ("sparse", "dense"):
            raise ValueError(f"MoEFFN.eval_dispatch must be 'sparse' or 'dense', not {self.eval_dispatch!r}")
        if self.training and self.sparse_train:
            y = self._sparse(x2, top_w, top_idx, valid)
        elif self.training or self.eval_dispatch == "dense":
            y = self._dense(x2, top_w, top_idx)
        else:
            y = self._routed(x2, top_w, top_idx, valid)
        return y.to(x.dtype).reshape(b, t, d), aux

    def _dense(self, x2: torch.Tensor, top_w: torch.Tensor, top_idx: torch.Tensor) -> torch.Tensor:
        gates = self.gate_matrix(top_w, top_idx)  # (N, E)
        y = None
        for e, expert in enumerate(self.experts):  # static loop over modules: exports as E MatMul pairs
            ye = gates[:, e : e + 1] * expert(x2).float()
            y = ye if y is None else y + ye
        return y

    def _routed(self, x2: torch.Tensor, top_w: torch.Tensor, top_idx: torch.Tensor, valid: torch.Tensor):
        """Each expert on the real tokens routed to it only; padding rows stay 0. Same sums as ``_dense``."""
        y = torch.zeros(x2.shape[0], x2.shape[1], dtype=torch.float32, device=x2.device)
        live = valid > 0  # (N,)
        for e, expert in enumerate(self.experts):  # static loop over modules; row counts are data-dependent
            hit = top_idx == e  # (N, k): at most one True a row (top-k indices are distinct)
            rows = torch.nonzero(hit.any(dim=-1) & live).squeeze(-1)  # (n_e,), possibly empty
            w = (top_w * hit).sum(dim=-1).index_select(0, rows)  # (n_e,) this expert's gate weight
            ye = expert(x2.index_select(0, rows)).float() * w[:, None]
            # rows are distinct within one expert: read-add-write (one ScatterND, no zero-filled [N, D] buffer)
            y = y.index_put((rows,), y.index_select(0, rows) + ye)
        return y

    def capacity(self, n_tokens: int) -> int:
        """Slots per expert for a batch of ``n_tokens`` (padding included, so no host sync is needed)."""
        if self.capacity_factor <= 0:
            return n_tokens
        return max(1, math.ceil(self.capacity_factor * self.top_k * n_tokens / self.n_experts))

    def assign_slots(self, top_idx: torch.Tensor, valid: torch.Tensor, capacity: int):
        """GShard capacity rule without host syncs.

        Assignments are taken choice-major (every token's first choice, in token order, then every second
        choice, ...); each claims the next free slot of its expert until ``capacity`` is reached.

        Returns:
            keep [k*N] bool (assignment got a slot), slot [k*N] long (expert * capacity + position; the dummy
            slot E * capacity for dropped ones), token [k*N] long, choice-major flattening of ``top_idx``.
        """
        n = top_idx.shape[0]
        expert = top_idx.t().reshape(-1)  # (k*N,) choice-major
        token = torch.arange(n, device=top_idx.device).repeat(self.top_k)
        live = valid.bool().repeat(self.top_k)
        # (E, k*N) so the running count is a scan along the contiguous dim (an outer-dim scan is slow on GPU)
        onehot = (F.one_hot(expert, self.n_experts) * live[:, None]).t().contiguous().to(torch.int32)
        pos = (torch.cumsum(onehot, dim=1) - 1).gather(0, expert[None, :]).squeeze(0).long()
        keep = live & (pos < capacity)
        slot = torch.where(keep, expert * capacity + pos, torch.full_like(pos, self.n_experts * capacity))
        return keep, slot, token

    def _sparse(self, x2: torch.Tensor, top_w: torch.Tensor, top_idx: torch.Tensor, valid: torch.Tensor):
        n, d = x2.shape
        cap = self.capacity(n)
        n_slots = self.n_experts * cap
        keep, slot, token = self.assign_slots(top_idx, valid, cap)
        weight = top_w.t().reshape(-1) * keep
        # slot -> token (unused slots point at row n, a zero row) and slot -> gate weight; index n_slots is a dummy
        slot_token = torch.full((n_slots + 1,), n, dtype=torch.long, device=x2.device).scatter(0, slot, token)
        slot_w = torch.zeros(n_slots + 1, dtype=weight.dtype, device=x2.device).scatter(0, slot, weight)
        slot_token, slot_w = slot_token[:n_slots], slot_w[:n_slots]
        xin = torch.cat([x2, x2.new_zeros(1, d)]).index_select(0, slot_token).view(self.n_experts, cap, d)
        # all experts in two batched matmuls over stacked weights (fewer kernel launches than a loop)
        w_in = torch.stack([e.fc_in.weight for e in self.experts])  # (E, F, D)
        b_in = torch.stack([e.fc_in.bias for e in self.experts])[:, None, :]  # (E, 1, F)
        w_out = torch.stack([e.fc_out.weight for e in self.experts])  # (E, D, F)
        b_out = torch.stack([e.fc_out.bias for e in self.experts])[:, None, :]  # (E, 1, D)
        h = F.gelu(torch.baddbmm(b_in, xin, w_in.transpose(1, 2)))  # (E, cap, F)
        out = torch.baddbmm(b_out, h, w_out.transpose(1, 2)).reshape(n_slots, d).float()
        y = torch.zeros(n + 1, d, dtype=torch.float32, device=x2.device)
        return y.index_add_(0, slot_token, out * slot_w[:, None])[:n]
