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

from tinyguardrail.data.io import DEFAULT_BUILD
from tinyguardrail.eval.calibrate import operating_point
from tinyguardrail.eval.harness import Predictions, score_suite
from tinyguardrail.eval.ood import load_suites
from tinyguardrail.preprocess import DEFAULT_SWITCHES, FrontEndSwitches, encode_texts


class EncodedSuite:
    """A list of texts encoded once by the training front end, in batches of similar length (dynamic padding then
    costs little: on a CPU one 512-token row in a batch of short ones multiplies the batch's cost), so that several
    weight sets of one architecture (epochs, seeds, weight-space ensembles) can be scored on the same rows."""

    def __init__(self, texts: list[str], tokenizer, cfg, switches: FrontEndSwitches = DEFAULT_SWITCHES,
                 batch_size: int = 128):  # fmt: skip
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        self.n = len(texts)
        self.batches = [(order[i : i + batch_size],
                         encode_texts([texts[j] for j in order[i : i + batch_size]], tokenizer, cfg, switches))
                        for i in range(0, len(order), batch_size)]  # fmt: skip

    @torch.no_grad()
    def probs(self, model, device: torch.device, bf16: bool = False) -> np.ndarray:
        """Class probabilities (rows in the input order) by the model's own combine rule."""
        from tinyguardrail.model.model import combine_probs

        out = np.empty((self.n, model.config.n_classes), dtype=np.float64)
        for idx, enc in self.batches:
            b = {k: torch.from_numpy(v).to(device) for k, v in enc.items()}
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                o = model(b["input_ids"], b["attention_mask"], b["char_ids"], b["detector_feats"])
            out[idx] = combine_probs(o["fast_logits"].float(), o["deep_logits"].float(), o["router_logits"].float(),
                                     model.config.early_exit_threshold, model.config.early_exit_gate).cpu().numpy()  # fmt: skip
        return out


class SuiteScorer:
    """A suite file encoded once for a checkpoint's tokenizer and text front end, with that checkpoint's model to load
    other weight sets of the same architecture into (WiSE alphas, soups, their ingredients): ``scorer(state)`` is the
    state's operating point at ``fpr`` (:func:`eval.calibrate.operating_point`; PyTorch model, texts truncated to
    ``max_len``, no windows or views: the training loop's checkpoint selection)."""

    def __init__(self, checkpoint: Path, suite_path: Path, fpr: float = 0.03, device: torch.device | str = "cpu",
                 model=None):  # fmt: skip
        """``model``: the checkpoint's model when the caller has it loaded already (it is moved to ``device``)."""
        from tokenizers import Tokenizer

        from tinyguardrail.eval.ood import read_suite
        from tinyguardrail.model.checkpoint import checkpoint_front_end, load_checkpoint

        self.rows = read_suite(Path(suite_path))
        self.fpr = fpr
        self.device = torch.device(device)
        self.model = (model if model is not None else load_checkpoint(checkpoint)).to(self.device)
        tok = Tokenizer.from_file(str(Path(checkpoint) / "tokenizer.json"))
        self.suite = EncodedSuite([r.text for r in self.rows], tok, self.model.config, checkpoint_front_end(checkpoint))

    def __call__(self, state: dict[str, torch.Tensor] | None = None) -> dict:
        """The operating point of ``state`` (None: the weights loaded last, at first the checkpoint's own)."""
        if state is not None:
            self.model.load_state_dict(state, strict=True)
        probs = self.suite.probs(self.model, self.device, self.device.type == "cuda")
        return operating_point(self.rows, 1.0 - probs[:, 0], self.fpr)


def evaluate_checkpoint(ckpt: Path, data: Path, device: str = "auto", suites: tuple[str, ...] = ("ood_dev", "test"),
                        select_fpr: float = 0.03) -> dict:
    """Each suite scored at P(attack) >= 0.5, and the OOD-dev suite also at its ``select_fpr`` operating point."""
    from tokenizers import Tokenizer

    from tinyguardrail.model.checkpoint import checkpoint_front_end
    from tinyguardrail.model.model import GuardrailModel

    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    model = GuardrailModel.from_checkpoint(ckpt, device=dev)
    tok = Tokenizer.from_file(str(Path(ckpt) / "tokenizer.json"))
    front_end = checkpoint_front_end(ckpt)
    result: dict = {"model": str(ckpt), "data": str(data), "date": time.strftime("%Y-%m-%d"), "suites": {}}
    t0 = time.perf_counter()
    for name, rows in load_suites(Path(data) / "suites", suites).items():
        probs = EncodedSuite([r.text for r in rows], tok, model.config, front_end).probs(model, dev, dev.type == "cuda")
        scores = 1.0 - probs[:, 0]
        result["suites"][name] = score_suite(rows, Predictions(scores, scores >= 0.5))
        if name == "ood_dev":
            result["ood_dev_operating_point"] = operating_point(rows, scores, select_fpr)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD)
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
