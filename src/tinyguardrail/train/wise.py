"""Weight-space ensembles of a fine-tuned checkpoint and its pretrained base (WiSE-FT, Wortsman et al. 2022).

For each alpha, the parameters that came from the pretrained encoder become ``(1 - alpha) * base + alpha * tuned``;
the parameters the base does not have (heads, character CNN, detector projection, router, pattern bank) keep their
fine-tuned values. alpha = 1 is the checkpoint itself. WiSE-FT is known to keep more of the base's robustness out
of distribution at little cost in distribution; whether it does here is decided on the OOD-dev suite only.

For a continued-training run (``train.init_checkpoint``) the base may be the parent checkpoint instead (e.g. a
shipped model brought back by ``tinyguardrail recover``): then every parameter is interpolated, and alpha is the
share of the continuation's change that is kept.

    python -m tinyguardrail.train.wise --checkpoint runs/v10_s2/best --base .carry/base_minilm --alphas 0.6,0.8,1 \\
        --out runs/wise_v10_s2 --suite build/data/suites/ood_dev.jsonl.gz

writes one checkpoint per alpha (``<out>/a<alpha>``) and, with ``--suite``, ``<out>/wise.json``: each alpha's score
on that suite at its ``--fpr`` operating point (PyTorch model, texts truncated to max_len, no windows or views: the
training loop's checkpoint selection). The base must be the one the checkpoint was trained from (same pruned
vocabulary); the script checks the tokenizer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from tokenizers import Tokenizer

from tinyguardrail.model import pretrained as P
from tinyguardrail.model.checkpoint import INDEX_NAME, load_checkpoint, load_state_dict_sharded, save_checkpoint
from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.init import init_from_pretrained
from tinyguardrail.model.model import GuardrailModel
from tinyguardrail.train.loop import pick_device


def base_state(checkpoint: Path, base_dir: Path) -> dict[str, torch.Tensor]:
    """The parameters the checkpoint's training started from (name -> tensor): the pretrained encoder's, or, when
    ``base_dir`` is a checkpoint (the parent of a continued-training run, ``train.init_checkpoint``), every
    parameter of that checkpoint."""
    tuned_vocab = Tokenizer.from_file(str(checkpoint / "tokenizer.json")).get_vocab()  # WordPiece or Unigram
    if (base_dir / INDEX_NAME).is_file():
        if Tokenizer.from_file(str(base_dir / "tokenizer.json")).get_vocab() != tuned_vocab:
            raise ValueError(f"{base_dir} has another vocabulary than {checkpoint}: not the checkpoint it started from")
        return {n: t.float() for n, t in load_state_dict_sharded(base_dir).items()}
    enc = P.load_compact(base_dir)
    if enc.tokenizer.get_vocab() != tuned_vocab:
        raise ValueError(f"{base_dir} has another vocabulary than {checkpoint}: not the base it was trained from")
    fresh = GuardrailModel(GuardrailConfig.load(checkpoint / "config.json"))
    names = init_from_pretrained(fresh, enc)
    state = fresh.state_dict()
    return {n: state[n].float() for n in names}


def interpolate(tuned: dict[str, torch.Tensor], base: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """``tuned`` with every tensor that ``base`` holds moved to ``(1 - alpha) * base + alpha * tuned``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    out = dict(tuned)
    for name, b in base.items():
        out[name] = (1.0 - alpha) * b + alpha * tuned[name].float()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--base", type=Path, required=True,
                   help="the compact pretrained base it was trained from, or the checkpoint a continued-training run "
                   "started from (then every parameter is interpolated)")
    p.add_argument("--alphas", default="0.5,0.7,0.85,1", help="comma-separated weights of the fine-tuned model")
    p.add_argument("--out", type=Path, required=True, help="folder; one checkpoint per alpha goes to <out>/a<alpha>")
    p.add_argument("--suite", type=Path, default=None, help="score each alpha on this suite file (eval.ood rows)")
    p.add_argument("--fpr", type=float, default=0.03, help="operating point: share of the suite's benign rows flagged")
    p.add_argument("--only", default="", help="comma-separated parameter-name prefixes: interpolate only these "
                   "(e.g. deep.layers: the fast branch, and so the early exits, stay as fine-tuned)")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    base = base_state(args.checkpoint, args.base)
    if args.only:
        prefixes = tuple(x for x in args.only.split(",") if x)
        base = {k: v for k, v in base.items() if k.startswith(prefixes)}
        if not base:
            raise ValueError(f"--only {args.only!r}: no pretrained parameter name starts with these prefixes")
    model = load_checkpoint(args.checkpoint)  # read once: its state is the fine-tuned end of every interpolation
    tuned = {k: v.detach().clone() for k, v in model.state_dict().items()}
    run_config = json.loads((args.checkpoint / "train_config.json").read_text(encoding="utf-8"))
    scorer = None
    if args.suite:
        from tinyguardrail.eval.torch_eval import SuiteScorer

        scorer = SuiteScorer(args.checkpoint, args.suite, args.fpr, pick_device(args.device), model=model)
    summary: list[dict] = []
    ck = json.loads((args.checkpoint / "checkpoint.json").read_text(encoding="utf-8"))
    source_info = {k: v for k, v in ck.items() if k not in ("format", "version")}  # epoch, step, metrics
    for a in (float(x) for x in args.alphas.split(",")):
        model.load_state_dict(interpolate(tuned, base, a), strict=True)
        info = {**source_info, "wise_ft": {"checkpoint": str(args.checkpoint), "base": str(args.base), "alpha": a,
                                           "only": args.only or None, "interpolated_params": len(base)}}  # fmt: skip
        dest = save_checkpoint(args.out / f"a{a:g}", model, run_config, args.checkpoint / "tokenizer.json", info)
        row = {"alpha": a, "checkpoint": str(dest)}
        if scorer is not None:
            row[args.suite.name.split(".")[0]] = scorer()  # the interpolated weights just loaded into model
        summary.append(row)
        print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "wise.json").write_text(json.dumps({"checkpoint": str(args.checkpoint), "base": str(args.base),
                                                    "alphas": summary}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
