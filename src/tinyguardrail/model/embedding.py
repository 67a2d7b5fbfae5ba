"""Threat-aware embedding: token + position (BERT layout) + character CNN + pattern-detector features.

Fusion (documented choice): **sum before the embedding LayerNorm**, the way BERT adds token-type embeddings::

    x = LayerNorm(word[input_ids] + pos[0..T) + W_char(charcnn(char_ids)) + W_det(detector_feats))

so the result has the scale a BERT layer expects. ``init_from_pretrained`` zeroes ``W_char`` and ``W_det``: at
step 0 a pretrained encoder sees exactly its own embeddings, and the two extra signals are mixed in as they are
learned (as LoRA's zero-initialised B).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinyguardrail.model.config import GuardrailConfig


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
