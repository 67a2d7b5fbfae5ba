"""``tinyguardrail recover``: an exported model folder back to a checkpoint that trains on (tiny model, offline)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyguardrail.cli import main
from tinyguardrail.export.recover import module_path, recover_checkpoint, recover_state
from tinyguardrail.model.checkpoint import checkpoint_front_end, load_checkpoint


def test_module_path_reads_the_exporters_node_scopes():
    assert module_path("/fast/layers.0/q/MatMul") == "fast.layers.0.q"
    assert module_path("/deep/layers.1/ffn/ffn/fc_in/MatMul") == "deep.layers.1.ffn.ffn.fc_in"
    assert module_path("/router/mlp/mlp.0/Gemm_MatMul") == "router.mlp.0"
    assert module_path("MatMul") == ""


@pytest.fixture(scope="module")
def exported(ckpt, tmp_path_factory):
    ckpt_dir, data = ckpt
    out = tmp_path_factory.mktemp("exported") / "tiny"
    rc = main(["export", "--checkpoint", str(ckpt_dir), "--out", str(out), "--calib", str(data),
               "--calib-size", "16", "--eval-size", "16"])  # fmt: skip
    assert rc == 0 and json.loads((out / "config.json").read_text())["quantization"] == "int8-rowwise"
    return ckpt_dir, out


def test_recover_gives_every_parameter_within_its_quantization_step(exported):
    ckpt_dir, model_dir = exported
    original = load_checkpoint(ckpt_dir).state_dict()
    model, source = recover_state(model_dir)
    recovered = model.state_dict()
    assert set(recovered) == set(original) == set(source)
    for name, ref in original.items():
        ref, got = ref.float().numpy(), recovered[name].float().numpy()
        assert got.shape == ref.shape, name
        if name == "fast.bank.prototypes":  # stored normalized: the bank's forward normalizes them anyway
            ref = ref / np.linalg.norm(ref, axis=-1, keepdims=True)
        if "(uint8" in source[name]:  # one scale for the whole table
            step = (ref.max() - ref.min()) / 255
        elif ref.ndim == 2 and "char_cnn" not in name and name != "embed.char_cnn.char_emb.weight":
            step = np.abs(ref).max(axis=1, keepdims=True) / 127  # int8 per output channel
        else:
            step = 1e-6  # fp32: biases, LayerNorms, the character CNN
        assert np.all(np.abs(got - ref) <= step * 0.5 + 1e-6), name


def test_recovered_checkpoint_loads_strictly_and_keeps_the_front_end(exported, tmp_path):
    _, model_dir = exported
    out = recover_checkpoint(model_dir, tmp_path / "rec")
    model = load_checkpoint(out)
    assert sum(p.numel() for p in model.parameters()) > 0
    info = json.loads((out / "checkpoint.json").read_text())
    assert info["recovered_from"]["quantization"] == "int8-rowwise"
    assert set(info["recovered_from"]["sha256"]) >= {"fast.onnx", "deep.onnx", "tokenizer.json"}
    front = json.loads((model_dir / "config.json").read_text())["front_end"]
    assert checkpoint_front_end(out).config() == front
    assert (out / "tokenizer.json").read_bytes() == (model_dir / "tokenizer.json").read_bytes()


def test_recover_cli_errors_clearly(exported, tmp_path, capsys):
    _, model_dir = exported
    assert main(["recover", "--model", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 1
    assert "tinyguardrail recover:" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in model_dir.iterdir():
        if f.name != "deep.onnx":
            (broken / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((broken / "config.json").read_text())
    cfg["files"].pop("deep")
    (broken / "config.json").write_text(json.dumps(cfg))
    assert main(["recover", "--model", str(broken), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "could not be recovered" in err and "deep." in err
    assert not (tmp_path / "o").exists()
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    for f in model_dir.iterdir():
        (garbage / f.name).write_bytes(f.read_bytes())
    (garbage / "deep.onnx").write_bytes(b"\x00\xff not a protobuf" * 64)
    assert main(["recover", "--model", str(garbage), "--out", str(tmp_path / "o")]) == 1
    assert "not a readable ONNX model" in capsys.readouterr().err


def test_recover_reads_onnx_runtime_dynamic_quantization(ckpt, tmp_path):
    # int8-dynamic graphs keep their weights as MatMulInteger inputs (int8, zero point, and a scale that only
    # appears inside the activation x weight scale product): every Linear must still come back, within one step.
    ckpt_dir, data = ckpt
    model_dir = tmp_path / "dyn"
    rc = main(["export", "--checkpoint", str(ckpt_dir), "--out", str(model_dir), "--calib", str(data),
               "--quant", "int8-dynamic", "--calib-size", "16", "--eval-size", "16"])  # fmt: skip
    assert rc == 0 and json.loads((model_dir / "config.json").read_text())["quantization"] == "int8-dynamic"
    original = load_checkpoint(ckpt_dir).state_dict()
    model, source = recover_state(model_dir)
    recovered = model.state_dict()
    assert set(recovered) == set(original) == set(source)
    linear = [n for n in original if n.startswith(("fast.layers.", "deep.layers.")) and original[n].ndim == 2]
    assert linear
    for name in linear:
        ref, got = original[name].float().numpy(), recovered[name].float().numpy()
        step = (np.abs(ref).max(axis=1, keepdims=True) * 2) / 254  # int8 over the row's range, per output channel
        assert np.all(np.abs(got - ref) <= step + 1e-6), name
