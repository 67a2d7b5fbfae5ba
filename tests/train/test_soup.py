"""Model soups (train.soup): the weight average of fine-tuned checkpoints, and what may be averaged."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from tinyguardrail.model.checkpoint import load_checkpoint, load_state_dict_sharded, save_checkpoint
from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.model import GuardrailModel
from tinyguardrail.train import soup

CFG = GuardrailConfig(vocab_size=40, d_model=32, n_heads=4, ffn_dim=64, max_len=32, n_fast_layers=1,
                      n_deep_layers=1, n_detector_feats=3, use_moe=False, head_hidden=32, router_hidden=8,
                      n_prototypes=4, char_channels=8, char_emb_dim=8)  # fmt: skip


def _tokenizer(extra: str = "") -> Tokenizer:
    vocab = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}{extra}": i for i in range(2, 40)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok


def _checkpoint(path, seed: int, cfg: GuardrailConfig = CFG, tok: Tokenizer | None = None):
    torch.manual_seed(seed)
    model = GuardrailModel(cfg)
    return save_checkpoint(path, model, {"train": {"seed": seed}}, tok or _tokenizer(), {"epoch": seed})


def test_uniform_soup_is_the_mean_of_the_ingredients(tmp_path):
    parts = [_checkpoint(tmp_path / f"c{i}", i) for i in range(3)]
    out = soup.make_soup(parts, tmp_path / "soup")
    states = [load_state_dict_sharded(p) for p in parts]
    mixed = load_state_dict_sharded(out)
    moved = 0
    for name, value in mixed.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, sum(s[name] for s in states) / 3, rtol=0, atol=1e-6)
            moved += int(not torch.equal(value, states[0][name]))
        else:
            assert torch.equal(value, states[0][name])  # integer buffers come from the first ingredient
    assert moved > 10
    assert json.loads((out / "checkpoint.json").read_text())["soup"]["checkpoints"] == [str(p) for p in parts]
    load_checkpoint(out)  # loads strictly


def test_weighted_soup_and_bad_weights(tmp_path):
    a, b = _checkpoint(tmp_path / "a", 0), _checkpoint(tmp_path / "b", 1)
    sa, sb = load_state_dict_sharded(a), load_state_dict_sharded(b)
    w = load_state_dict_sharded(soup.make_soup([a, b], tmp_path / "w", [0.25, 0.75]))
    name = "fast.layers.0.q.weight"
    torch.testing.assert_close(w[name], 0.25 * sa[name] + 0.75 * sb[name], rtol=0, atol=1e-6)
    for bad in ([0.5], [0.7, 0.7], [1.5, -0.5]):
        with pytest.raises(ValueError, match="weights"):
            soup.average_states([sa, sb], bad)


def test_ingredients_must_share_architecture_and_vocabulary(tmp_path):
    a = _checkpoint(tmp_path / "a", 0)
    with pytest.raises(ValueError, match="at least two"):
        soup.make_soup([a], tmp_path / "one")
    wider = _checkpoint(tmp_path / "wide", 1, dataclasses.replace(CFG, ffn_dim=128))
    with pytest.raises(ValueError, match="ffn_dim"):
        soup.make_soup([a, wider], tmp_path / "x")
    other = _checkpoint(tmp_path / "other", 1, tok=_tokenizer("x"))
    with pytest.raises(ValueError, match="vocabulary"):
        soup.make_soup([a, other], tmp_path / "y")
    gate = _checkpoint(tmp_path / "gate", 2, dataclasses.replace(CFG, early_exit_gate="attack"))
    assert soup.make_soup([a, gate], tmp_path / "z").is_dir()  # a runtime knob is not architecture


def test_greedy_choice_keeps_an_ingredient_only_if_the_soup_does_not_get_worse():
    # the score of a state is -|w - 1|: ingredients at 1.0, 1.4, 0.7 and 3.0 (its own score ranks it last)
    states = [{"w": torch.tensor([v])} for v in (1.4, 1.0, 0.7, 3.0)]
    own, kept, best, steps = soup.greedy_choice(states, lambda s: -abs(float(s["w"]) - 1.0))
    assert own == pytest.approx([-0.4, 0.0, -0.3, -2.0])
    # starts from 1.0; + 0.7 -> 0.85 (worse), + 1.4 -> 1.2 (worse), + 3.0 -> 2.0 (worse): the best alone
    assert kept == [1] and best == 0.0 and [s["index"] for s in steps] == [2, 0, 3] and not any(s["kept"] for s in steps)
    states = [{"w": torch.tensor([v])} for v in (0.8, 1.2, 1.1)]
    own, kept, best, steps = soup.greedy_choice(states, lambda s: -abs(float(s["w"]) - 1.0))
    assert kept == [2, 0, 1] and best == pytest.approx(-abs((0.8 + 1.2 + 1.1) / 3 - 1.0))


def test_greedy_soup_and_suite_scores_end_to_end(tmp_path):
    """``--greedy`` on a suite file: every ingredient scored, the choice recorded, the soup written and loadable;
    ``--suite`` alone scores the soup with the same scorer (eval.torch_eval.SuiteScorer)."""
    from tinyguardrail.eval import ood

    rows = [ood.SuiteRow(f"w{2 + i} w{3 + i} w{5 + i}", "direct_injection" if i % 2 else "benign", "c", "s", "en",
                         str(i)) for i in range(20)]  # fmt: skip
    ood.write_suites({"ood_dev": rows}, tmp_path / "suites")
    suite = tmp_path / "suites" / "ood_dev.jsonl.gz"
    from tinyguardrail.train.data import detector_names

    cfg = dataclasses.replace(CFG, n_detector_feats=len(detector_names() or ()))  # the real text front end's
    parts = [_checkpoint(tmp_path / f"c{i}", 0, cfg) for i in range(2)]  # the same start: a soup of equals
    assert soup.main([*map(str, parts), "--out", str(tmp_path / "g"), "--suite", str(suite), "--greedy",
                      "--device", "cpu"]) == 0
    report = json.loads((tmp_path / "g" / "soup.json").read_text())
    assert set(report["ingredient_scores"]) == {str(p) for p in parts}
    assert len(report["steps"]) == 1 and report["kept"][0] in report["ingredient_scores"]
    assert 0.0 <= report["soup_score"] <= 1.0
    assert soup.main([*map(str, parts), "--out", str(tmp_path / "u"), "--suite", str(suite), "--score-ingredients",
                      "--device", "cpu"]) == 0
    uniform = json.loads((tmp_path / "u" / "soup.json").read_text())
    assert [r["checkpoint"] for r in uniform["ingredients"]] == [str(p) for p in parts]
    assert {"pint_score", "threshold", "roc_auc"} <= set(uniform["soup"])
    # identical ingredients: the soup is each of them, and scores the same
    assert uniform["soup"]["pint_score"] == pytest.approx(uniform["ingredients"][0]["pint_score"])
    load_checkpoint(tmp_path / "u")


def test_cli_weights_are_scaled_to_sum_to_one(tmp_path):
    a, b = _checkpoint(tmp_path / "a", 0), _checkpoint(tmp_path / "b", 1)
    sa, sb = load_state_dict_sharded(a), load_state_dict_sharded(b)
    assert soup.main([str(a), str(b), "--weights", "1,3", "--out", str(tmp_path / "w")]) == 0
    w = load_state_dict_sharded(tmp_path / "w")
    name = "fast.layers.0.q.weight"
    torch.testing.assert_close(w[name], 0.25 * sa[name] + 0.75 * sb[name], rtol=0, atol=1e-6)
    for bad in ("1", "1,-1", "0,0", "nan,1", "inf,1", "a,b", "1,,3"):
        with pytest.raises(SystemExit, match="weights"):
            soup.main([str(a), str(b), "--weights", bad, "--out", str(tmp_path / "x")])
