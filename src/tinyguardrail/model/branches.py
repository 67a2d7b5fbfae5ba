"""Encoder layer, pooling, pattern bank, heads, and the fast and deep branches.

Shapes: B batch, T tokens, D d_model, K prototypes, C classes. ``mask`` is the [B, T] bool padding mask (True = token).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.moe import DenseFFN, MoEFFN

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

    ``forward(hidden [B,T,D], mask, fast_pooled [B,D]) -> (logits [B,C], sev_logit [B], aux)`` where aux is the
    mean load-balancing loss of the MoE layers (0 without MoE). The head reads concat(deep pooled, fast pooled).
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
        return logits, sev, aux
