"""End to end on a tiny fixture: train, best checkpoint, exact reload, resume, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from _tg_train_fixture import write_fixture

from tinyguardrail.model.tokenizer import load_tokenizer
from tinyguardrail.train import data as D
from tinyguardrail.train.checkpoint import load_checkpoint, load_state_dict_sharded, save_checkpoint
from tinyguardrail.train.config import TrainConfig, load_run_config
from tinyguardrail.train.loop import mask_spec, mask_tokens, setup, validate

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "tiny.json"
CHECKPOINT_FILES = {"checkpoint.json", "config.json", "model.safetensors.index.json", "tokenizer.json",
                    "train_config.json"}  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_fixture(tmp_path_factory.mktemp("data"))


def _tiny(data_dir: Path, out: Path, **train) -> tuple[dict, TrainConfig]:
    model, cfg = load_run_config(TINY)
    d = {**cfg.to_dict(), "data_dir": str(data_dir), "out_dir": str(out), "progress": False, **train}
    return model, TrainConfig.from_dict(d)


def test_tiny_config_trains_end_to_end(data_dir, tmp_path):
    out = tmp_path / "run"
    summary = setup(*_tiny(data_dir, out))
    hist = summary["history"]
    assert [h["epoch"] for h in hist] == [0, 1, 2]
    assert hist[-1]["train"]["total"] < hist[0]["train"]["total"]  # loss decreases
    assert {"focal_fast", "focal_deep", "moe_balance", "router", "consistency", "severity"} <= set(hist[0]["train"])
    assert "fgsm" not in hist[0]["train"] and "fgsm" in hist[1]["train"]  # FGSM from epoch 1
    assert hist[-1]["val"]["balanced_accuracy"] > 0.5
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [0, 1, 2]
    assert {"accuracy", "balanced_accuracy", "per_class_recall", "early_exit_share"} <= set(lines[0]["val"])
    best = out / "best"
    files = {p.name for p in best.iterdir()}
    shards = [p for p in best.iterdir() if p.name.startswith("model-") and p.suffix == ".safetensors"]
    assert files == CHECKPOINT_FILES | {p.name for p in shards}
    assert shards and all(p.stat().st_size <= 16 * 2**20 for p in shards)
    assert "truncation" not in (best / "tokenizer.json").read_text().replace('"truncation": null', "")
    run_cfg = json.loads((best / "train_config.json").read_text())
    assert run_cfg["model"]["vocab_size"] == load_tokenizer(best).get_vocab_size()  # "auto" stored resolved

    # the reloaded best model reproduces its recorded validation metrics, and re-saving is lossless
    model = load_checkpoint(best)
    tok = load_tokenizer(best)
    raw, labels = D.read_labelled_texts(data_dir / "validation.jsonl.gz")
    c = model.config
    texts, det = D.prepare_texts(raw, c.n_detector_feats)  # the same text stage, built independently
    feats = D.encode_texts(texts, labels, det, tok, c.max_len, c.max_chars, c.pad_id)
    val = validate(model, feats, torch.device("cpu"))
    recorded = json.loads((best / "checkpoint.json").read_text())["metrics"]
    assert val["accuracy"] == recorded["accuracy"]
    assert val["balanced_accuracy"] == summary["best_metric"]
    assert summary["best_metric_name"] == "validation_balanced_accuracy"
    again = load_checkpoint(save_checkpoint(tmp_path / "copy", model))
    b = feats.batch(list(range(8)), c.pad_id)
    args = [torch.from_numpy(b[k]) for k in ("input_ids", "attention_mask", "char_ids", "detector_feats")]
    with torch.no_grad():
        o1, o2 = model(*args), again(*args)
    assert all(torch.equal(o1[k], o2[k]) for k in o1)


def test_checkpoint_is_chosen_on_the_selection_suite(data_dir, tmp_path):
    """With ``select_suite`` each validated epoch is also scored on that suite at its ``select_fpr`` operating point,
    and best/ is the epoch with the best suite score (the OOD-dev suite in the shipped recipe)."""
    from tinyguardrail.eval.ood import SuiteRow, write_suites

    raw, labels = D.read_labelled_texts(data_dir / "validation.jsonl.gz")
    names = ["benign", "direct_injection", "jailbreak", "obfuscation"]
    rows = [SuiteRow(t, names[y], f"cell{i % 2}", "fixture", "en", str(i)) for i, (t, y) in enumerate(zip(raw, labels, strict=True))]
    write_suites({"ood_dev": rows}, tmp_path / "suites")
    summary = setup(*_tiny(data_dir, tmp_path / "sel", select_suite=str(tmp_path / "suites" / "ood_dev.jsonl.gz"),
                           select_fpr=0.1, fgsm_epsilon=0.0))
    hist = summary["history"]
    assert summary["best_metric_name"] == "select"
    assert all(h["select"]["fpr_target"] == 0.1 and h["select"]["benign_fpr"] <= 0.1 for h in hist)
    best = max(range(len(hist)), key=lambda i: (hist[i]["select"]["pint_score"], -i))
    assert summary["best_epoch"] == hist[best]["epoch"]
    assert summary["best_metric"] == hist[best]["select"]["pint_score"]


def test_resume_continues_from_the_saved_epoch(data_dir, tmp_path):
    full = setup(*_tiny(data_dir, tmp_path / "full"))
    first = setup(*_tiny(data_dir, tmp_path / "split", run_epochs=2))
    assert [h["epoch"] for h in first["history"]] == [0, 1]
    assert json.loads((tmp_path / "split" / "last" / "trainer_state.json").read_text())["counters"]["epoch"] == 2
    with pytest.MonkeyPatch.context() as mp:  # resuming reuses the cached features: nothing is re-encoded
        mp.setattr(D, "encode_texts", lambda *a, **k: pytest.fail("features were re-encoded on resume"))
        rest = setup(*_tiny(data_dir, tmp_path / "split"), resume=True)
    assert [h["epoch"] for h in rest["history"]] == [2]
    assert rest["steps"] == full["steps"]
    lines = [json.loads(x) for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [0, 1, 2]
    # same seed, same data, restored optimizer + RNG: the resumed run ends exactly where the straight one does
    a = load_state_dict_sharded(tmp_path / "full" / "last")
    b = load_state_dict_sharded(tmp_path / "split" / "last")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(FileNotFoundError):
        setup(*_tiny(data_dir, tmp_path / "nothing"), resume=True)


def test_init_checkpoint_continues_from_a_trained_model(data_dir, tmp_path):
    """Continued training starts from the checkpoint's weights and tokenizer (a data addition without a full run)."""
    setup(*_tiny(data_dir, tmp_path / "base", epochs=1))
    base = tmp_path / "base" / "last"
    model, cfg = _tiny(data_dir, tmp_path / "cont", epochs=1, lr=1e-12, warmup_ratio=0.0, init_checkpoint=str(base))
    setup(model, cfg)
    a, b = load_state_dict_sharded(base), load_state_dict_sharded(tmp_path / "cont" / "last")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)  # lr ~0: where it started
    assert (tmp_path / "cont" / "last" / "tokenizer.json").read_text() == (base / "tokenizer.json").read_text()
    with pytest.raises(FileNotFoundError):
        setup(*_tiny(data_dir, tmp_path / "none", epochs=1, init_checkpoint=str(tmp_path / "missing")))



