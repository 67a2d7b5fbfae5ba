"""Pack a checkpoint for the trip back from the GPU machine: weights as fp16 safetensors shards (half the size;
``load_checkpoint`` casts them back to fp32), everything in one tar split into parts of at most 15 MiB.

    python scripts/pack_checkpoint.py runs/minilm/best $OUT/ckpt.tar.part-
"""

import io
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from tinyguardrail.train.checkpoint import load_state_dict_sharded, save_state_dict_sharded

PART = 15 * 1024 * 1024


def main(src: str, prefix: str) -> None:
    src_p = Path(src)
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "ckpt"
        state = load_state_dict_sharded(src_p)
        save_state_dict_sharded({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, dst)
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
