"""Checkpoints: sharded safetensors + JSON, no pickle anywhere.

A checkpoint directory::

    model-00001-of-0000N.safetensors ...   weights, every file <= 16 MiB (tensors larger than a shard are split
                                           along dim 0 into row blocks ``name@part000``, ``name@part001``, ...)
    model.safetensors.index.json           {"metadata": {format, version, total_size, total_parameters},
                                            "weight_map": {stored key: file}, "split_tensors": {name: [keys]},
                                            "files": {file: sha256}}
    config.json                            GuardrailConfig (rebuilds the module tree)
    train_config.json                      the resolved run config ({"model": ..., "train": ...})
    tokenizer.json                         the tokenizer the model was trained with
    checkpoint.json                        {format, version, epoch, step, metrics}

The index is HF-style (``weight_map``) plus ``split_tensors``, which HF loaders do not know: load with
``load_checkpoint`` / ``load_state_dict_sharded``. A resumable "last" checkpoint also holds
``trainer_state.safetensors`` (optimizer moments, RNG states) + ``trainer_state.json`` (step counters, optimizer
hyper-parameters, Python/NumPy RNG state), written and read by ``train/checkpoint.py``.

This module is the model's side of the format (export, evaluation and parity read checkpoints through it, or
through ``GuardrailModel.from_checkpoint``, without importing ``train/``).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from tinyguardrail.hashing import file_sha256
from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.model import GuardrailModel
from tinyguardrail.preprocess import FrontEndSwitches

CHECKPOINT_FORMAT = "tinyguardrail-checkpoint"
CHECKPOINT_VERSION = 1
MAX_SHARD_BYTES = 16 * 2**20
INDEX_NAME = "model.safetensors.index.json"
_HEADER_MARGIN = 64 * 1024  # room for the safetensors JSON header inside the shard budget
_PART = "@part"




def _pieces(state: dict[str, torch.Tensor], budget: int) -> tuple[list[tuple[str, torch.Tensor]], dict[str, list[str]]]:
    """Flatten a state dict into (stored key, tensor) pieces no larger than ``budget`` bytes."""
    pieces: list[tuple[str, torch.Tensor]] = []
    split: dict[str, list[str]] = {}
    for name, t in state.items():
        if _PART in name:
            raise ValueError(f"parameter name {name!r} contains the reserved marker {_PART!r}")
        t = t.detach().cpu().contiguous()
        nbytes = t.numel() * t.element_size()
        if nbytes <= budget or t.ndim == 0:
            pieces.append((name, t))
            continue
        row_bytes = nbytes // t.shape[0]
        if row_bytes > budget:
            raise ValueError(f"{name}: one row ({row_bytes} bytes) exceeds the shard budget ({budget} bytes)")
        rows = budget // row_bytes
        keys = []
        for i in range(math.ceil(t.shape[0] / rows)):
            key = f"{name}{_PART}{i:03d}"
            pieces.append((key, t[i * rows : (i + 1) * rows].clone()))
            keys.append(key)
        split[name] = keys
    return pieces, split


def save_state_dict_sharded(
    state: dict[str, torch.Tensor], out_dir: str | Path, max_shard_bytes: int = MAX_SHARD_BYTES
) -> dict[str, Any]:
    """Write ``state`` as safetensors shards of at most ``max_shard_bytes`` each plus the index; returns the index."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    budget = max_shard_bytes - _HEADER_MARGIN
    pieces, split = _pieces(state, budget)
    shards: list[dict[str, torch.Tensor]] = [{}]
    used = 0
    for key, t in pieces:  # greedy packing in state-dict order
        nbytes = t.numel() * t.element_size()
        if shards[-1] and used + nbytes > budget:
            shards.append({})
            used = 0
        shards[-1][key] = t
        used += nbytes
    n = len(shards)
    weight_map, files = {}, {}
    for i, shard in enumerate(shards, start=1):
        fname = f"model-{i:05d}-of-{n:05d}.safetensors"
        save_file(shard, str(out_dir / fname), metadata={"format": "pt"})
        size = (out_dir / fname).stat().st_size
        if size > max_shard_bytes:  # pragma: no cover - guarded by the margin
            raise RuntimeError(f"{fname} is {size} bytes > {max_shard_bytes}")
        files[fname] = file_sha256(out_dir / fname)
        weight_map.update({k: fname for k in shard})
    index = {
        "metadata": {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "total_size": sum(t.numel() * t.element_size() for t in state.values()),
            "total_parameters": sum(t.numel() for t in state.values()),
        },
        "weight_map": weight_map,
        "split_tensors": split,
        "files": files,
    }
    (out_dir / INDEX_NAME).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return index


