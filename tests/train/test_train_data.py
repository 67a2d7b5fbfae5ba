"""Training data: reading, encoding (in-process and in workers), caching, batching, class balancing."""

from __future__ import annotations

import gzip
import itertools
import json

import numpy as np
import pytest
from _tg_train_fixture import make_rows, write_fixture

from tinyguardrail import preprocess
from tinyguardrail.model.tokenizer import train_tokenizer
from tinyguardrail.train import data as D

NF = len(D.detector_names() or ()) or 3  # the real detectors when text.detectors exists, else zero features


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([r["text"] for r in make_rows(40, 0, "train")], 300)


def test_read_split_subset_and_bad_labels(tmp_path):
    write_fixture(tmp_path)
    texts, labels = D.read_labelled_texts(tmp_path / "train.jsonl.gz")
    assert len(texts) == 160 and set(labels.tolist()) == {0, 1, 2, 3}
    sub, sub_y = D.read_labelled_texts(tmp_path / "train.jsonl.gz", max_rows=50, seed=1)
    assert len(sub) == 50 and sub == D.read_labelled_texts(tmp_path / "train.jsonl.gz", max_rows=50, seed=1)[0]
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as f:
        f.write(json.dumps({"text": "x", "label": "spam"}) + "\n")
    with pytest.raises(ValueError, match="spam"):
        D.read_labelled_texts(bad)
    assert preprocess.sanitize("a\ud800b") == "a\ufffdb"


def test_one_sanitize_for_every_front_end():
    """Training (through preprocess), the runtime and the explainer use the same function; an unchanged text is the same object (the
    guard tells a replaced surrogate by identity)."""
    from tinyguardrail import features
    from tinyguardrail.runtime import guard
    from tinyguardrail.server import explain

    assert preprocess.sanitize is features.sanitize is guard.sanitize is explain.sanitize
    text = "caf\u00e9 \U0001f600"
    assert features.sanitize(text) is text and features.sanitize("\udfff") == "\ufffd"


def test_features_match_encode_batch_and_pad_per_batch(tok):
    from tinyguardrail.features import encode_batch

    raw = ["short one", "a much longer text that has quite a few more tokens in it", "mid length text"]
    labels = np.array([0, 1, 2])
    texts, det = D.prepare_texts(raw, NF)
    feats = D.encode_texts(texts, labels, det, tok, 32, 8, 0)
    assert feats.char_table.dtype == np.uint16 and feats.ids.dtype == np.int32
    assert len(feats.char_table) < len(feats.char_idx)  # distinct surfaces are stored once
    ref = encode_batch(tok, texts, 32, 8, D.FrontEndSwitches().detector_fn(NF), 0)
    b = feats.batch([0, 1, 2], pad_id=0)
    for k in ("input_ids", "attention_mask", "char_ids", "detector_feats"):
        np.testing.assert_array_equal(b[k], ref[k])
    assert b["input_ids"].dtype == np.int64 and b["char_ids"].dtype == np.int64
    short = feats.batch([0, 2], pad_id=0)  # dynamic padding: only as wide as the longest row of the batch
    assert short["input_ids"].shape[1] == int(feats.lengths[[0, 2]].max()) < b["input_ids"].shape[1]


def test_detector_scores_come_from_the_raw_or_the_normalized_text(monkeypatch):
    monkeypatch.setattr(D.FrontEndSwitches, "detector_fn", lambda self, n: lambda t: np.full(
        n, len(t) + 100 * self.script_marks, dtype=np.float32))  # fmt: skip
    monkeypatch.setattr(D, "get_normalize", lambda: lambda t: t.replace("\u200b", ""))
    raw = ["ig\u200bnore", "plain"]
    texts, det = D.prepare_texts(raw, 2, D.FrontEndSwitches(detector_input="raw"))
    assert texts == ["ignore", "plain"]
    assert det[:, 0].tolist() == [7.0, 5.0]  # scored before normalization: the zero-width space counts
    _, det_n = D.prepare_texts(raw, 2, D.FrontEndSwitches(detector_input="normalized"))
    assert det_n[:, 0].tolist() == [6.0, 5.0]
    with pytest.raises(ValueError):
        D.FrontEndSwitches(detector_input="views")
    _, det_m = D.prepare_texts(raw, 2, D.FrontEndSwitches(script_marks=True))  # script_marks reaches the detectors
    assert det_m[:, 0].tolist() == [107.0, 105.0]


@pytest.mark.parametrize(("switches", "config", "signature"), [
    (D.FrontEndSwitches(), {"normalize": True, "detector_input": "raw"}, {"normalize": "on"}),
    (D.FrontEndSwitches(normalize=False), {"normalize": False, "detector_input": "raw"}, {"normalize": "off"}),
    (D.FrontEndSwitches(detector_input="normalized"), {"normalize": True, "detector_input": "normalized"},
     {"normalize": "on"}),
    (D.FrontEndSwitches(script_marks=True), {"normalize": True, "detector_input": "raw", "script_marks": True},
     {"normalize": "on", "script_marks": "on"}),
])  # fmt: skip
def test_front_end_switches_record_and_key_as_before(switches, config, signature):
    """``config()`` (a model folder's ``front_end``) and ``signature()`` (cache keys) are what the loose-argument
    ``front_end_config`` / ``front_end_signature`` returned, key order included; the signature's source hashes do not
    depend on the switches."""
    assert list(switches.config().items()) == list(config.items())
    sources = {k: D.FrontEndSwitches().signature()[k] for k in ("text", "features", "detectors")}
    assert sources["detectors"] == ",".join(D.detector_names() or ())
    expected = {"normalize": signature["normalize"], **sources}
    if "script_marks" in signature:
        expected["script_marks"] = signature["script_marks"]
    assert list(switches.signature().items()) == list(expected.items())
    assert D.FrontEndSwitches.from_config(config) == switches


