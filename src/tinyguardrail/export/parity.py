"""Parity of an exported model with its PyTorch checkpoint on a built split (default: test).

Both sides see identical inputs (the runtime front end: sanitize -> normalize -> ``features.encode_batch``, one
text at a time, no views or windows) and the same combine rule; the report gives label agreement, the largest
probability difference and the accuracy of each side, so the INT8 accuracy drop is measured, not assumed. Each side
also gets its four-class balanced accuracy and its attack-type accuracy: of the attack rows it labels as some attack,
the share labelled with their own type (the type field of the response code).

    python -m tinyguardrail.export.parity --checkpoint runs/x/best --model models/x --data build/data --out parity.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinyguardrail.data.io import DEFAULT_BUILD
from tinyguardrail.export.cli_export import load_model
from tinyguardrail.export.onnx import make_session, run_deep, run_fast, torch_outputs
from tinyguardrail.export.quantize import _combine
from tinyguardrail.model.checkpoint import checkpoint_front_end
from tinyguardrail.preprocess import encode_texts_batch1


def type_metrics(pred: np.ndarray, labels: np.ndarray) -> dict:
    """Four-class balanced accuracy (mean recall over the classes present) and the attack-type accuracy: among rows
    whose label is an attack (not 0) and whose prediction is an attack, the share predicted with the right type."""
    present = np.unique(labels)
    caught = (labels != 0) & (pred != 0)
    return {"balanced_accuracy": float(np.mean([(pred[labels == c] == c).mean() for c in present])),
            "attack_type_accuracy": float((pred[caught] == labels[caught]).mean()) if caught.any() else None,
            "caught_attacks": int(caught.sum())}  # fmt: skip


def parity(checkpoint: Path, model_dir: Path, data: Path, split: str = "test", limit: int | None = None,
           seed: int = 0, threads: int = 1) -> dict:  # fmt: skip
    """Compare every ``*.onnx`` pair in ``model_dir`` (``fast.onnx``/``deep.onnx`` and ``fast.fp32.onnx``/
    ``deep.fp32.onnx`` when present) with the checkpoint on ``split`` (a seeded subset of ``limit`` rows). A fast
    graph that takes ``char_vecs`` gets them from ``char.onnx``, once per distinct token of each input."""
    from tokenizers import Tokenizer

    from tinyguardrail.data.io import SPLIT_FILES, read_labelled_texts

    model = load_model(checkpoint)
    cfg = model.config
    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    texts, labels = read_labelled_texts(Path(data) / SPLIT_FILES[split], max_rows=limit, seed=seed)
    feeds = encode_texts_batch1(texts, tok, cfg, checkpoint_front_end(checkpoint))
    thr, gate = float(cfg.early_exit_threshold), cfg.early_exit_gate
    has_deep = (Path(model_dir) / "deep.onnx").exists()
    t0 = time.perf_counter()
    ref = [_combine(torch_outputs(model, f, deep=has_deep), thr, has_deep, gate)[0] for f in feeds]
    ref_pred = np.concatenate([p.argmax(-1) for p in ref])
    out = {"checkpoint": str(checkpoint), "model": str(model_dir), "split": split, "n": len(texts),
           "torch_fp32_accuracy": float((ref_pred == labels).mean()),
           "torch_fp32": type_metrics(ref_pred, labels), "variants": {}}  # fmt: skip
    for name, fast, deep in (("onnx", "fast.onnx", "deep.onnx"), ("onnx_fp32", "fast.fp32.onnx", "deep.fp32.onnx")):
        fast_p, deep_p = Path(model_dir) / fast, Path(model_dir) / deep
        if not fast_p.exists():
            continue
        fs = make_session(fast_p, threads)
        ds = make_session(deep_p, threads) if has_deep and deep_p.exists() else None
        split = "char_vecs" in {i.name for i in fs.get_inputs()}  # character CNN in char.onnx (export.split)
        cs = make_session(Path(model_dir) / "char.onnx", threads) if split else None
        probs = []
        for f in feeds:
            o = run_fast(fs, f, cs)
            if ds is not None:
                o.update(run_deep(ds, o["hidden"], f["attention_mask"]))
            probs.append(_combine(o, thr, ds is not None, gate)[0])
        pred = np.concatenate([p.argmax(-1) for p in probs])
        acc = float((pred == labels).mean())
        out["variants"][name] = {
            "label_agreement": float((pred == ref_pred).mean()),
            "max_prob_diff": float(max(np.abs(p - q).max() for p, q in zip(probs, ref, strict=True))),
            "accuracy": acc,
            "accuracy_drop_points": 100 * (out["torch_fp32_accuracy"] - acc),
            **type_metrics(pred, labels),
        }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD)
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None, help="seeded random subset of the split")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    res = parity(args.checkpoint, args.model, args.data, args.split, args.limit, threads=args.threads)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
