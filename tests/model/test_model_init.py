"""init_from_pretrained against a fake PretrainedEncoder: a copied layer computes exactly what a BERT layer does."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from _tg_tiny_model import tiny_config, tiny_inputs

from tinyguardrail.model.init import LAYER_KEYS, init_from_pretrained
from tinyguardrail.model.model import GuardrailModel

D, H, FFN, V, P = 32, 4, 64, 97, 64


def fake_encoder(n_layers: int = 3, seed: int = 0) -> SimpleNamespace:
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.1):
        return torch.randn(*shape, generator=g) * scale

    layers = []
    for _ in range(n_layers):
        t = {}
        for k in LAYER_KEYS:
            if k in ("q_w", "k_w", "v_w", "o_w"):
                t[k] = r(D, D)
            elif k == "ffn_in_w":
                t[k] = r(FFN, D)
            elif k == "ffn_in_b":
                t[k] = r(FFN)
            elif k == "ffn_out_w":
                t[k] = r(D, FFN)
            elif k.startswith("ln") and k.endswith("_w"):
                t[k] = 1.0 + r(D)
            else:
                t[k] = r(D)
        layers.append(t)
    return SimpleNamespace(
        tokenizer=None, word_embeddings=r(V, D, scale=1.0), position_embeddings=r(P, D, scale=1.0),
        token_type_embedding=r(D, scale=1.0), emb_ln_weight=1.0 + r(D), emb_ln_bias=r(D), layers=layers,
        config={"hidden": D, "heads": H, "ffn": FFN, "vocab": V, "layer_norm_eps": 1e-12}, pad_id=0,
    )  # fmt: skip


def bert_layer(x: torch.Tensor, mask: torch.Tensor, t: dict) -> torch.Tensor:
    """Reference HF BERT post-LN layer written out by hand."""
    b, n, _ = x.shape
    hd = D // H

    def heads(z):
        return z.view(b, n, H, hd).transpose(1, 2)

    q, k, v = (heads(x @ t[f"{c}_w"].T + t[f"{c}_b"]) for c in "qkv")
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + (1.0 - mask[:, None, None, :].float()) * -1e9
    a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, D)
    h = F.layer_norm(x + a @ t["o_w"].T + t["o_b"], (D,), t["ln1_w"], t["ln1_b"], 1e-12)
    f = F.gelu(h @ t["ffn_in_w"].T + t["ffn_in_b"]) @ t["ffn_out_w"].T + t["ffn_out_b"]
    return F.layer_norm(h + f, (D,), t["ln2_w"], t["ln2_b"], 1e-12)


def _model(**overrides) -> GuardrailModel:
    torch.manual_seed(0)
    args = dict(vocab_size=V, d_model=D, n_heads=H, ffn_dim=FFN, moe_ffn_dim=FFN, n_fast_layers=1, n_deep_layers=2,
                dropout=0.0)  # fmt: skip
    cfg = tiny_config(**{**args, **overrides})
    return GuardrailModel(cfg)


def test_embeddings_and_layers_match_a_bert_forward():
    enc = fake_encoder()
    model = _model(moe_init_noise=0.0).eval()
    names = init_from_pretrained(model, enc)
    assert "embed.word.weight" in names and "deep.layers.1.ffn.experts.0.fc_in.weight" in names
    assert not any(n.endswith("gate.weight") for n in names)
    ids, mask, chars, feats = tiny_inputs(model.config, length=9)
    with torch.no_grad():
        emb = model.embed(ids, chars, feats)  # char CNN and detector projection start at zero
        pos = enc.position_embeddings[: ids.shape[1]]
        ref = F.layer_norm(enc.word_embeddings[ids] + enc.token_type_embedding + pos, (D,), enc.emb_ln_weight,
                           enc.emb_ln_bias, 1e-12)  # fmt: skip
        torch.testing.assert_close(emb, ref, atol=1e-5, rtol=1e-5)
        m = mask.bool()
        x, r = emb, ref
        layers = list(model.fast.layers) + list(model.deep.layers)  # fast 0 <- pretrained 0, deep 0,1 <- 1,2
        for layer, t in zip(layers, enc.layers, strict=True):
            x, _ = layer(x, m)
            r = bert_layer(r, mask, t)
            torch.testing.assert_close(x[m], r[m], atol=1e-4, rtol=1e-4)  # deep layer 1 is MoE: identical experts


def test_experts_are_noisy_copies_and_pruned_width_keeps_top_neurons():
    enc = fake_encoder()
    model = _model(moe_init_noise=0.01, moe_ffn_dim=16)
    init_from_pretrained(model, enc)
    moe = model.deep.layers[1].ffn
    w0, w1 = moe.experts[0].fc_in.weight.detach(), moe.experts[1].fc_in.weight.detach()
    assert w0.shape == (16, D)
    assert not torch.equal(w0, w1)
    src = enc.layers[2]
    score = src["ffn_in_w"].norm(dim=1) * src["ffn_out_w"].norm(dim=0)
    keep = torch.sort(torch.argsort(score, descending=True)[:16]).values
    torch.testing.assert_close(w0, src["ffn_in_w"][keep], atol=0.01, rtol=0.0)
    torch.testing.assert_close(moe.experts[0].fc_in.bias.detach(), src["ffn_in_b"][keep])


def test_mismatches_fail_loudly():
    enc = fake_encoder(n_layers=2)
    with pytest.raises(ValueError, match="layers"):
        init_from_pretrained(_model(), enc)  # needs 3
    init_from_pretrained(_model(), enc, allow_missing_layers=True)
    with pytest.raises(ValueError, match="vocab"):
        init_from_pretrained(_model(vocab_size=V + 1), fake_encoder())
    with pytest.raises(ValueError, match="heads"):
        init_from_pretrained(_model(n_heads=2), fake_encoder())
    with pytest.raises(ValueError, match="FFN width"):
        init_from_pretrained(_model(ffn_dim=2 * FFN), fake_encoder())