def test_front_end_switches_read_back_only_what_config_writes():
    from tinyguardrail.preprocess import check_front_end

    for n, d, m in itertools.product((True, False), preprocess.DETECTOR_INPUTS, (False, True)):
        switches = D.FrontEndSwitches(n, d, m)
        assert D.FrontEndSwitches.from_config(switches.config()) == switches
    assert D.FrontEndSwitches.from_config(None) == D.FrontEndSwitches()  # folders written before it was recorded
    explicit_off = {"normalize": True, "detector_input": "raw", "script_marks": False}
    assert D.FrontEndSwitches.from_config(explicit_off).config() == preprocess.RUNTIME_FRONT_END
    for bad in ({"normalize": True}, {"normalize": True, "detector_input": "raw", "views": 2},
                {"normalize": True, "detector_input": "raw", "script_marks": "yes"},
                {"normalize": True, "detector_input": "views"}):  # fmt: skip
        with pytest.raises(ValueError):
            D.FrontEndSwitches.from_config(bad)
        with pytest.raises(ValueError, match="front end"):
            check_front_end(bad)


def test_worker_processes_give_the_same_features(tok):
    raw = [r["text"] for r in make_rows(150, 3, "train")]  # 600 texts: 3 chunks
    labels = np.zeros(len(raw), dtype=np.int64)
    t0, d0 = D.prepare_texts(raw, NF, num_workers=0)
    t2, d2 = D.prepare_texts(raw, NF, num_workers=2)
    assert t0 == t2
    np.testing.assert_array_equal(d0, d2)
    a = D.encode_texts(t0, labels, d0, tok, 48, 8, 0, num_workers=0)
    b = D.encode_texts(t0, labels, d0, tok, 48, 8, 0, num_workers=2)
    for k in ("ids", "char_idx", "char_table", "offsets", "det", "labels"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_feature_cache_is_reused_and_keyed(tmp_path, tok, monkeypatch):
    write_fixture(tmp_path / "data")
    path = tmp_path / "data" / "train.jsonl.gz"
    src = D.SplitSource(path, tmp_path / "c", NF)
    shapes = dict(max_len=32, max_chars=8, pad_id=0)
    first = src.features(tok, **shapes)
    assert len(first) == 160
    assert set(src.seconds) == {"text_stage", "encoding", "saving"}  # a cold build times its stages for the log
    # a fresh source with a warm cache reads no text at all
    calls = []
    monkeypatch.setattr(D, "encode_texts", lambda *a, **k: calls.append("encode"))
    monkeypatch.setattr(D, "read_labelled_texts", lambda *a, **k: calls.append("read"))
    again = D.SplitSource(path, tmp_path / "c", NF).features(tok, **shapes)
    assert not calls
    np.testing.assert_array_equal(first.ids, again.ids)
    np.testing.assert_array_equal(first.det, again.det)
    texts, labels, det = D.SplitSource(path, tmp_path / "c", NF).texts()
    assert len(texts) == 160 and det.shape == (160, NF) and not calls  # the text stage is cached too
    with pytest.raises(AttributeError):  # a different max_len is a different key: encode_texts is called again
        src.features(tok, **{**shapes, "max_len": 16})
    assert calls == ["encode"]


def test_make_batches():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 200, size=1000)
    batches = D.make_batches(lengths, 16, np.random.default_rng(1), bucket_batches=20)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))  # every row once
    assert all(len(b) <= 16 for b in batches)

    def padding(bs):
        return sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in bs)

    random_batches = D.make_batches(lengths, 16, np.random.default_rng(1), bucket_batches=1)
    assert padding(batches) < padding(random_batches) / 3
    again = D.make_batches(lengths, 16, np.random.default_rng(1), bucket_batches=20)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))  # seeded
    ev = D.make_batches(lengths, 64, None)
    assert np.array_equal(np.concatenate(ev), np.argsort(lengths, kind="stable"))


def test_class_balancing():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    w = D.class_weights(labels, 4, power=1.0)
    assert w[3] == 0 and w[2] > w[1] > w[0]
    np.testing.assert_allclose(w[labels].mean(), 1.0, rtol=1e-6)
    counts = np.bincount(labels, minlength=4) * D.class_weights(labels, 4, power=1.0)
    np.testing.assert_allclose(counts[:3] / counts[:3].sum(), [1 / 3] * 3, rtol=1e-5)
    sampled = np.concatenate(D.make_batches(np.ones(1000, int), 50, np.random.default_rng(0),
                                            sample_weights=w[labels]))  # fmt: skip
    share = np.bincount(labels[sampled], minlength=3)[:3] / len(sampled)
    assert (share > 0.25).all()  # roughly a third each instead of 90/9/1 %


def test_changed_front_end_invalidates_the_cache_unless_allowed(tmp_path, tok, monkeypatch):
    write_fixture(tmp_path / "data")
    path = tmp_path / "data" / "validation.jsonl.gz"
    shapes = dict(max_len=32, max_chars=8, pad_id=0)
    D.SplitSource(path, tmp_path / "c", NF).features(tok, **shapes)
    real = D.FrontEndSwitches.signature
    monkeypatch.setattr(D.FrontEndSwitches, "signature", lambda self: {**real(self), "text": "edited"})
    stale = D.SplitSource(path, tmp_path / "c", NF)
    stale.features(tok, **shapes, allow_stale_front_end=True)
    assert stale.stale
    calls = []
    monkeypatch.setattr(D, "encode_texts", lambda *a, **k: calls.append(1))
    with pytest.raises(AttributeError):
        D.SplitSource(path, tmp_path / "c", NF).features(tok, **shapes)
    assert calls  # recomputed
