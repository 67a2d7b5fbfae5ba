"""Score a PyTorch checkpoint (before export) on the evaluation suites.

Used to compare training runs on the same rows with the same scoring as the runtime evaluation (``eval.harness``):
the predictor applies the training front end (sanitize -> detector scores of the raw text, normalize ->
``features.encode_batch``) and the model's own combine rule. Text windows and decoded views are not used here (texts
are truncated to ``max_len`` tokens, as in training); ``tinyguardrail eval`` scores the full runtime pipeline.

    python -m tinyguardrail.eval.torch_eval --checkpoint runs/x/best --data build/data --out runs/x/suites.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from tinyguardrail.eval.calibrate import operating_point
from tinyguardrail.eval.harness import Predictions, score_suite
from tinyguardrail.eval.ood import load_suites


def torch_predictor(model, tokenizer, device: torch.device, bf16: bool = False,
                    front_end: dict | None = None):
    """texts -> (pred ids, probs) for a ``GuardrailModel`` in eval mode (``front_end``: the checkpoint's switches,
    ``preprocess.front_end_config``; default the runtime's)."""
    from tinyguardrail.model.router import combine_probs
    from tinyguardrail.preprocess import encode_texts

    cfg = model.config
    switches = front_end or {}

    @torch.no_grad()
    def predict(texts):
        enc = encode_texts(texts, tokenizer, cfg, **switches)
        b = {k: torch.from_numpy(v).to(device) for k, v in enc.items()}
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(b["input_ids"], b["attention_mask"], b["char_ids"], b["detector_feats"])
        p = combine_probs(out["fast_logits"].float(), out["deep_logits"].float(), out["router_logits"].float(),
                          cfg.early_exit_threshold).cpu().numpy()  # fmt: skip
        return p.argmax(-1), p

    return predict


def evaluate_checkpoint(ckpt: Path, data: Path, device: str = "auto", suites: tuple[str, ...] = ("ood_dev", "test"),
                        select_fpr: float = 0.03) -> dict:
    """Each suite scored at P(attack) >= 0.5, and the OOD-dev suite also at its ``select_fpr`` operating point."""
    from tokenizers import Tokenizer

    from tinyguardrail.model.checkpoint import checkpoint_front_end
    from tinyguardrail.model.guardrail import GuardrailModel

    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    model = GuardrailModel.from_checkpoint(ckpt, device=dev)
    tok = Tokenizer.from_file(str(Path(ckpt) / "tokenizer.json"))
    predict = torch_predictor(model, tok, dev, bf16=dev.type == "cuda", front_end=checkpoint_front_end(ckpt))
    result: dict = {"model": str(ckpt), "data": str(data), "date": time.strftime("%Y-%m-%d"), "suites": {}}
    t0 = time.perf_counter()
    for name, rows in load_suites(Path(data) / "suites", suites).items():
        probs = np.concatenate([predict([r.text for r in rows[i : i + 128]])[1] for i in range(0, len(rows), 128)])
        scores = 1.0 - probs[:, 0]
        result["suites"][name] = score_suite(rows, Predictions(scores, scores >= 0.5))
        if name == "ood_dev":
            result["ood_dev_operating_point"] = operating_point(rows, scores, select_fpr)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--suites", default="ood_dev,test", help="comma-separated suite names of <data>/suites")
    args = p.parse_args(argv)
    res = evaluate_checkpoint(args.checkpoint, args.data, args.device, tuple(args.suites.split(",")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: v.get("pint_score") for k, v in res["suites"].items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
