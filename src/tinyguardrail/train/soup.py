"""Model soups: the uniform weight average of checkpoints fine-tuned from the same start (Wortsman et al. 2022).

Checkpoints trained from one starting point with different seeds or recipes usually sit in one basin of the loss, so
their parameter average is itself a good model, and it tends to hold up better out of distribution than each of its
ingredients (the paper's uniform soup). A soup costs nothing at inference: it is one model of the same size. Runs
must share their initial weights, new layers included (``train.init_seed``): seeds that initialise the heads
differently average into a worse model (``docs/ablations.md``).

    python -m tinyguardrail.train.soup runs/s2/best runs/s3/best runs/s4/best --out runs/soup_s234 \\
        --suite build/data/suites/ood_dev.jsonl.gz

writes the soup checkpoint to ``--out`` and, with ``--suite``, ``<out>/soup.json``: the soup's score (with
``--score-ingredients``, each ingredient's too) on that suite at the ``--fpr`` operating point (PyTorch model, no
windows or views: the training loop's checkpoint selection, as ``train.wise``); ``--greedy`` makes the greedy soup
chosen on that suite. Every ingredient must have the same architecture (``config.json``'s fields but the training
and runtime knobs of ``TRAINING_FIELDS``) and the same tokenizer; the soup takes the first ingredient's config, run
config and tokenizer. Integer buffers (counters) are taken from the first ingredient, not averaged.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from tinyguardrail.model.checkpoint import load_state_dict_sharded, save_checkpoint
from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.model import GuardrailModel

TRAINING_FIELDS = frozenset({
    "early_exit_gate", "early_exit_threshold", "dropout", "init", "init_std", "moe_init_noise", "focal_alpha",
    "focal_gamma", "label_smoothing", "moe_balance_weight", "router_loss_weight", "consistency_weight",
    "severity_weight", "extra",
})
"""Config fields that do not shape the parameters (runtime gate, loss weights, initialisation): ingredients may
differ in them; the soup keeps the first ingredient's."""


def _model_fields(ckpt: Path) -> dict:
    cfg = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    return {k: v for k, v in cfg.items() if k not in TRAINING_FIELDS}


