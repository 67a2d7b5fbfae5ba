"""Tiny random GuardrailModel configs and inputs shared by the model and train tests."""

from __future__ import annotations

import torch

from tinyguardrail.model.config import GuardrailConfig

N_FEATS = 5


def tiny_config(**overrides) -> GuardrailConfig:
    base = dict(
        vocab_size=97, d_model=32, n_heads=4, ffn_dim=64, max_len=48, max_chars=8, char_emb_dim=8, char_channels=8,
        n_detector_feats=N_FEATS, n_fast_layers=1, n_deep_layers=2, n_experts=4, top_k=2, moe_ffn_dim=32,
        n_prototypes=4, head_hidden=32, router_hidden=16, pool_scales=(1, 4, 16), dropout=0.1,
    )  # fmt: skip
    base.update(overrides)
    return GuardrailConfig(**base)


def tiny_inputs(config: GuardrailConfig, batch: int = 3, length: int = 11, seed: int = 0):
    """(input_ids, attention_mask, char_ids, detector_feats); row 1 is padded after 6 tokens, row 2 after 1."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, config.vocab_size, (batch, length), generator=g)
    mask = torch.ones(batch, length, dtype=torch.long)
    if batch > 1:
        mask[1, 6:] = 0
    if batch > 2:
        mask[2, 1:] = 0
    ids = ids.masked_fill(mask == 0, config.pad_id)
    chars = torch.randint(0, config.char_vocab, (batch, length, config.max_chars), generator=g)
    chars = chars.masked_fill(mask[..., None] == 0, 0)
    feats = torch.rand(batch, config.n_detector_feats, generator=g)
    return ids, mask, chars, feats