def test_runs_sharing_an_init_seed_start_from_the_same_weights(data_dir, tmp_path):
    """``train.init_seed`` fixes the initialisation apart from ``seed`` (which then moves only the data order and the
    dropout): the starting point model soups need. lr ~0 keeps each run where it started."""
    def start(name: str, **kw) -> dict:
        setup(*_tiny(data_dir, tmp_path / name, epochs=1, lr=1e-12, warmup_ratio=0.0, **kw))
        return load_state_dict_sharded(tmp_path / name / "last")

    a, b = start("a", seed=1, init_seed=7), start("b", seed=2, init_seed=7)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    c, d = start("c", seed=1), start("d", seed=2)
    assert not all(torch.allclose(c[k], d[k], atol=1e-6) for k in c)


def test_frozen_parameters_keep_their_initial_values(data_dir, tmp_path):
    """``train.freeze`` keeps the named parameters where they started while the rest trains; a typo is an error."""
    setup(*_tiny(data_dir, tmp_path / "base", epochs=1))
    base = tmp_path / "base" / "last"
    model, cfg = _tiny(data_dir, tmp_path / "frozen", epochs=1, init_checkpoint=str(base), freeze=["embed.word"])
    setup(model, cfg)
    a, b = load_state_dict_sharded(base), load_state_dict_sharded(tmp_path / "frozen" / "last")
    assert torch.equal(a["embed.word.weight"], b["embed.word.weight"])
    assert not all(torch.equal(a[k], b[k]) for k in a)  # everything else trained
    with pytest.raises(ValueError, match="embed.wrod"):
        setup(*_tiny(data_dir, tmp_path / "typo", epochs=1, freeze=["embed.wrod"]))

