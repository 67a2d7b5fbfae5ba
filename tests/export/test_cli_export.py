"""``tinyguardrail export`` end to end on a tiny real GuardrailModel checkpoint (seconds, offline)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyguardrail.cli import main
from tinyguardrail.export.quantize import VARIANTS
from tinyguardrail.labels import LABELS


def test_export_cli_writes_a_runtime_model_dir(ckpt, tmp_path):
    ckpt_dir, data = ckpt
    out = tmp_path / "models" / "tiny"
    argv = ["export", "--checkpoint", str(ckpt_dir), "--out", str(out), "--calib", str(data)]
    rc = main(argv + ["--calib-size", "16", "--eval-size", "32", "--quant", "int8-dynamic", "--keep-fp32"])
    assert rc == 0
    names = {p.name for p in out.iterdir()}
    assert {"fast.onnx", "char.onnx", "deep.onnx", "tokenizer.json", "config.json", "export_report.json"} <= names
    assert {"fast.fp32.onnx", "deep.fp32.onnx"} <= names

    from tinyguardrail.hashing import file_sha256 as _sha256

    config = json.loads((out / "config.json").read_text())
    assert config["format_version"] == 1 and config["quantization"] == "int8-dynamic"
    assert config["labels"] == list(LABELS) and config["name"] == "tiny"
    assert config["files"] == {"fast": "fast.onnx", "char": "char.onnx", "deep": "deep.onnx",
                               "tokenizer": "tokenizer.json"}
    for f, digest in config["sha256"].items():
        assert _sha256(out / f) == digest
    assert len(config["detector_names"]) == config["model"]["n_detector_feats"]
    assert config["front_end"] == {"normalize": True, "detector_input": "raw"}  # no train_config.json: defaults
    assert config["early_exit_gate"] == "label"  # the checkpoint's (older checkpoints: the label gate)

    report = json.loads((out / "export_report.json").read_text())
    assert report["chosen"] == "int8-dynamic"
    rows = {r["variant"]: r for r in report["variants"]}
    assert set(rows) == set(VARIANTS)
    assert rows["fp32"]["label_agreement"] == 1.0 and "accuracy" in rows["fp32"]
    assert report["data"]["calibration_rows"] == 16 and report["data"]["evaluation_rows"] == 32

    # the runtime accepts the directory: config + both graphs with the expected inputs and outputs
    from tinyguardrail.artifact import DEEP_INPUTS, FAST_INPUTS, FAST_INPUTS_SPLIT, ModelConfig, check_io

    mc = ModelConfig.read(out)
    assert mc.max_len == 32
    import onnxruntime as ort

    from tinyguardrail.export.onnx import run_fast

    def session(name):
        return ort.InferenceSession(str(out / name), providers=["CPUExecutionProvider"])

    fast, char, deep, fast32 = session("fast.onnx"), session("char.onnx"), session("deep.onnx"), session("fast.fp32.onnx")
    outputs = ("fast_logits", "fast_severity", "router_logits", "hidden")
    check_io(fast, FAST_INPUTS_SPLIT, outputs, out / "fast.onnx")  # the character CNN is in char.onnx
    check_io(char, ("char_ids",), ("char_vecs",), out / "char.onnx")
    check_io(fast32, FAST_INPUTS, outputs, out / "fast.fp32.onnx")  # the fp32 copy keeps it inside
    check_io(deep, DEEP_INPUTS, ("deep_logits", "severity"), out / "deep.onnx")
    chars = np.zeros((2, 4, 16), dtype=np.int64)
    chars[:, 1:3, :3] = [[5, 6, 7], [8, 9, 0]]
    feeds = {
        "input_ids": np.array([[2, 5, 6, 3], [2, 6, 5, 3]], dtype=np.int64),
        "attention_mask": np.ones((2, 4), dtype=np.int64),
        "char_ids": chars,
        "detector_feats": np.zeros((2, config["model"]["n_detector_feats"]), dtype=np.float32),
    }
    split = run_fast(fast, feeds, char)
    assert split["fast_logits"].shape == (2, 4) and split["hidden"].shape == (2, 4, 32)
    whole = run_fast(fast32, feeds)  # same model in fp32 with the CNN inside: the split INT8 graph is close to it
    assert np.abs(split["hidden"] - whole["hidden"]).max() < 0.5


def test_export_cli_default_variant_is_batch_invariant(ckpt, tmp_path):
    """The default variant (int8-rowwise): the exported model gives a text the same scores alone and inside
    shuffled batches, through the whole runtime (windows, views, character-vector cache)."""
    ckpt_dir, data = ckpt
    out = tmp_path / "rowwise"
    argv = ["export", "--checkpoint", str(ckpt_dir), "--out", str(out), "--calib", str(data)]
    assert main(argv + ["--calib-size", "16", "--eval-size", "32", "--variants", "fp32,int8-dynamic"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["quantization"] == "int8-rowwise"
    rows = {r["variant"]: r for r in json.loads((out / "export_report.json").read_text())["variants"]}
    assert set(rows) == {"fp32", "int8-dynamic", "int8-rowwise"}
    assert rows["int8-rowwise"]["batch_max_prob_diff"] <= 1e-4 and rows["int8-rowwise"]["batch_label_flips"] == 0

    from tinyguardrail.runtime.guard import Guard
    from tinyguardrail.runtime.invariance import batch_invariance, probe_texts

    try:
        guard = Guard.load(out, threads=1)
    except ImportError:
        pytest.skip("tinyguardrail.text not available")
    r = batch_invariance(guard, probe_texts(40, seed=2), batch_size=8, seed=0, rounds=2)
    assert r["max_abs_diff"] <= 1e-4 and r["label_flips"] == 0, r


def test_export_records_the_checkpoints_front_end_and_the_runtime_refuses_another(ckpt, tmp_path):
    """A run trained with other front-end switches exports them into config.json; Guard.load then refuses it."""
    import shutil

    from tinyguardrail.runtime.guard import Guard

    ckpt_dir, _ = ckpt
    other = tmp_path / "ckpt"
    shutil.copytree(ckpt_dir, other)
    (other / "train_config.json").write_text(json.dumps({"train": {"normalize": True, "detector_input": "normalized"}}))
    out = tmp_path / "m"
    assert main(["export", "--checkpoint", str(other), "--out", str(out), "--quant", "int8-dynamic"]) == 0
    assert json.loads((out / "config.json").read_text())["front_end"] == {"normalize": True,
                                                                          "detector_input": "normalized"}
    with pytest.raises(ValueError, match="front end"):
        Guard.load(out, threads=1)


def test_export_cli_early_exit_gate(ckpt, tmp_path):
    """--early-exit-gate attack is written into config.json (the runtime then uses it) and into the model's config
    the variants were measured with."""
    from tinyguardrail.runtime.guard import Guard

    ckpt_dir, data = ckpt
    out = tmp_path / "gate"
    argv = ["export", "--checkpoint", str(ckpt_dir), "--out", str(out), "--calib", str(data), "--calib-size", "8",
            "--eval-size", "16", "--quant", "int8-dynamic", "--variants", "fp32", "--early-exit-gate", "attack"]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["early_exit_gate"] == "attack" and config["model"]["early_exit_gate"] == "attack"
    try:
        assert Guard.load(out, threads=1).info()["early_exit_gate"] == "attack"
    except ImportError:
        pytest.skip("tinyguardrail.text not available")


def test_export_cli_errors(ckpt, tmp_path, capsys):
    ckpt_dir, _ = ckpt
    for quant in ("int8-static", "int8-static-nomask"):
        rc = main(["export", "--checkpoint", str(ckpt_dir), "--out", str(tmp_path / "m"), "--quant", quant])
        assert rc == 2 and "needs --calib" in capsys.readouterr().err
    rc = main(["export", "--checkpoint", str(tmp_path / "missing"), "--out", str(tmp_path / "m")])
    assert rc == 2


def test_checkpoint_front_end_reads_the_switches_it_was_trained_with(tmp_path):
    from tinyguardrail.model.checkpoint import checkpoint_front_end
    from tinyguardrail.preprocess import FrontEndSwitches, check_front_end

    assert checkpoint_front_end(tmp_path) == FrontEndSwitches()  # no train_config.json: the defaults
    (tmp_path / "train_config.json").write_text(json.dumps({"train": {"script_marks": True}}))
    recorded = checkpoint_front_end(tmp_path).config()
    assert recorded == {"normalize": True, "detector_input": "raw", "script_marks": True}
    check_front_end(recorded)  # the runtime serves it
    (tmp_path / "train_config.json").write_text(json.dumps({"train": {"script_marks": False}}))
    assert "script_marks" not in checkpoint_front_end(tmp_path).config()  # off: the entry reads as before the switch
    (tmp_path / "train_config.json").write_text(json.dumps({"train": {"lr": 3e-5, "normalize": False}}))
    assert checkpoint_front_end(tmp_path) == FrontEndSwitches(normalize=False)  # other train keys are not switches