def check_compatible(checkpoints: Sequence[Path]) -> None:
    """Raise ValueError unless every checkpoint has the first one's model config and tokenizer."""
    if len(checkpoints) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    first = checkpoints[0]
    cfg = _model_fields(first)
    vocab = json.loads((first / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    for c in checkpoints[1:]:
        other = _model_fields(c)
        diff = sorted(k for k in set(cfg) | set(other) if cfg.get(k) != other.get(k))
        if diff:
            raise ValueError(f"{c} differs from {first} in its model config: {', '.join(diff)}")
        if json.loads((c / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"] != vocab:
            raise ValueError(f"{c} has another vocabulary than {first}: not fine-tuned from the same base")


def average_states(states: Sequence[dict[str, torch.Tensor]], weights: Sequence[float] | None = None
                   ) -> dict[str, torch.Tensor]:  # fmt: skip
    """The weighted mean of the floating-point tensors of ``states`` (uniform by default); other tensors come from
    the first state. Every state must have the same names and shapes."""
    if not states:
        raise ValueError("no states to average")
    w = [1.0 / len(states)] * len(states) if weights is None else [float(x) for x in weights]
    if len(w) != len(states) or any(x < 0 for x in w) or abs(sum(w) - 1.0) > 1e-6:
        raise ValueError("weights must be one non-negative number per state, summing to 1")
    names = set(states[0])
    for s in states[1:]:
        if set(s) != names:
            raise ValueError(f"the states hold different tensors: {sorted(names ^ set(s))[:5]}")
    out: dict[str, torch.Tensor] = {}
    for name, first in states[0].items():
        if any(s[name].shape != first.shape for s in states):
            raise ValueError(f"{name}: shapes differ between the states")
        if not first.is_floating_point():
            out[name] = first.clone()
            continue
        acc = torch.zeros_like(first, dtype=torch.float64)
        for s, x in zip(states, w, strict=True):
            acc += x * s[name].double()
        out[name] = acc.to(first.dtype)
    return out


def make_soup(checkpoints: Sequence[str | Path], out: str | Path, weights: Sequence[float] | None = None) -> Path:
    """Write the (weighted) average of ``checkpoints`` as a checkpoint at ``out``; returns its path."""
    paths = [Path(c) for c in checkpoints]
    check_compatible(paths)
    model = GuardrailModel(GuardrailConfig.load(paths[0] / "config.json"))
    model.load_state_dict(average_states([load_state_dict_sharded(p) for p in paths], weights), strict=True)
    run_config = json.loads((paths[0] / "train_config.json").read_text(encoding="utf-8"))
    info = {"soup": {"checkpoints": [str(p) for p in paths],
                     "weights": list(weights) if weights is not None else "uniform"}}
    return save_checkpoint(out, model, run_config, paths[0] / "tokenizer.json", info)


def score_checkpoints(checkpoints: Sequence[Path], suite_path: Path, fpr: float, device: str = "auto") -> list[dict]:
    """Each checkpoint's operating point on the suite (PyTorch model, as the training loop selects)."""
    from tinyguardrail.eval.torch_eval import SuiteScorer
    from tinyguardrail.train.loop import pick_device

    scorer = SuiteScorer(Path(checkpoints[0]), suite_path, fpr, pick_device(device))  # one tokenizer for all
    out = []
    for i, c in enumerate(checkpoints):  # the first one's weights are loaded already
        out.append({"checkpoint": str(c), **scorer(load_state_dict_sharded(c) if i else None)})
        print(json.dumps(out[-1]), flush=True)
    return out


def greedy_choice(states: Sequence[dict[str, torch.Tensor]], score) -> tuple[list[float], list[int], float, list]:
    """The greedy soup's choice: each state's own ``score``, then, from the best one down, each state kept if the
    average with it scores at least as well as without. Returns (own scores, kept indices, soup score, steps)."""
    own = [score(s) for s in states]
    order = sorted(range(len(states)), key=lambda i: -own[i])
    kept, best, steps = [order[0]], own[order[0]], []
    for i in order[1:]:
        trial = score(average_states([states[j] for j in [*kept, i]]))
        steps.append({"index": i, "soup_score_with_it": trial, "kept": trial >= best})
        if trial >= best:
            kept, best = [*kept, i], trial
    return own, kept, best, steps


def greedy_soup(checkpoints: Sequence[str | Path], suite_path: Path, fpr: float = 0.03, device: str = "auto",
                out: str | Path | None = None) -> dict:
    """Wortsman et al.'s greedy soup: the ingredients in order of their own score on the suite, each kept only if
    the soup with it scores at least as well as without. The choice is made on ``suite_path``: give it the OOD-dev
    suite, never a set that is reported. Writes the soup to ``out`` when given; returns the scores and the choice."""
    from tinyguardrail.eval.torch_eval import SuiteScorer
    from tinyguardrail.train.loop import pick_device

    paths = [Path(c) for c in checkpoints]
    check_compatible(paths)
    scorer = SuiteScorer(paths[0], suite_path, fpr, pick_device(device))
    states = [load_state_dict_sharded(p) for p in paths]

    def score(state: dict[str, torch.Tensor]) -> float:
        return float(scorer(state)["pint_score"])

    own, kept, best, steps = greedy_choice(states, score)
    for step in steps:
        step["checkpoint"] = str(paths[step.pop("index")])
    report = {"suite": str(suite_path), "fpr": fpr, "ingredient_scores": dict(zip(map(str, paths), own, strict=True)),
              "steps": steps, "kept": [str(paths[i]) for i in kept], "soup_score": best}
    if out is not None:
        report["out"] = str(make_soup([paths[i] for i in kept], out) if len(kept) > 1 else paths[kept[0]])
    return report


def _weights(spec: str, n: int) -> list[float]:
    """``--weights``: ``n`` finite, non-negative numbers, not all zero, scaled to sum to 1."""
    try:
        w = [float(x) for x in spec.split(",")]
    except ValueError:
        w = []
    if len(w) != n or not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) <= 0:
        raise SystemExit(f"--weights: {n} finite non-negative numbers, not all zero, one per checkpoint; got {spec!r}")
    return [x / sum(w) for x in w]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint folders fine-tuned from the same base")
    p.add_argument("--out", type=Path, required=True, help="folder for the soup checkpoint")
    p.add_argument("--weights", default="",
                   help="comma-separated non-negative weights, one per checkpoint, scaled to sum to 1 (3,5: the first "
                        "a soup of three seeds, the second of five, every seed weighing the same; default uniform)")
    p.add_argument("--suite", type=Path, default=None, help="score the soup on this suite file")
    p.add_argument("--score-ingredients", action="store_true", help="with --suite, score each ingredient too")
    p.add_argument("--fpr", type=float, default=0.03, help="operating point: share of the suite's benign rows flagged")
    p.add_argument("--greedy", action="store_true", help="greedy soup chosen on --suite (ingredients kept only if "
                   "they do not lower the soup's score); writes <out>/soup.json with each step")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    if args.greedy:
        if args.suite is None or args.weights:
            raise SystemExit("--greedy needs --suite and takes no --weights")
        report = greedy_soup(args.checkpoints, args.suite, args.fpr, args.device, args.out)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "soup.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: report[k] for k in ("kept", "soup_score")}), flush=True)
        return 0
    weights = _weights(args.weights, len(args.checkpoints)) if args.weights else None
    soup = make_soup(args.checkpoints, args.out, weights)
    print(f"wrote {soup}", flush=True)
    if args.suite is not None:
        scored = score_checkpoints([*(args.checkpoints if args.score_ingredients else []), soup], args.suite,
                                   args.fpr, args.device)
        (Path(args.out) / "soup.json").write_text(json.dumps(
            {"suite": str(args.suite), "fpr": args.fpr, "ingredients": scored[:-1], "soup": scored[-1]}, indent=2)
            + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