@pytest.mark.parametrize("overrides", [["model.use_moe=false", "model.use_router=false"],
                                       ["model.use_fast_branch=false", "train.balance=\"sampler\""],
                                       ["model.use_deep_branch=false", "train.fgsm_epsilon=0"]])  # fmt: skip
def test_cli_train_with_ablation_overrides(data_dir, tmp_path, capsys, overrides):
    from tinyguardrail.cli import main

    argv = ["train", "--config", str(TINY), "--data-dir", str(data_dir), "--out", str(tmp_path / "cli"),
            "--epochs", "1", "--max-train-rows", "60", "--no-progress"]  # fmt: skip
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_done"] == 1
    saved = json.loads((tmp_path / "cli" / "best" / "train_config.json").read_text())
    key, value = overrides[0].split("=")
    assert saved["model"][key.split(".")[1]] == json.loads(value)
    assert saved["train"]["max_train_rows"] == 60


def test_prepare_only_builds_the_cache(data_dir, tmp_path, capsys):
    res = setup(*_tiny(data_dir, tmp_path / "prep", progress=True), prepare_only=True)
    assert res["prepared"] and res["train_rows"] == 160
    cache = list((tmp_path / "prep" / "cache").glob("*-features-*.npz"))
    assert len(cache) == 2
    assert not (tmp_path / "prep" / "best").exists()
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("[train] data:"))
    for stage in ("train text stage", "train encoding", "train saving", "validation encoding"):  # a cold build's times
        assert re.search(stage + r" \d+\.\ds", line), (stage, line)
    setup(*_tiny(data_dir, tmp_path / "prep", progress=True), prepare_only=True)  # warm: nothing encoded or saved
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("[train] data:"))
    assert " encoding " not in line and " saving " not in line, line


def test_cli_help_lists_train_options(capsys):
    from tinyguardrail.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "fgsm_epsilon" in out and "--resume" in out and "Seed of torch" in out
    assert "xling_sources (default ['xsid'" in out and "MISSING" not in out  # list defaults come from their factory


def test_mask_tokens_masks_text_tokens_only():
    from tokenizers import Tokenizer, models

    t = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 5, "b": 6},
                                   unk_token="[UNK]"))  # fmt: skip
    t.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    mask_id, special = mask_spec(t)
    assert mask_id == 4 and special == [0, 1, 2, 3, 4]
    ids = torch.tensor([[2] + [5, 6] * 200 + [3, 0, 0]])
    att = (ids != 0).long()
    chars = torch.ones(1, ids.shape[1], 4, dtype=torch.long)
    batch = {"input_ids": ids, "attention_mask": att, "char_ids": chars, "labels": torch.zeros(1, dtype=torch.long)}
    out = mask_tokens(batch, 0.25, mask_id, special, torch.Generator().manual_seed(0))
    dropped = out["input_ids"] != ids
    assert torch.equal(out["input_ids"][dropped], torch.full((int(dropped.sum()),), 4))
    assert 60 < int(dropped.sum()) < 140  # about a quarter of the 400 text tokens
    assert not dropped[0, 0] and not dropped[0, -4:].any()  # [CLS], [SEP] and padding stay
    assert (out["char_ids"][dropped] == 0).all() and (out["char_ids"][~dropped] == 1).all()
    assert torch.equal(batch["input_ids"], ids)  # the batch itself is not changed
    again = mask_tokens(batch, 0.25, mask_id, special, torch.Generator().manual_seed(0))
    assert torch.equal(again["input_ids"], out["input_ids"])  # reproducible from the generator's seed
    with pytest.raises(ValueError, match="mask token"):
        mask_spec(Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]")))


