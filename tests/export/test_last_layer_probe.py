"""``scripts/last_layer_probe.py``: the frozen features it reads are the class layers' inputs (the model's own
probabilities come back from them), and its refit lowers the weighted loss it minimises."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from _tg_scripts import load_script  # noqa: E402

from tinyguardrail.data.io import read_labelled_texts  # noqa: E402
from tinyguardrail.eval.torch_eval import EncodedSuite  # noqa: E402
from tinyguardrail.model.checkpoint import checkpoint_front_end, load_checkpoint  # noqa: E402

probe = load_script("last_layer_probe")


def _encode(texts, tok, model, path):
    from tinyguardrail.preprocess import encode_texts

    return encode_texts(texts, tok, model.config, checkpoint_front_end(path))


def _loaded(ckpt):
    """The fixture checkpoint's model, tokenizer, labelled rows and class-layer inputs."""
    from tokenizers import Tokenizer

    path, data = ckpt
    model = load_checkpoint(path).eval()
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    texts, y = read_labelled_texts(data)
    return model, tok, texts, y, probe.head_inputs(model, texts, tok, checkpoint_front_end(path), batch_size=16)


def test_the_heads_inputs_give_back_the_models_probabilities_and_the_refit_lowers_its_loss(ckpt):
    path = ckpt[0]
    model, tok, texts, y, feats = _loaded(ckpt)
    orig = {k: (getattr(model, k).head.cls.weight.detach(), getattr(model, k).head.cls.bias.detach())
            for k in ("fast", "deep")}
    want = EncodedSuite(texts, tok, model.config, checkpoint_front_end(path)).probs(model, torch.device("cpu"))
    np.testing.assert_allclose(probe.probs_of(model, feats, orig, refit_fast=False), want, atol=1e-5)
    np.testing.assert_allclose(probe.probs_of(model, feats, orig), want, atol=1e-5)  # the router run again: same
    enc = {k: torch.from_numpy(v) for k, v in _encode(texts[:1], tok, model, path).items()}
    with torch.no_grad():  # each head's features are its own: its class layer gives back its branch's logits
        o = model(enc["input_ids"], enc["attention_mask"], enc["char_ids"], enc["detector_feats"])
        for branch in ("fast", "deep"):
            got = getattr(model, branch).head.cls(feats[branch][:1])
            np.testing.assert_allclose(got.numpy(), o[f"{branch}_logits"].numpy(), atol=1e-5)
        np.testing.assert_allclose(model.router(feats["pooled"][:1], o["fast_logits"]).numpy(),
                                   o["router_logits"].numpy(), atol=1e-5)

    yt, w = torch.from_numpy(y), torch.ones(len(y))
    layer = model.deep.head.cls

    def loss(W, b):
        return float(torch.nn.functional.cross_entropy(feats["deep"] @ W.T + b, yt))

    W, b = probe.fit_layer(feats["deep"], yt, w, 0.0, layer, steps=50)
    assert loss(W, b) < loss(layer.weight.detach(), layer.bias.detach())
    assert torch.equal(layer.weight, orig["deep"][0])  # the model's own layer is left as it was


def test_crossfit_folds_hold_out_each_source_and_its_languages():
    from tinyguardrail.eval.ood import SuiteRow

    def row(source, lang):
        return SuiteRow("t", "benign", "c", source, lang, "o")

    rows = [row("xs", "it"), row("xs", "en"), row("tat", "it"), row("tat", "ga"), row("owasp", "en"),
            row("owasp", "und")]
    folds = {rows[held[0]].source: (set(held), set(fit)) for held, fit in probe.crossfit_folds(rows)}
    assert folds["xs"] == ({0, 1}, {3, 4, 5})  # no other Italian row may teach the fit Italian; English stays
    assert folds["tat"] == ({2, 3}, {1, 4, 5})
    assert folds["owasp"] == ({4, 5}, {0, 1, 2, 3})  # English and undetermined do not hold anything out
    for held, fit in folds.values():
        assert not held & fit
    loose = {rows[held[0]].source: set(fit) for held, fit in probe.crossfit_folds(rows, strict=False)}
    assert loose["xs"] == {2, 3, 4, 5}  # the diagnostic keeps the other sources' Italian rows


def test_crossfit_without_dev_weight_is_the_training_refit_and_dev_rows_change_it(ckpt):
    from tinyguardrail.eval.calibrate import operating_point
    from tinyguardrail.eval.ood import SuiteRow
    from tinyguardrail.labels import LABELS

    model, _, texts, y, feats = _loaded(ckpt)
    groups = [f"g{i % 3}|{int(v) > 0}" for i, v in enumerate(y)]
    rows = [SuiteRow(t, LABELS[int(v)], "c", f"s{i % 4}", ("it", "en")[i % 2], "o")
            for i, (t, v) in enumerate(zip(texts, y, strict=True))]
    w = torch.tensor([1.0 / groups.count(g) for g in groups])
    layer = probe.fit_layer(feats["deep"], torch.from_numpy(y), w, 1e-3, model.deep.head.cls)
    fast = (model.fast.head.cls.weight.detach(), model.fast.head.cls.bias.detach())
    plain = operating_point(rows, 1.0 - probe.probs_of(model, feats, {"deep": layer, "fast": fast}, False)[:, 0], 0.03)
    zero = probe.crossfit(model, feats, y, groups, feats, rows, 0.0, 1e-3, 0.03)
    assert zero["pint_score"] == pytest.approx(plain["pint_score"]) and zero["cells"] == plain["cells"]
    heavy = probe.crossfit(model, feats, y, groups, feats, rows, 5.0, 1e-3, 0.03)
    assert heavy["threshold"] != pytest.approx(zero["threshold"])  # the dev rows enter the fit
