"""Score a PyTorch checkpoint (before export) on the built test and eval splits.

Used to compare training runs (base encoders, ablations) on the same data with the same code as the ONNX
evaluation: the predictor applies the training front end (sanitize -> detector scores of the raw text, normalize ->
``features.encode_batch``) and
the model's own combine rule, then ``eval.suites.evaluate_rows`` does the scoring. Text windows are not used here
(texts are truncated to ``max_len`` tokens, as in training); the runtime evaluation (``tinyguardrail eval``) scores
the full pipeline with views and windows.

    python -m tinyguardrail.eval.torch_eval --checkpoint runs/x/best --data build/data --out runs/x/test_eval.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from tinyguardrail.data.io import read_split
from tinyguardrail.eval.cli_eval import headline
from tinyguardrail.eval.suites import evaluate_rows, transform_suite
from tinyguardrail.features import encode_batch


def torch_predictor(model, tokenizer, device: torch.device, bf16: bool = False):
    """texts -> (pred ids, probs) for a ``GuardrailModel`` in eval mode."""
    from tinyguardrail.model.router import combine_probs
    from tinyguardrail.train import data as D

    cfg = model.config
    norm = D.get_normalize() or (lambda t: t)
    det = D.get_detector_fn(cfg.n_detector_feats)

    @torch.no_grad()
    def predict(texts):
        raw = [D.sanitize(t) for t in texts]
        feats = np.stack([det(t) for t in raw])  # detector scores on the raw text, as in training
        enc = encode_batch(tokenizer, [norm(t) for t in raw], cfg.max_len, cfg.max_chars, None, cfg.pad_id,
                           detector_feats=feats)  # fmt: skip
        b = {k: torch.from_numpy(v).to(device) for k, v in enc.items()}
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(b["input_ids"], b["attention_mask"], b["char_ids"], b["detector_feats"])
        p = combine_probs(out["fast_logits"].float(), out["deep_logits"].float(), out["router_logits"].float(),
                          cfg.early_exit_threshold).cpu().numpy()  # fmt: skip
        return p.argmax(-1), p

    return predict


def evaluate_checkpoint(ckpt: Path, data: Path, device: str = "auto", limit: int | None = None) -> dict:
    from tokenizers import Tokenizer

    from tinyguardrail.data import synth
    from tinyguardrail.train.checkpoint import load_checkpoint

    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    model = load_checkpoint(ckpt, device=dev).eval()
    tok = Tokenizer.from_file(str(Path(ckpt) / "tokenizer.json"))
    predict = torch_predictor(model, tok, dev, bf16=dev.type == "cuda")
    result = {"model": str(ckpt), "data": str(data), "date": time.strftime("%Y-%m-%d")}
    t0 = time.perf_counter()
    for split in ("test", "eval"):
        rows = read_split(data, split)[:limit] if limit else read_split(data, split)
        result[split] = evaluate_rows(rows, predict, batch_size=128)
        result[split].pop("_pred")
        if split == "test":
            result["transforms"] = transform_suite(result["test"], rows, list(synth.TRANSFORMS))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["headline"] = headline(result)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    res = evaluate_checkpoint(args.checkpoint, args.data, args.device, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res["headline"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
