"""GuardrailConfig: JSON round trip, validation, "auto" resolution; model-info on the shipped configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyguardrail.model.config import GuardrailConfig, resolve_auto
from tinyguardrail.model.info import MAX_PARAMS, load_model_dict, parameter_report

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip(tmp_path):
    cfg = GuardrailConfig(vocab_size=1000, n_detector_feats=2, detector_names=("a", "b"), pool_scales=(1, 8))
    cfg.save(tmp_path / "config.json")
    again = GuardrailConfig.load(tmp_path / "config.json")
    assert again == cfg
    assert again.moe_ffn_dim == cfg.ffn_dim  # 0 means ffn_dim, stored resolved
    assert json.loads((tmp_path / "config.json").read_text())["pool_scales"] == [1, 8]


@pytest.mark.parametrize(
    "bad",
    [{"d_model": 30, "n_heads": 4}, {"top_k": 9}, {"init": "pretrained"}, {"use_fast_branch": False,
     "use_deep_branch": False}, {"pad_id": 50000}, {"char_kernels": (2, 40)}, {"fast_pooling": "max"},
     {"n_detector_feats": 1, "detector_names": ("a", "b")}, {"format_version": 99}],
)  # fmt: skip
def test_validation_rejects(bad):
    with pytest.raises(ValueError):
        GuardrailConfig(**bad)


def test_unknown_keys_are_an_error():
    with pytest.raises(ValueError, match="n_layerz"):
        GuardrailConfig.from_dict({"n_layerz": 3})


def test_resolve_auto():
    d = resolve_auto({"vocab_size": "auto", "pad_id": "auto", "d_model": 64, "n_heads": 4},
                     vocab_size=500, pad_id=0, n_detector_feats=7)  # fmt: skip
    assert d["vocab_size"] == 500 and d["pad_id"] == 0 and d["n_detector_feats"] == 7
    with pytest.raises(ValueError, match="vocab_size"):
        resolve_auto({"vocab_size": "auto"})


@pytest.mark.parametrize("name", ["base.json", "tiny.json"])
def test_shipped_configs_are_valid_and_within_the_parameter_limit(name):
    d = resolve_auto(load_model_dict(ROOT / "configs" / name), vocab_size=30522, pad_id=0, n_detector_feats=8)
    rep = parameter_report(GuardrailConfig.from_dict(d))
    assert rep["total"] <= MAX_PARAMS
    assert sum(rep["components"].values()) == rep["total"]
    assert rep["int8_bytes"] < 4 * rep["total"]


def test_model_info_cli(capsys):
    from tinyguardrail.cli import main

    assert main(["model-info", "--config", str(ROOT / "configs" / "base.json"), "--vocab-size", "30522", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["total"] <= MAX_PARAMS and "deep.moe_experts" in rep["components"]
