"""Initialise a ``GuardrailModel`` from a pretrained BERT-style encoder (MiniLM, multilingual-e5-small).

The encoder comes from ``tinyguardrail.model.pretrained.load_pretrained`` as a ``PretrainedEncoder`` with
``word_embeddings`` [V,D], ``position_embeddings`` [P,D], ``token_type_embedding`` [D], ``emb_ln_weight/bias``,
``layers`` (dicts of HF-BERT-layout tensors ``q_w q_b k_w k_b v_w v_b o_w o_b ln1_w ln1_b ffn_in_w ffn_in_b
ffn_out_w ffn_out_b ln2_w ln2_b``, Linear weights [out, in]) and ``config`` (hidden, heads, ffn, vocab).

Mapping: pretrained layers 0 .. n_fast-1 -> fast branch, the next n_deep -> deep branch. The token-type-0 row
is folded into the word embeddings (we never use other types), positions keep the first ``max_len`` rows. MoE
experts start as copies of the layer's pretrained FFN plus small noise so they can diverge; a narrower FFN or
expert keeps the pretrained neurons with the largest ``|w_in row| * |w_out column|`` (structured pruning). The
char-CNN and detector projections are zeroed so that at step 0 the body sees exactly its pretrained embeddings.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tinyguardrail.model.model import DenseFFN, EncoderLayer, FeedForward, GuardrailModel, MoEFFN

LAYER_KEYS = (
    "q_w", "q_b", "k_w", "k_b", "v_w", "v_b", "o_w", "o_b", "ln1_w", "ln1_b",
    "ffn_in_w", "ffn_in_b", "ffn_out_w", "ffn_out_b", "ln2_w", "ln2_b",
)  # fmt: skip


def _t(x: Any) -> torch.Tensor:
    return torch.as_tensor(x).detach().float()


def _copy(param: torch.Tensor, value: Any, name: str) -> None:
    value = _t(value)
    if tuple(param.shape) != tuple(value.shape):
        raise ValueError(f"shape mismatch for {name}: model {tuple(param.shape)} vs pretrained {tuple(value.shape)}")
    with torch.no_grad():
        param.copy_(value.to(param.dtype))


def ffn_neuron_order(ffn_in_w: torch.Tensor, ffn_out_w: torch.Tensor) -> torch.Tensor:
    """Pretrained FFN neurons by decreasing importance |w_in[j, :]| * |w_out[:, j]| (for width pruning)."""
    score = _t(ffn_in_w).norm(dim=1) * _t(ffn_out_w).norm(dim=0)
    return torch.argsort(score, descending=True)


def _load_ffn(ffn: FeedForward, layer: dict, width: int, noise: float, prefix: str) -> None:
    w_in, b_in, w_out, b_out = (_t(layer[k]) for k in ("ffn_in_w", "ffn_in_b", "ffn_out_w", "ffn_out_b"))
    if width > w_in.shape[0]:
        raise ValueError(f"{prefix}: FFN width {width} exceeds the pretrained width {w_in.shape[0]}")
    if width < w_in.shape[0]:
        keep = torch.sort(ffn_neuron_order(w_in, w_out)[:width]).values  # keep the original neuron order
        w_in, b_in, w_out = w_in[keep], b_in[keep], w_out[:, keep]
    if noise > 0:  # relative to each tensor's spread, so experts differ but stay close to the pretrained FFN
        w_in = w_in + noise * w_in.std() * torch.randn_like(w_in)
        w_out = w_out + noise * w_out.std() * torch.randn_like(w_out)
    _copy(ffn.fc_in.weight, w_in, f"{prefix}.fc_in.weight")
    _copy(ffn.fc_in.bias, b_in, f"{prefix}.fc_in.bias")
    _copy(ffn.fc_out.weight, w_out, f"{prefix}.fc_out.weight")
    _copy(ffn.fc_out.bias, b_out, f"{prefix}.fc_out.bias")


def load_layer(layer: EncoderLayer, tensors: dict, noise: float = 0.01, prefix: str = "layer") -> None:
    """Copy one HF-BERT-layout layer dict into ``layer`` (dense or MoE feed-forward)."""
    missing = [k for k in LAYER_KEYS if k not in tensors]
    if missing:
        raise ValueError(f"{prefix}: pretrained layer is missing {missing}")
    for ours, theirs in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "o")):
        lin: nn.Linear = getattr(layer, ours)
        _copy(lin.weight, tensors[f"{theirs}_w"], f"{prefix}.{ours}.weight")
        _copy(lin.bias, tensors[f"{theirs}_b"], f"{prefix}.{ours}.bias")
    for ln in ("ln1", "ln2"):
        _copy(getattr(layer, ln).weight, tensors[f"{ln}_w"], f"{prefix}.{ln}.weight")
        _copy(getattr(layer, ln).bias, tensors[f"{ln}_b"], f"{prefix}.{ln}.bias")
    if isinstance(layer.ffn, DenseFFN):
        _load_ffn(layer.ffn.ffn, tensors, layer.ffn.ffn.fc_in.out_features, 0.0, f"{prefix}.ffn.ffn")
    elif isinstance(layer.ffn, MoEFFN):
        for e, expert in enumerate(layer.ffn.experts):
            _load_ffn(expert, tensors, expert.fc_in.out_features, noise, f"{prefix}.ffn.experts.{e}")
    else:  # pragma: no cover - a new FFN type must be added here
        raise TypeError(f"unknown feed-forward type {type(layer.ffn).__name__}")


def init_from_pretrained(model: GuardrailModel, enc: Any, allow_missing_layers: bool = False) -> list[str]:
    """Copy a ``PretrainedEncoder``'s weights into ``model`` in place.

    Args:
        model: a freshly built model whose config matches the encoder (d_model == hidden, n_heads == heads,
            vocab_size == rows of ``word_embeddings``, max_len <= position rows).
        enc: the ``PretrainedEncoder`` (see module docstring).
        allow_missing_layers: if the encoder has fewer layers than n_fast + n_deep, leave the rest randomly
            initialised instead of raising.

    Returns:
        names of the parameters that now hold pretrained values (the rest are new: heads, char CNN, gates...).
    """
    cfg = model.config
    ecfg = dict(getattr(enc, "config", {}) or {})
    word = _t(enc.word_embeddings)
    if "hidden" in ecfg and int(ecfg["hidden"]) != cfg.d_model:
        raise ValueError(f"pretrained hidden {ecfg['hidden']} != d_model {cfg.d_model}")
    if "heads" in ecfg and int(ecfg["heads"]) != cfg.n_heads:
        raise ValueError(f"pretrained heads {ecfg['heads']} != n_heads {cfg.n_heads}")
    if word.shape[0] != cfg.vocab_size:
        raise ValueError(f"pretrained vocabulary {word.shape[0]} != vocab_size {cfg.vocab_size}")
    pos = _t(enc.position_embeddings)
    if pos.shape[0] < cfg.max_len:
        raise ValueError(f"pretrained has {pos.shape[0]} positions < max_len {cfg.max_len}")

    emb = model.embed
    done: list[str] = []
    _copy(emb.word.weight, word + _t(enc.token_type_embedding).reshape(1, -1), "embed.word.weight")
    _copy(emb.pos.weight, pos[: cfg.max_len], "embed.pos.weight")
    _copy(emb.ln.weight, enc.emb_ln_weight, "embed.ln.weight")
    _copy(emb.ln.bias, enc.emb_ln_bias, "embed.ln.bias")
    done += ["embed.word.weight", "embed.pos.weight", "embed.ln.weight", "embed.ln.bias"]
    with torch.no_grad():  # new signals start silent: the body sees its own embeddings at step 0
        if emb.char_cnn is not None:
            emb.char_cnn.proj.weight.zero_()
            emb.char_cnn.proj.bias.zero_()
        if emb.det_proj is not None:
            emb.det_proj.weight.zero_()
            emb.det_proj.bias.zero_()

    targets: list[tuple[str, EncoderLayer]] = []
    if model.fast is not None:
        targets += [(f"fast.layers.{i}", layer) for i, layer in enumerate(model.fast.layers)]
    if model.deep is not None:
        targets += [(f"deep.layers.{i}", layer) for i, layer in enumerate(model.deep.layers)]
    layers = list(enc.layers)
    if len(layers) < len(targets) and not allow_missing_layers:
        raise ValueError(f"pretrained encoder has {len(layers)} layers, the model needs {len(targets)}")
    for (name, layer), tensors in zip(targets, layers, strict=False):
        load_layer(layer, tensors, noise=cfg.moe_init_noise, prefix=name)
        done += [f"{name}.{p}" for p, _ in layer.named_parameters() if not p.endswith("gate.weight")]
    return done
