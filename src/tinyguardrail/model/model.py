"""``GuardrailModel``: threat-aware embedding -> fast branch -> router -> deep branch (SPEC section 4).

Two entry points are exported as the two ONNX graphs of the runtime::

    forward_fast(input_ids [B,T] i64, attention_mask [B,T] i64, char_ids [B,T,C] i64, detector_feats [B,F] f32)
        -> fast_logits [B,4], fast_severity [B] (0..1), router_logits [B,3], hidden [B,T,D]
    forward_deep(hidden [B,T,D], attention_mask [B,T] i64)
        -> deep_logits [B,4], severity [B] (0..1)

``forward`` runs both and adds the training extras. The runtime skips ``forward_deep`` when the router says
fast-only and the fast branch is confident (early exit), then applies ``combine_probs``.

Switches: without the fast branch, ``hidden`` is the embedding output, fast logits are zeros and the router
logits always say deep-only; without the deep branch the router logits always say fast-only; with the router off
(or either branch off) no router is learned. The deep head's "fast pooled" input is recomputed from ``hidden``
inside ``forward_deep`` (a masked mean: cheap), so deep.onnx needs only (hidden, attention_mask).

The whole model is in this file, in reading order: the embedding, the feed-forward blocks (dense and MoE),
the encoder layer and the two branches, the router with the combine rule, and ``GuardrailModel``. Its shape is
``GuardrailConfig`` (model/config.py, torch-free: the CLI and the model-folder contract read it without torch).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from tinyguardrail.labels import DECISION_GATES, EXIT_GATES
from tinyguardrail.model.config import GuardrailConfig

# ============================================================================================== threat-aware embedding
#
# Threat-aware embedding: token + position (BERT layout) + character CNN + pattern-detector features.
#
# Fusion (documented choice): **sum before the embedding LayerNorm**, the way BERT adds token-type embeddings::
#
#     x = LayerNorm(word[input_ids] + pos[0..T) + W_char(charcnn(char_ids)) + W_det(detector_feats))
#
# so the result has the scale a BERT layer expects. ``init_from_pretrained`` zeroes ``W_char`` and ``W_det``: at
# step 0 a pretrained encoder sees exactly its own embeddings, and the two extra signals are mixed in as they are
# learned (as LoRA's zero-initialised B).


class CharCNN(nn.Module):
    """Multi-scale CNN over each token's characters (Kim et al. 2016): embed chars, convolve with every kernel size
    (``char_channels`` filters each), GELU, max over character positions, concatenate, project to d_model.

    Each filter bank is stored as an ``nn.Linear`` over a flattened window (a 1-D convolution is exactly that) and
    all kernel sizes run as ONE matmul: windows of the largest size start at every character (right-padded with
    zero embeddings), and the smaller kernels' weights are zero-padded to that size. One matmul instead of four
    convolutions keeps the GPU step short (it is launch-bound at this size) and exports to ONNX as slices + MatMul.
    Windows that run past the end see padding, as the pad characters inside short tokens already do.

    Input char_ids [B, T, C] (0 = pad); output [B, T, d_model].
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.kernels = tuple(config.char_kernels)
        self.k_max = max(self.kernels)
        self.emb_dim = config.char_emb_dim
        self.char_emb = nn.Embedding(config.char_vocab, config.char_emb_dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Linear(k * config.char_emb_dim, config.char_channels) for k in self.kernels)
        self.proj = nn.Linear(config.char_channels * len(self.kernels), config.d_model)

    dedup_eval: bool = True
    """Eval mode runs the CNN once per distinct character row of the batch (``torch.unique(dim=0)``, ONNX ``Unique``)
    and gathers the results back: the same numbers, at the cost of the distinct tokens only (repeated words,
    and the padding, which is all one row), and only over the character positions the longest of them needs.
    Training runs every row."""

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        b, t, c = char_ids.shape
        flat = char_ids.reshape(b * t, c)
        if self.training or not self.dedup_eval:
            return self._rows(flat).reshape(b, t, -1)
        rows, inverse = torch.unique(flat, dim=0, return_inverse=True)
        # Character positions past the longest token + 1 only repeat the all-padding window of the position after
        # a token's end (every token shorter than C has one), so they cannot change the max: cut them off.
        keep = torch.clamp((rows > 0).sum(dim=1).max() + 1, max=rows.shape[1])  # rows' own shape: no tie to char_ids
        return self._rows(rows[:, :keep]).index_select(0, inverse.reshape(-1)).reshape(b, t, -1)

    def _rows(self, flat: torch.Tensor) -> torch.Tensor:
        """[N, C] character ids -> [N, d_model]."""
        c = flat.shape[1]
        x = F.pad(self.char_emb(flat), (0, 0, 0, self.k_max - 1))  # (N, C + k_max - 1, E)
        windows = torch.cat([x[:, i : i + c] for i in range(self.k_max)], dim=-1)  # (N, C, k_max * E)
        weight = torch.cat(
            [
                F.pad(conv.weight, (0, (self.k_max - k) * self.emb_dim))
                for conv, k in zip(self.convs, self.kernels, strict=True)
            ]
        )  # (n_kernels * channels, k_max * E)
        bias = torch.cat([conv.bias for conv in self.convs])
        feats = F.gelu(F.linear(windows, weight, bias)).amax(dim=1)  # (N, n_kernels * channels)
        return self.proj(feats)  # (N, D)


