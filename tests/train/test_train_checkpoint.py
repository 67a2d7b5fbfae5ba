"""Sharded safetensors checkpoints: shard size limit, exact reload, strict and loud failures."""

from __future__ import annotations

import json

import pytest
import torch
from _tg_tiny_model import tiny_config, tiny_inputs

from tinyguardrail.model.model import GuardrailModel
from tinyguardrail.train.checkpoint import INDEX_NAME, load_checkpoint, save_checkpoint


def test_shards_respect_the_limit_and_reload_exactly(tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(vocab_size=3000)  # word embeddings 3000x32 fp32 = 384 KB > the 200 KB shard limit below
    model = GuardrailModel(cfg).eval()
    limit = 200 * 1024
    save_checkpoint(tmp_path / "ck", model, {"model": cfg.to_dict(), "train": {}}, info={"epoch": 0},
                    max_shard_bytes=limit)  # fmt: skip
    shards = sorted((tmp_path / "ck").glob("model-*-of-*.safetensors"))
    assert len(shards) >= 2
    assert all(p.stat().st_size <= limit for p in shards)
    index = json.loads((tmp_path / "ck" / INDEX_NAME).read_text())
    assert "embed.word.weight" in index["split_tensors"]
    assert set(index["weight_map"].values()) == {p.name for p in shards}
    again = load_checkpoint(tmp_path / "ck")
    inputs = tiny_inputs(cfg)
    with torch.no_grad():
        a, b = model(*inputs), again(*inputs)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_default_shards_are_at_most_16_mib(tmp_path):
    cfg = tiny_config(vocab_size=150_000)  # 19 MiB of embeddings
    save_checkpoint(tmp_path / "ck", GuardrailModel(cfg))
    shards = list((tmp_path / "ck").glob("model-*.safetensors"))
    assert len(shards) >= 2 and all(p.stat().st_size <= 16 * 2**20 for p in shards)


def test_loading_fails_loudly(tmp_path):
    model = GuardrailModel(tiny_config())
    ck = save_checkpoint(tmp_path / "ck", model)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nowhere")
    # a config that no longer matches the weights: strict loading refuses
    cfg = json.loads((ck / "config.json").read_text())
    cfg["use_pattern_bank"] = False
    (ck / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        load_checkpoint(ck)
    # a corrupted shard: hash mismatch
    ck = save_checkpoint(tmp_path / "ck2", model)
    shard = next(ck.glob("model-*.safetensors"))
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_checkpoint(ck)
