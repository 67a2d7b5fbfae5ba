"""The trainer's side of checkpoints: optimizer and RNG state of a resumable "last" checkpoint.

The checkpoint format itself (sharded safetensors, config.json, tokenizer.json, checkpoint.json) is
``tinyguardrail.model.checkpoint``'s; its writer and reader are re-exported here for the training loop.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from tinyguardrail.model.checkpoint import (  # noqa: F401 (re-exported for the training loop and its tests)
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    INDEX_NAME,
    MAX_SHARD_BYTES,
    load_checkpoint,
    load_state_dict_sharded,
    save_checkpoint,
    save_state_dict_sharded,
)

# ------------------------------------------------------------------------------------------ trainer state

TRAINER_TENSORS = "trainer_state.safetensors"
TRAINER_JSON = "trainer_state.json"


def trainer_state_files(optimizer: torch.optim.Optimizer, counters: dict[str, Any]) -> dict[str, bytes]:
    """Serialize optimizer + RNG state + ``counters`` (epoch, step, best metric, ...) to {file name: bytes}."""
    from safetensors.torch import save as save_bytes

    opt = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state = np.random.get_state()
    tensors["rng.numpy.keys"] = torch.from_numpy(np.asarray(np_state[1], dtype=np.int64))
    py_state = random.getstate()
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "counters": counters,
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
        "rng_numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "rng_python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    return {TRAINER_TENSORS: save_bytes(tensors), TRAINER_JSON: (json.dumps(meta) + "\n").encode("utf-8")}


def read_trainer_meta(ckpt_dir: str | Path) -> dict[str, Any]:
    """``trainer_state.json`` of a resumable checkpoint (counters, optimizer groups, Python/NumPy RNG)."""
    path = Path(ckpt_dir) / TRAINER_JSON
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: cannot resume")
    return json.loads(path.read_text(encoding="utf-8"))


def load_trainer_state(ckpt_dir: str | Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore optimizer and RNG states saved by ``trainer_state_files``; returns the counters."""
    ckpt_dir = Path(ckpt_dir)
    for name in (TRAINER_TENSORS, TRAINER_JSON):
        if not (ckpt_dir / name).is_file():
            raise FileNotFoundError(f"{ckpt_dir / name} not found: cannot resume")
    meta = json.loads((ckpt_dir / TRAINER_JSON).read_text(encoding="utf-8"))
    tensors = load_file(str(ckpt_dir / TRAINER_TENSORS))
    state: dict[int, dict[str, Any]] = {}
    for key, t in tensors.items():
        if key.startswith("optim."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = t
    for pid, st in meta["optim_scalars"].items():
        state.setdefault(int(pid), {}).update(st)
    # Hyper-parameters and flags (fused, foreach, ...) come from the optimizer built for this run; the saved groups
    # only have to describe the same parameters. The lr is set by the schedule at every step anyway.
    groups = optimizer.state_dict()["param_groups"]
    saved = meta["param_groups"]
    if [g["params"] for g in saved] != [g["params"] for g in groups]:
        raise ValueError(f"{ckpt_dir}: optimizer parameter groups differ from the saved ones; cannot resume")
    for g, sg in zip(groups, saved, strict=True):
        g["lr"] = sg["lr"]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    torch.set_rng_state(tensors["rng.torch"])
    cuda_keys = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    cuda_states = [tensors[k] for k in cuda_keys]
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    kind, pos, has_gauss, gauss = meta["rng_numpy"]
    np.random.set_state((kind, tensors["rng.numpy.keys"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = meta["rng_python"]
    random.setstate((version, tuple(internal), gauss_next))
    return meta["counters"]