def test_token_masking_trains(data_dir, tmp_path, monkeypatch):
    import tinyguardrail.train.loop as L

    calls = []
    real = L.mask_tokens

    def counted(batch, prob, *args, **kwargs):
        calls.append(prob)
        return real(batch, prob, *args, **kwargs)

    monkeypatch.setattr(L, "mask_tokens", counted)
    summary = setup(*_tiny(data_dir, tmp_path / "masked", epochs=1, token_mask_prob=0.15))
    assert summary["epochs_done"] == 1 and summary["history"][0]["train"]["total"] > 0
    assert len(calls) == summary["steps"] and set(calls) == {0.15}  # every training step, never validation
    calls.clear()
    setup(*_tiny(data_dir, tmp_path / "plain", epochs=1))
    assert calls == []  # off by default
    with pytest.raises(ValueError, match="token_mask_prob"):
        TrainConfig(token_mask_prob=1.0)


def test_bad_configs_fail_with_the_field_name(tmp_path):
    with pytest.raises(ValueError, match="train.epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="unknown train config keys"):
        TrainConfig.from_dict({"epoch": 3})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"modle": {}}))
    with pytest.raises(ValueError):
        load_run_config(bad)


def test_resume_of_a_pretrained_run_rebuilds_the_same_optimizer_groups(data_dir, tmp_path, monkeypatch):
    """Pretrained and new parameters sit in different optimizer groups; a resumed session must rebuild them."""
    from types import SimpleNamespace

    from tinyguardrail.model.init import LAYER_KEYS
    from tinyguardrail.model.tokenizer import train_tokenizer
    from tinyguardrail.train import loop

    model, cfg = _tiny(data_dir, tmp_path / "pre", run_epochs=1)
    model.update(init="pretrained", pretrained_name="fake", moe_ffn_dim=64)
    d, f = model["d_model"], model["ffn_dim"]

    def fake_pretrained(model_dict, train_cfg, train_src):
        tok = train_tokenizer(train_src.texts()[0], 300)
        g = torch.Generator().manual_seed(0)
        shapes = {"q_w": (d, d), "k_w": (d, d), "v_w": (d, d), "o_w": (d, d), "ffn_in_w": (f, d), "ffn_in_b": (f,),
                  "ffn_out_w": (d, f)}  # fmt: skip
        layers = [{k: torch.randn(*shapes.get(k, (d,)), generator=g) * 0.1 for k in LAYER_KEYS} for _ in range(3)]
        v = tok.get_vocab_size()
        return SimpleNamespace(tokenizer=tok, word_embeddings=torch.randn(v, d, generator=g),
                               position_embeddings=torch.randn(128, d, generator=g), token_type_embedding=torch.zeros(d),
                               emb_ln_weight=torch.ones(d), emb_ln_bias=torch.zeros(d), layers=layers,
                               config={"hidden": d, "heads": model["n_heads"]}, pad_id=0)  # fmt: skip

    monkeypatch.setattr(loop, "_load_pretrained", fake_pretrained)
    setup(model, cfg)
    groups = json.loads((tmp_path / "pre" / "last" / "trainer_state.json").read_text())["param_groups"]
    assert len(groups) == 4  # {pretrained, new} x {decay, no decay}
    cfg2 = TrainConfig.from_dict({**cfg.to_dict(), "run_epochs": None})
    rest = setup(model, cfg2, resume=True)
    assert [h["epoch"] for h in rest["history"]] == [1, 2]


def test_cli_flags_come_from_train_config_without_torch():
    """Every shortcut flag is a TrainConfig field and carries its docstring; building the parser imports no torch."""
    import subprocess
    import sys

    from tinyguardrail.train.cli_train import FLAGS, train_field_docs

    docs = train_field_docs()
    assert set(FLAGS.values()) <= set(docs) and all(docs[name] for name in FLAGS.values())
    code = ("import sys\nfrom tinyguardrail.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n"
            "    pass\nprint('torch' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--max-train-rows" in out and "Seeded random subset" in out
    assert out.strip().splitlines()[-1] == "False"


def test_a_fresh_run_in_a_used_folder_starts_a_new_metric_history(data_dir, tmp_path):
    out = tmp_path / "again"
    setup(*_tiny(data_dir, out, epochs=1))
    setup(*_tiny(data_dir, out, epochs=1, seed=7))  # not a resume: best/ is the second run's, so is the history
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [0]
    best = json.loads((out / "best" / "checkpoint.json").read_text())
    assert best["metrics"]["balanced_accuracy"] == pytest.approx(lines[0]["val"]["balanced_accuracy"])