class ThreatAwareEmbedding(nn.Module):
    """Token embedding (+ learned positions, + LayerNorm, BERT style) fused with the char CNN and detector scores.

    Args:
        config: the model config; ``use_char_cnn`` / ``use_detector_feats`` switch the extra signals off.

    ``forward(input_ids [B,T], char_ids [B,T,C], detector_feats [B,F]) -> [B, T, d_model]``.
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.config = config
        # word embeddings already include BERT's token-type-0 row when loaded from a pretrained encoder
        self.word = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_id)
        self.pos = nn.Embedding(config.max_len, config.d_model)
        self.char_cnn = CharCNN(config) if config.use_char_cnn else None
        self.det_proj = (
            nn.Linear(config.n_detector_feats, config.d_model)
            if config.use_detector_feats and config.n_detector_feats > 0
            else None
        )
        self.ln = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor, char_ids: torch.Tensor, detector_feats: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device)
        x = self.word(input_ids) + self.pos(positions)[None]  # (B, T, D)
        if self.char_cnn is not None:
            x = x + self.char_cnn(char_ids)
        if self.det_proj is not None:
            x = x + self.det_proj(detector_feats.to(x.dtype))[:, None, :]  # broadcast over tokens
        return self.drop(self.ln(x))


# =================================================================== feed-forward blocks: dense and mixture-of-experts
#
# Feed-forward blocks: the dense BERT FFN and a top-k Mixture-of-Experts FFN (Switch / GShard style).
#
# Both take ``(x [B,T,D], token_mask [B,T] bool)`` and return ``(y [B,T,D], aux)`` where ``aux`` is the scalar
# load-balancing loss (0 for the dense block), so a layer does not care which one it holds.
#
# MoE dispatch:
#
# * **eval / export (routed, the default: ``MoEFFN.eval_dispatch = "sparse"``)**: each expert runs only on the real
#   (non-padding) tokens routed to it: a static loop over the experts gathers their rows (``nonzero`` +
#   ``index_select``), runs the expert, scales by the renormalised top-k gate weight and adds the result to those rows
#   of the output (``index_put``), in expert order. Every real token gets exactly the sum the dense path computes (the
#   dense path only adds exact zeros besides), so outputs match it up to matmul rounding; padding rows get 0 (they
#   never reach a real token or a pooled vector: attention masks padded keys, pooling masks padded tokens). No Python
#   control flow depends on the data, so the TorchScript exporter gives a graph with dynamic row counts (NonZero /
#   Gather / ScatterND); an expert that receives no token runs on an empty batch. Expert compute is about
#   top_k / n_experts of the dense path's. Used in eval mode only (``nonzero`` syncs with the host on GPU).
# * **eval / export (dense, ``eval_dispatch = "dense"``)**: every expert runs on every token and the outputs are
#   combined with a [N, E] gate matrix that holds the renormalised top-k probabilities and zeros elsewhere (``topk`` +
#   ``scatter``). Each expert is a plain pair of ``nn.Linear`` in both eval paths, so INT8 dynamic quantization
#   reaches it. At 8 experts of a 384-wide model this costs a few dense FFNs.
# * **training (sparse, ``moe_sparse_train``)**: tokens are gathered into fixed-size expert buffers with GShard's
#   capacity rule (capacity = ceil(capacity_factor * top_k * n_tokens / n_experts), n_tokens counting the padded
#   batch so that the buffer size is known without a device->host sync; padding is never dispatched; first choices
#   claim slots before second choices, earlier tokens before later ones); an assignment over capacity gets no output
#   from that expert (the residual carries the token). Each expert computes capacity rows instead of every token.
#   Capacity only exists in this mode: the eval paths have no buffers to overflow, which is why eval never drops
#   tokens. With ``capacity_factor <= 0`` the sparse path equals the dense one exactly.


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


# ================================================= encoder layer, pooling, pattern bank, heads, fast and deep branches
#
# Encoder layer, pooling, pattern bank, heads, and the fast and deep branches.
#
# Shapes: B batch, T tokens, D d_model, K prototypes, C classes. ``mask`` is the [B, T] bool padding mask (True = token).


_NEG = -1e4  # "minus infinity" that is safe in fp16/bf16 and survives ONNX export


class EncoderLayer(nn.Module):
    """BERT post-LN encoder layer; parameter names map 1:1 onto HF BERT::

        q k v (attention.self.query/key/value)   o (attention.output.dense)   ln1 (attention.output.LayerNorm)
        ffn.ffn.fc_in (intermediate.dense)        ffn.ffn.fc_out (output.dense)  ln2 (output.LayerNorm)

    With ``moe=True`` the feed-forward is an ``MoEFFN`` (``ffn.experts.{e}.fc_in/fc_out`` + ``ffn.gate``).
    Attention is ``F.scaled_dot_product_attention`` with a boolean key-padding mask in training, and the same
    attention written out with an additive mask in eval mode (see ``explicit_eval_attention``).
    """

    explicit_eval_attention: bool = True
    """Eval mode computes attention as softmax(QK^T / sqrt(d) + mask bias) V with bias -1e4 on padded keys, the bias
    carried as an extra query/key dimension: the same numbers as ``scaled_dot_product_attention`` (exp(-1e4) is 0 in
    fp32; every row has a real token), but its ONNX export has no boolean-mask Where / IsNaN nodes and no Add over
    the [B, heads, T, T] scores, which together cost ~20% of the CPU fast graph at 256 tokens."""

    def __init__(self, config: GuardrailConfig, moe: bool = False) -> None:
        super().__init__()
        d = config.d_model
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=config.ln_eps)
        self.ffn = MoEFFN(config) if moe else DenseFFN(config)
        self.ln2 = nn.LayerNorm(d, eps=config.ln_eps)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        h = self.n_heads

        def heads(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, h, d // h).transpose(1, 2)  # (B, nh, T, hs)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        if self.training or torch.jit.is_scripting() or not self.explicit_eval_attention:
            a = F.scaled_dot_product_attention(
                q, k, v,
                attn_mask=mask[:, None, None, :],  # (B, 1, 1, T): every query sees the real keys only
                dropout_p=self.dropout if self.training else 0.0,
            )  # fmt: skip
        else:  # the same attention with an additive key mask, the mask riding in QK^T as one extra dimension:
            # [q * scale, 1] . [k, bias] = q . k * scale + bias, so no [B, h, T, T] Add (nor Where / IsNaN) is needed
            bias = ((~mask).to(q.dtype) * _NEG)[:, None, :, None].expand(b, h, t, 1)  # (B, h, T, 1)
            q1 = torch.cat([q * (q.shape[-1] ** -0.5), torch.ones_like(bias)], dim=-1)  # (B, h, T, hs + 1)
            k1 = torch.cat([k, bias], dim=-1)
            a = torch.matmul(torch.softmax(torch.matmul(q1, k1.transpose(-1, -2)), dim=-1), v)
        a = a.transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.drop(self.o(a)))
        y, aux = self.ffn(x, mask)
        return self.ln2(x + self.drop(y)), aux


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B,T,D], [B,T] -> [B,D] mean over real tokens."""
    m = mask.to(hidden.dtype)[..., None]
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Sentence vector of the fast branch: masked mean, or the first ([CLS]) token."""
    return hidden[:, 0] if mode == "cls" else masked_mean(hidden, mask)


class PatternBank(nn.Module):
    """``n_prototypes`` learned unit vectors; features = cosine(pooled, P) and max over tokens of cosine(h_t, P).

    ``seed(vectors)`` overwrites the first prototypes with given vectors (e.g. pooled embeddings of known attack
    phrases), the rest stay learned from scratch. Output [B, 2K].
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.prototypes = nn.Parameter(torch.randn(config.n_prototypes, config.d_model))

    @property
    def n_features(self) -> int:
        return 2 * self.prototypes.shape[0]

    def forward(self, pooled: torch.Tensor, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        p = F.normalize(self.prototypes.float(), dim=-1)  # (K, D)
        s_pool = F.normalize(pooled.float(), dim=-1) @ p.T  # (B, K)
        s_tok = F.normalize(hidden.float(), dim=-1) @ p.T  # (B, T, K)
        s_tok = s_tok.masked_fill(~mask[..., None], -2.0).amax(dim=1)  # (B, K); cos >= -1 so pads never win
        return torch.cat([s_pool, s_tok], dim=-1)

    @torch.no_grad()
    def seed(self, vectors: torch.Tensor) -> int:
        """Copy ``vectors`` [n, D] into the first n prototypes (n is capped at K); returns how many were set."""
        n = min(int(vectors.shape[0]), self.prototypes.shape[0])
        if vectors.ndim != 2 or vectors.shape[1] != self.prototypes.shape[1]:
            raise ValueError(f"seed vectors must be [n, {self.prototypes.shape[1]}], got {tuple(vectors.shape)}")
        self.prototypes[:n] = vectors[:n].to(self.prototypes)
        return n


class Head(nn.Module):
    """LayerNorm -> Linear -> GELU -> {class logits [B, C], severity logit [B]}."""

    def __init__(self, in_dim: int, config: GuardrailConfig) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(in_dim, eps=1e-5)
        self.dense = nn.Linear(in_dim, config.head_hidden)
        self.drop = nn.Dropout(config.dropout)
        self.cls = nn.Linear(config.head_hidden, config.n_classes)
        self.sev = nn.Linear(config.head_hidden, 1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.drop(F.gelu(self.dense(self.ln(z))))
        return self.cls(h).float(), self.sev(h).float().squeeze(-1)


class FastBranch(nn.Module):
    """``n_fast_layers`` dense encoder layers + pooling + pattern bank + head.

    ``forward(x [B,T,D], mask, detector_feats [B,F]) -> (hidden [B,T,D], pooled [B,D], logits [B,C], sev_logit [B])``.
    The head reads concat(pooled, pattern-bank features, detector scores): the detector scores go in directly as
    well as through the embedding, since a rule firing is itself strong evidence.
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.pooling = config.fast_pooling
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_fast_layers))
        self.bank = PatternBank(config) if config.use_pattern_bank else None
        self.use_det = config.use_detector_feats and config.n_detector_feats > 0
        in_dim = config.d_model + (self.bank.n_features if self.bank is not None else 0)
        in_dim += config.n_detector_feats if self.use_det else 0
        self.head = Head(in_dim, config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, detector_feats: torch.Tensor):
        for layer in self.layers:
            x, _ = layer(x, mask)
        pooled = pool(x, mask, self.pooling)
        parts = [pooled.float()]
        if self.bank is not None:
            parts.append(self.bank(pooled, x, mask))
        if self.use_det:
            parts.append(detector_feats.float())
        logits, sev = self.head(torch.cat(parts, dim=-1))
        return x, pooled, logits, sev


class HierarchicalPool(nn.Module):
    """Multi-scale pooling [B,T,D] -> [B,D]: for each scale s, the masked mean of every window of s consecutive
    tokens (stride 1), max over windows; the scales are concatenated and projected to d_model.

    Only windows lying wholly inside the text count (a text shorter than s has one window: the whole text), so
    the scale-64 feature is never a single-token vector in disguise. Scale 1 is a masked max over tokens.
    Stride-1 windows keep the output length equal to T, so the graph has no shape arithmetic (``ceil_mode``
    pooling broke dynamic-shape ONNX export) and every aligned window of a stride-s scheme is included.

    Window sums come from one prefix sum over the tokens (window i of scale s = ``cs[i + s] - cs[i]``, the sequence
    right-padded with zeros so there are T windows), O(T * D) whatever the scales, instead of a stride-1 average
    pool's O(T * s * D). The same sums as average pooling up to fp32 rounding (the token counts are exact).
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.scales = config.pool_scales
        self.proj = nn.Linear(config.d_model * len(config.pool_scales), config.d_model)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = hidden.float()
        m = mask.to(h.dtype)[..., None]  # (B, T, 1)
        hm = h * m  # (B, T, D), padding zeroed
        n_tokens = m.sum(1, keepdim=True)  # (B, 1, 1)
        big = max(self.scales)
        if big > 1:  # cs[:, j] = sum of tokens < j, for j = 0 .. T + big - 1 (constant past the end: right padding)
            cs_h = torch.cumsum(F.pad(hm, (0, 0, 1, big - 1)), dim=1)  # (B, T + big, D)
            cs_m = torch.cumsum(F.pad(m, (0, 0, 1, big - 1)), dim=1)  # (B, T + big, 1)
        outs = []
        for s in self.scales:
            if s == 1:
                win, valid = hm, m > 0
            else:  # window i covers tokens i..i+s-1: cs[i + s] - cs[i], i = 0 .. T-1 (constant-bound slices only)
                total = (cs_h[:, s : s - big] if s < big else cs_h[:, big:]) - cs_h[:, :-big]  # (B, T, D) sums
                count = (cs_m[:, s : s - big] if s < big else cs_m[:, big:]) - cs_m[:, :-big]  # (B, T, 1)
                win = total / count.clamp_min(1.0)
                valid = count > n_tokens.clamp_max(float(s)) - 0.5  # full window, or the whole short text
            outs.append(win.masked_fill(~valid, _NEG).amax(dim=1))  # (B, D)
        return self.proj(torch.cat(outs, dim=-1))


class DeepBranch(nn.Module):
    """``n_deep_layers`` encoder layers (MoE feed-forward in every ``moe_every``-th) + hierarchical pooling + head.

    ``forward(hidden [B,T,D], mask, fast_pooled [B,D]) -> (logits [B,C], sev_logit [B], aux, z [B,2D])`` where aux is
    the mean load-balancing loss of the MoE layers (0 without MoE) and z = concat(deep pooled, fast pooled), what the
    head reads.
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(config, moe=config.is_moe_layer(i)) for i in range(config.n_deep_layers)
        )
        self.n_moe = sum(config.is_moe_layer(i) for i in range(config.n_deep_layers))
        self.pool = HierarchicalPool(config)
        self.head = Head(2 * config.d_model, config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, fast_pooled: torch.Tensor):
        aux = x.new_zeros((), dtype=torch.float32)
        for layer in self.layers:
            x, a = layer(x, mask)
            aux = aux + a
        if self.n_moe:
            aux = aux / self.n_moe
        z = torch.cat([self.pool(x, mask).float(), fast_pooled.float()], dim=-1)
        logits, sev = self.head(z)
        return logits, sev, aux, z


# ========================================================================================= router and the combine rule
#
# The router (fast-only / deep-only / both) and the one rule that turns branch outputs into probabilities.
#
# ``combine_probs`` is used by training-time validation; the ONNX runtime mirrors it in NumPy (same rule, same
# route ids). Keep the two in sync.


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


def exit_confidence(probs: torch.Tensor, gate: str = "label") -> torch.Tensor:
    """How sure the fast branch is [B], from its class probabilities: the largest (``gate="label"``) or the
    block-or-allow probability ``max(P(benign), 1 - P(benign))`` (``"attack"``, ``"decision"``); the torch twin of
    ``artifact.exit_confidence``."""
    if gate == "label":
        return probs.amax(dim=-1)
    if gate in DECISION_GATES:
        return torch.maximum(probs[:, 0], 1.0 - probs[:, 0])
    raise ValueError(f"early-exit gate {gate!r} is not one of {list(EXIT_GATES)}")


def route_decision(
    fast_logits: torch.Tensor, router_logits: torch.Tensor, early_exit_threshold: float = 0.0, gate: str = "label"
) -> torch.Tensor:
    """Which branch answers each row [B] (0 fast, 1 deep, 2 both): the router's argmax, except that a fast-only
    choice whose fast confidence is below ``early_exit_threshold`` becomes "both" (the runtime's rule:
    the deep branch is skipped only when the router says so *and* the fast branch is confident). The confidence is
    the max class probability (``gate="label"``) or ``max(P(benign), 1 - P(benign))`` (``gate="attack"``), as
    ``artifact.exit_confidence``. ``gate="decision"``: a sure block-or-allow decision exits unless the router chose
    the deep branch alone (its "both", learnt from the class confidence, does not hold a sure decision back)."""
    route = router_logits.argmax(dim=-1)
    if early_exit_threshold > 0 or gate == "decision":
        sure = exit_confidence(torch.softmax(fast_logits.float(), dim=-1), gate) >= early_exit_threshold
        route = torch.where((route == ROUTE_FAST) & ~sure, torch.full_like(route, ROUTE_BOTH), route)
        if gate == "decision":  # a sure fast branch answers alone unless the router chose the deep branch alone
            route = torch.where(sure & (route != ROUTE_DEEP), torch.full_like(route, ROUTE_FAST), route)
    return route


def combine_probs(
    fast_logits: torch.Tensor,
    deep_logits: torch.Tensor,
    router_logits: torch.Tensor,
    early_exit_threshold: float = 0.0,
    gate: str = "label",
) -> torch.Tensor:
    """Final class probabilities [B, C], by ``route_decision``: 0 -> softmax(fast); 1 -> softmax(deep);
    2 -> mean of both softmaxes.

    ``early_exit_threshold`` 0 is the pure router rule; pass ``config.early_exit_threshold`` and
    ``config.early_exit_gate`` to get exactly what the ONNX runtime (``artifact.combine_probs``) answers. Branch switches are expressed as constant router
    logits, so this rule covers every ablation (without a deep branch, deep_logits equal fast_logits).
    """
    route = route_decision(fast_logits, router_logits, early_exit_threshold, gate)[:, None]
    p_fast = torch.softmax(fast_logits.float(), dim=-1)
    p_deep = torch.softmax(deep_logits.float(), dim=-1)
    return torch.where(route == ROUTE_FAST, p_fast, torch.where(route == ROUTE_DEEP, p_deep, 0.5 * (p_fast + p_deep)))


def combine_severity(
    fast_logits: torch.Tensor,
    fast_sev: torch.Tensor,
    deep_sev: torch.Tensor,
    router_logits: torch.Tensor,
    early_exit_threshold: float = 0.0,
    gate: str = "label",
) -> torch.Tensor:
    """Severity [B] by the same rule as ``combine_probs``."""
    route = route_decision(fast_logits, router_logits, early_exit_threshold, gate)
    return torch.where(
        route == ROUTE_FAST, fast_sev, torch.where(route == ROUTE_DEEP, deep_sev, 0.5 * (fast_sev + deep_sev))
    )


# =========================================================================================================== the model


class GuardrailModel(nn.Module):
    """The dual-branch guard. Built from a ``GuardrailConfig`` alone.

    Args:
        config: shapes and switches; see ``GuardrailConfig``.
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = ThreatAwareEmbedding(config)
        self.fast = FastBranch(config) if config.use_fast_branch else None
        self.router = Router(config) if config.router_active else None
        self.deep = DeepBranch(config) if config.use_deep_branch else None
        self.apply(self._init_weights)

    @classmethod
    def from_checkpoint(cls, ckpt_dir: str | Path, device: str | torch.device = "cpu") -> GuardrailModel:
        """The model of a checkpoint directory (``model/checkpoint.py``), weights loaded strictly, in eval mode."""
        from tinyguardrail.model.checkpoint import load_checkpoint

        return load_checkpoint(ckpt_dir, device)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.init_std
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    # --- pieces -------------------------------------------------------------------------------------------
    def _fast_from_embeddings(self, emb: torch.Tensor, mask: torch.Tensor, detector_feats: torch.Tensor):
        """-> fast_logits, fast_sev_logit, router_logits, hidden, fast_pooled."""
        cfg = self.config
        if self.fast is None:
            zeros = torch.zeros(emb.shape[0], cfg.n_classes, dtype=torch.float32, device=emb.device)
            return zeros, zeros[:, 0], fixed_route_logits(ROUTE_DEEP, emb), emb, pool(emb, mask, cfg.fast_pooling)
        hidden, pooled, logits, sev = self.fast(emb, mask, detector_feats)
        if self.router is not None:
            router_logits = self.router(pooled, logits)
        else:
            router_logits = fixed_route_logits(ROUTE_BOTH if self.deep is not None else ROUTE_FAST, emb)
        return logits, sev, router_logits, hidden, pooled

    # --- training forward ---------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor,
        detector_feats: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Both branches. Returns a dict of fast_logits [B,C], deep_logits [B,C], router_logits [B,3],
        severity [B] (deep, 0..1), fast_severity [B], severity_logit / fast_severity_logit [B] (for the loss),
        aux_loss (scalar MoE balance loss), pooled [B,2D] (what the deep head reads; the fast pooled vector [B,D]
        without a deep branch). Without a deep branch, deep_* repeat the fast outputs.
        """
        emb = self.embed(input_ids, char_ids, detector_feats)
        return self.forward_from_embeddings(emb, attention_mask, detector_feats)

    def forward_from_embeddings(
        self, emb: torch.Tensor, attention_mask: torch.Tensor, detector_feats: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``forward`` after the embedding (FGSM perturbs ``emb`` and calls this)."""
        mask = attention_mask.bool()
        fast_logits, fast_sev, router_logits, hidden, fast_pooled = self._fast_from_embeddings(
            emb, mask, detector_feats
        )
        if self.deep is not None:
            deep_logits, deep_sev, aux, pooled = self.deep(hidden, mask, fast_pooled)
        else:
            deep_logits, deep_sev, aux = fast_logits, fast_sev, emb.new_zeros((), dtype=torch.float32)
            pooled = fast_pooled
        return {
            "fast_logits": fast_logits,
            "deep_logits": deep_logits,
            "router_logits": router_logits,
            "severity": torch.sigmoid(deep_sev),
            "fast_severity": torch.sigmoid(fast_sev),
            "severity_logit": deep_sev,
            "fast_severity_logit": fast_sev,
            "aux_loss": aux,
            "pooled": pooled,
        }

    # --- the two exported graphs --------------------------------------------------------------------------
    def forward_fast(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor,
        detector_feats: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (fast_logits [B,C], fast_severity [B] in 0..1, router_logits [B,3], hidden [B,T,D] fp32)."""
        emb = self.embed(input_ids, char_ids, detector_feats)
        logits, sev, router_logits, hidden, _ = self._fast_from_embeddings(emb, attention_mask.bool(), detector_feats)
        return logits, torch.sigmoid(sev), router_logits, hidden.float()

    def forward_deep(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (deep_logits [B,C], severity [B] in 0..1). ``hidden`` is forward_fast's output."""
        if self.deep is None:
            raise RuntimeError("this model has no deep branch (use_deep_branch=False)")
        mask = attention_mask.bool()
        fast_pooled = pool(hidden, mask, self.config.fast_pooling)
        logits, sev, _, _ = self.deep(hidden, mask, fast_pooled)
        return logits, torch.sigmoid(sev)

    # --- helpers ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def pooled_fast(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor,
        detector_feats: torch.Tensor,
    ) -> torch.Tensor:
        """[B, D] fast-branch sentence vectors (what the pattern bank compares with its prototypes)."""
        _, _, _, hidden = self.forward_fast(input_ids, attention_mask, char_ids, detector_feats)
        return pool(hidden, attention_mask.bool(), self.config.fast_pooling)

    def seed_prototypes(self, vectors: torch.Tensor) -> int:
        """Set the first pattern-bank prototypes to ``vectors`` [n, D]; returns how many were set (0 without a bank)."""
        if self.fast is None or self.fast.bank is None:
            return 0
        return self.fast.bank.seed(vectors)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
