"""Pack a checkpoint for the trip back from the GPU machine, and unpack it here.

Packing stores weights as fp16 safetensors shards, except matrices of more than ``Q8_MIN`` elements (the token
embedding table), which go as int8 with one fp16 scale per row (``<name>.q8`` / ``<name>.q8scale``): a 36k-piece
multilingual table is 14 MB instead of 28. Everything goes in one tar split into parts of at most 15 MiB.
Unpacking joins the parts and writes an ordinary fp32 checkpoint folder (what ``export`` and ``parity`` read).

    python scripts/pack_checkpoint.py runs/e5/best $OUT/ckpt.tar.part-          # on the GPU machine
    python scripts/pack_checkpoint.py --unpack '/work/.device/.../ckpt.tar.part-*' runs/v07/ckpt   # here
"""

import glob
import io
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

from tinyguardrail.train.checkpoint import load_state_dict_sharded, save_state_dict_sharded

PART = 15 * 1024 * 1024
Q8_MIN = 4_000_000


def pack_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if v.is_floating_point() and v.dim() == 2 and v.numel() > Q8_MIN:
            v = v.float()
            scale = v.abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / 127.0
            out[k + ".q8"] = torch.round(v / scale).to(torch.int8)
            out[k + ".q8scale"] = scale.half()
        else:
            out[k] = v.half() if v.is_floating_point() else v
    return out


def unpack_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if k.endswith(".q8"):
            out[k[:-3]] = v.float() * state[k + "scale"].float()
        elif not k.endswith(".q8scale"):
            out[k] = v.float() if v.is_floating_point() else v
    return out


def pack(src: str, prefix: str) -> None:
    src_p = Path(src)
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "ckpt"
        save_state_dict_sharded(pack_state(load_state_dict_sharded(src_p)), dst)
        for f in src_p.iterdir():
            if f.suffix == ".json" and f.name != "model.safetensors.index.json" or f.name == "tokenizer.json":
                shutil.copy(f, dst / f.name)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(dst, arcname="ckpt")
    data = buf.getvalue()
    for i in range(0, len(data), PART):
        Path(f"{prefix}{i // PART:02d}").write_bytes(data[i : i + PART])
    print(f"packed {len(data) / 2**20:.1f} MiB in {(len(data) + PART - 1) // PART} parts")


def unpack(pattern: str, out_dir: str) -> None:
    parts = sorted(glob.glob(pattern))
    if not parts:
        raise SystemExit(f"no parts match {pattern}")
    data = b"".join(Path(p).read_bytes() for p in parts)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / "ckpt"
        out = Path(out_dir)
        save_state_dict_sharded(unpack_state(load_state_dict_sharded(src)), out)
        for f in src.iterdir():
            if f.suffix == ".json" and f.name != "model.safetensors.index.json" or f.name == "tokenizer.json":
                shutil.copy(f, out / f.name)
    print(f"unpacked {len(parts)} parts into {out_dir}")


if __name__ == "__main__":
    if sys.argv[1] == "--unpack":
        unpack(sys.argv[2], sys.argv[3])
    else:
        pack(sys.argv[1], sys.argv[2])
