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
    """Multi-scale CNN over each token's characters (Kim et al. 2016): embed chars, conv with every kernel size,
    GELU, max over character positions, concatenate, project to d_model.

    Input char_ids [B, T, C] (0 = pad); output [B, T, d_model].
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.char_emb = nn.Embedding(config.char_vocab, config.char_emb_dim, padding_idx=0)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.char_emb_dim, config.char_channels, kernel_size=k) for k in config.char_kernels
        )
        self.proj = nn.Linear(config.char_channels * len(config.char_kernels), config.d_model)

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        b, t, c = char_ids.shape
        x = self.char_emb(char_ids.reshape(b * t, c)).transpose(1, 2)  # (B*T, E, C)
        # max over character positions of each kernel's feature map: (B*T, channels) per kernel
        feats = [F.gelu(conv(x)).amax(dim=-1) for conv in self.convs]
        return self.proj(torch.cat(feats, dim=-1)).reshape(b, t, -1)  # (B, T, D)


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