def load_state_dict_sharded(ckpt_dir: str | Path, verify: bool = True) -> dict[str, torch.Tensor]:
    """Read the shards named by the index (checking their sha256) and reassemble split tensors."""
    ckpt_dir = Path(ckpt_dir)
    index_path = ckpt_dir / INDEX_NAME
    if not index_path.is_file():
        raise FileNotFoundError(f"{index_path} not found: not a tinyguardrail checkpoint")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    meta = index.get("metadata", {})
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{index_path}: unsupported checkpoint format {meta.get('format')!r} v{meta.get('version')}")
    stored: dict[str, torch.Tensor] = {}
    for fname in sorted(set(index["weight_map"].values())):
        path = ckpt_dir / fname
        if not path.is_file():
            raise FileNotFoundError(f"{path} (listed in {INDEX_NAME}) is missing")
        if verify and index.get("files", {}).get(fname) not in (None, file_sha256(path)):
            raise ValueError(f"{path}: sha256 does not match {INDEX_NAME}")
        tensors = load_file(str(path))
        expected = {k for k, f in index["weight_map"].items() if f == fname}
        if set(tensors) != expected:
            raise ValueError(f"{path}: holds {sorted(set(tensors) ^ expected)} contrary to the index")
        stored.update(tensors)
    state: dict[str, torch.Tensor] = {}
    parts = {k for keys in index.get("split_tensors", {}).values() for k in keys}
    for name, keys in index.get("split_tensors", {}).items():
        state[name] = torch.cat([stored[k] for k in keys], dim=0)
    for k, t in stored.items():
        if k not in parts:
            state[k] = t
    return state


def save_checkpoint(
    out_dir: str | Path,
    model: GuardrailModel,
    run_config: dict[str, Any] | None = None,
    tokenizer: Any = None,
    info: dict[str, Any] | None = None,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a checkpoint directory (see module docstring), replacing ``out_dir`` atomically.

    Args:
        out_dir: target directory.
        model: the model (its ``config`` goes to config.json).
        run_config: the resolved run config, saved as train_config.json.
        tokenizer: a ``tokenizers.Tokenizer`` or a path to a tokenizer.json to copy.
        info: epoch / step / metrics for checkpoint.json.
        max_shard_bytes: shard size limit.
        extra_files: more files to write (name -> bytes), e.g. the trainer state.
    """
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    state = {k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_state_dict_sharded(state, tmp, max_shard_bytes)
    model.config.save(tmp / "config.json")
    if run_config is not None:
        (tmp / "train_config.json").write_text(json.dumps(run_config, indent=2) + "\n", encoding="utf-8")
    if tokenizer is not None:
        if isinstance(tokenizer, str | Path):
            shutil.copyfile(tokenizer, tmp / "tokenizer.json")
        else:  # a copy without the truncation / padding that encoding calls left on it
            from tokenizers import Tokenizer

            clean = Tokenizer.from_str(tokenizer.to_str())
            clean.no_truncation()
            clean.no_padding()
            clean.save(str(tmp / "tokenizer.json"))
    ck = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **(info or {})}
    (tmp / "checkpoint.json").write_text(json.dumps(ck, indent=2) + "\n", encoding="utf-8")
    for name, data in (extra_files or {}).items():
        (tmp / name).write_bytes(data)
    if out_dir.exists():
        old = out_dir.with_name(out_dir.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old)
    else:
        tmp.rename(out_dir)
    return out_dir


def load_checkpoint(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> GuardrailModel:
    """Rebuild the model from ``config.json`` and load its weights strictly; returns it in eval mode.

    Raises FileNotFoundError / ValueError / RuntimeError (missing or unexpected keys, shape mismatch, bad hash).
    """
    ckpt_dir = Path(ckpt_dir)
    cfg_path = ckpt_dir / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{cfg_path} not found: not a tinyguardrail checkpoint")
    model = GuardrailModel(GuardrailConfig.load(cfg_path))
    model.load_state_dict(load_state_dict_sharded(ckpt_dir), strict=True)
    return model.to(device).eval()


def checkpoint_front_end(checkpoint: Path) -> FrontEndSwitches:
    """The front-end switches a checkpoint was trained with (``train_config.json``'s ``train.normalize``,
    ``train.detector_input`` and ``train.script_marks``; the defaults when the file or the keys are absent)."""
    path = Path(checkpoint) / "train_config.json"
    train = json.loads(path.read_text(encoding="utf-8")).get("train", {}) if path.is_file() else {}
    return FrontEndSwitches.from_train(train)
