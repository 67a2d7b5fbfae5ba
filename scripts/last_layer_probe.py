"""Last-layer retraining probe: is the classifier layer of a finished checkpoint what keeps it from generalizing?

Deep Feature Reweighting (Kirichenko, Izmailov & Wilson, 2022) retrains only the last linear layer of a network,
on frozen features, with groups reweighted so that no group's shortcut dominates, and reports large gains under
distribution shift. Here the frozen features are the inputs of the heads' class layers (``deep.head.cls``, and with
``--layers both`` also ``fast.head.cls``: GELU of the head's dense layer); the groups are the training split's
``source`` x attack/benign (the sources differ in carriers and phrasing, so a source-balanced fit cannot lean on one
source's style). The class layers are refit by L2-regularised multinomial logistic regression on a sample of the
training split's rows, each weighted so that every group weighs the same (``group``; both are fit) or every row does
(``none``), and the model's own combine rule then gives the probabilities: the router reads the fast branch's
probabilities, so it is run again on its pooled input when the fast layer is refit (the deep layer alone leaves
routing as it was). A fit on the training split the features were learnt on is DFR's weakest variant (its gains
come from held-out data, which here would be the OOD-dev suite the choice is made on). ``--crossfit`` is that proper
DFR, estimated honestly: OOD-dev rows join the fit and every OOD-dev row is scored by a fit that saw neither its
source nor its (non-English) language (``crossfit_folds``; ``--crossfit-languages`` keeps the language, a diagnostic).

The choice (weighting, L2 strength) is made on the OOD-dev suite only, at the training loop's 3 % benign-FPR
operating point (PyTorch, texts truncated to ``max_len``, no windows or views: the loop's checkpoint selection);
no report set is read. A probe, not a ship step: a winner goes through ``tinyguardrail candidate`` (the runtime)
and the paired bootstrap before anything is decided.

    python scripts/last_layer_probe.py --checkpoint runs/v017_rec --data build/data_bank \\
        --suite build/data/suites/ood_dev.jsonl.gz --train-rows 20000 --cache build/llp/feats.npz \\
        --layers deep --out build/llp/probe.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from tinyguardrail.data.io import read_labelled_texts, subset_rows
from tinyguardrail.eval.calibrate import operating_point
from tinyguardrail.eval.ood import read_suite
from tinyguardrail.eval.torch_eval import EncodedSuite
from tinyguardrail.labels import LABEL2ID, LABELS
from tinyguardrail.model.checkpoint import checkpoint_front_end, load_checkpoint
from tinyguardrail.model.model import combine_probs


@torch.no_grad()
def head_inputs(model, texts: list[str], tokenizer, switches, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """The inputs of both class layers, the router's pooled input and its logits, rows in the input order."""
    seen: dict[str, torch.Tensor] = {}
    if model.fast is None or model.deep is None or model.router is None:
        raise ValueError("the probe needs both branches and the router")
    hooks = [model.fast.head.cls.register_forward_hook(lambda m, i, o: seen.__setitem__("fast", i[0])),
             model.deep.head.cls.register_forward_hook(lambda m, i, o: seen.__setitem__("deep", i[0])),
             model.router.register_forward_pre_hook(lambda m, i: seen.__setitem__("pooled", i[0]))]
    n, hid = len(texts), model.config.head_hidden
    out = {"fast": torch.empty(n, hid), "deep": torch.empty(n, hid), "pooled": torch.empty(n, model.config.d_model),
           "router": torch.empty(n, 3)}
    try:
        for idx, batch in EncodedSuite(texts, tokenizer, model.config, switches, batch_size).batches:
            b = {k: torch.from_numpy(v) for k, v in batch.items()}
            o = model(b["input_ids"], b["attention_mask"], b["char_ids"], b["detector_feats"])
            for k in ("fast", "deep", "pooled"):
                out[k][idx] = seen[k].float()
            out["router"][idx] = o["router_logits"].float()
    finally:
        for h in hooks:
            h.remove()
    return out


def fit_layer(h: torch.Tensor, y: torch.Tensor, w: torch.Tensor, l2: float, init: torch.nn.Linear,
              steps: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted multinomial logistic regression (L-BFGS) of ``y`` on ``h``, started from ``init``'s weights; the
    L2 term pulls toward zero and is scaled per row (``l2 * |W|^2 / 2``, weights summing to 1)."""
    W = init.weight.detach().clone().requires_grad_(True)
    b = init.bias.detach().clone().requires_grad_(True)
    w = w / w.sum()
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.cross_entropy(h @ W.T + b, y, reduction="none") * w).sum() + 0.5 * l2 * (W ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


@torch.no_grad()
def probs_of(model, feats: dict[str, torch.Tensor], layers: dict[str, tuple[torch.Tensor, torch.Tensor]],
             refit_fast: bool = True) -> np.ndarray:
    """Class probabilities by the model's combine rule from the class layers ``layers``. The router reads the fast
    branch's probabilities, so with a refit fast layer (``refit_fast``) it is run again on its pooled input."""
    fast = feats["fast"] @ layers["fast"][0].T + layers["fast"][1]
    deep = feats["deep"] @ layers["deep"][0].T + layers["deep"][1]
    if refit_fast:
        if "pooled" not in feats:
            raise ValueError("a refit fast layer needs the router's pooled input (features cached without it)")
        router = model.router(feats["pooled"], fast)
    else:
        router = feats["router"]
    p = combine_probs(fast, deep, router, model.config.early_exit_threshold, model.config.early_exit_gate)
    return p.numpy()


def read_split(path: Path, limit: int, seed: int) -> tuple[list[str], np.ndarray, list[str]]:
    """``read_labelled_texts``'s rows (the same seeded sample) and each row's group, ``source|is-attack``."""
    texts, y = read_labelled_texts(path, limit or None, seed)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        groups = [f"{r.get('source', '?')}|{r['label'] != 'benign'}" for r in map(json.loads, filter(str.strip, f))]
    keep = subset_rows(len(groups), limit or None, seed)
    return texts, y, groups if keep is None else [groups[i] for i in keep]


def crossfit_folds(rows, strict: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-source-out folds over the suite, strict on language: fold ``s`` scores the rows of source ``s`` and
    may fit on the other sources' rows except those in a non-English language that ``s`` has (the Italian and
    Portuguese rows of yanismiraoui are scored by a fit that saw no Italian or Portuguese row). ``strict=False``
    keeps the other sources' rows of those languages (a diagnostic: do the frozen features separate a held-out
    language's attacks once its language is in the fit?). Returns, per source, (rows scored, rows the fit may use),
    as index arrays."""
    src = np.array([r.source for r in rows])
    lang = np.array([r.lang for r in rows])
    folds = []
    for s in sorted(set(src)):
        held = src == s
        langs = set(lang[held]) - {"en", "und"} if strict else set()
        fit = ~held & ~np.isin(lang, sorted(langs))
        folds.append((np.flatnonzero(held), np.flatnonzero(fit)))
    return folds


def crossfit(model, train: dict, y: np.ndarray, groups: list[str], dev: dict, rows, dev_weight: float, l2: float,
             fpr: float, strict: bool = True) -> dict:
    """DFR proper, estimated honestly: the deep class layer refit on the training sample plus held-out (OOD-dev)
    rows, scored out of fold (``crossfit_folds``). Every row weighs 1 / its (source, attack) group's size; the dev
    rows together weigh ``dev_weight`` times the training rows. The out-of-fold probabilities of all folds make one
    score at the ``fpr`` operating point (each row is scored by a fit that saw neither its source nor, with ``strict``,
    its language). A fold whose fit may use no dev row is the training-only refit."""
    counts = Counter(groups)
    w_train = torch.tensor([1.0 / counts[g] for g in groups])
    w_train = w_train / w_train.sum()
    y_dev = np.array([LABEL2ID[r.label] for r in rows])
    g_dev = [f"{r.source}|{r.is_attack}" for r in rows]
    oof = np.zeros((len(rows), len(LABELS)))
    orig_fast = (model.fast.head.cls.weight.detach(), model.fast.head.cls.bias.detach())
    for held, fit in crossfit_folds(rows, strict):
        c = Counter(g_dev[i] for i in fit)
        w_dev = torch.tensor([1.0 / c[g_dev[i]] for i in fit])
        w_dev = dev_weight * w_dev / w_dev.sum()
        h = torch.cat([train["deep"], dev["deep"][fit]])
        yy = torch.cat([torch.from_numpy(y), torch.from_numpy(y_dev[fit])])
        layer = fit_layer(h, yy, torch.cat([w_train, w_dev]), l2, model.deep.head.cls)
        part = {k: v[held] for k, v in dev.items()}
        oof[held] = probs_of(model, part, {"deep": layer, "fast": orig_fast}, refit_fast=False)
    return operating_point(rows, 1.0 - oof[:, 0], fpr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="data build whose train split is refit on")
    p.add_argument("--suite", type=Path, required=True, help="the OOD-dev suite (the choice is made on it)")
    p.add_argument("--train-rows", type=int, default=20000, help="a seeded sample of the train split (0: all)")
    p.add_argument("--l2", default="0,1e-5,1e-4,1e-3,3e-3,1e-2,3e-2", help="comma-separated L2 strengths")
    p.add_argument("--fpr", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", choices=("deep", "both"), default="deep",
                   help="refit the deep head's class layer alone (the fast branch and so the router unchanged), or both")
    p.add_argument("--cache", type=Path, default=None,
                   help="an .npz of the frozen features: written after the forward passes, read if it exists")
    p.add_argument("--crossfit", default=None, metavar="WEIGHTS",
                   help="comma-separated weights of the OOD-dev rows beside the training rows: refit the deep layer "
                        "on both, scored out of fold (leave one source out, strict on language; see crossfit)")
    p.add_argument("--crossfit-languages", action="store_true",
                   help="with --crossfit, let a fold's fit keep the other sources' rows in its languages (diagnostic)")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    if a.crossfit and a.layers == "both":
        p.error("--crossfit refits the deep class layer only (--layers deep)")
    from tokenizers import Tokenizer

    torch.manual_seed(a.seed)
    t0 = time.perf_counter()
    model = load_checkpoint(a.checkpoint).eval()
    tok = Tokenizer.from_file(str(a.checkpoint / "tokenizer.json"))
    switches = checkpoint_front_end(a.checkpoint)
    texts, y, groups = read_split(a.data / "train.jsonl.gz", a.train_rows, a.seed)
    rows = read_suite(a.suite)
    meta = json.dumps({"checkpoint": str(a.checkpoint), "data": str(a.data), "suite": str(a.suite),
                       "train_rows": a.train_rows, "seed": a.seed})
    keys = ("fast", "deep", "pooled", "router")
    if a.cache is not None and a.cache.is_file():
        z = np.load(a.cache)
        if "meta" not in z or str(z["meta"]) != meta:
            raise SystemExit(f"{a.cache}: built for other rows or another checkpoint "
                             f"({str(z['meta']) if 'meta' in z else 'no record'}); remove it to rebuild")
        train, dev = ({k: torch.from_numpy(z[f"{side}_{k}"]) for k in keys if f"{side}_{k}" in z}
                      for side in ("train", "dev"))
        t_train = t_feats = 0.0
    else:
        train = head_inputs(model, texts, tok, switches)
        t_train = time.perf_counter() - t0
        dev = head_inputs(model, [r.text for r in rows], tok, switches)
        t_feats = time.perf_counter() - t0
        if a.cache is not None:
            a.cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(a.cache, meta=np.array(meta), **{f"{side}_{k}": v[k].numpy()
                                                      for side, v in (("train", train), ("dev", dev)) for k in keys})
    orig = {k: (getattr(model, k).head.cls.weight.detach(), getattr(model, k).head.cls.bias.detach())
            for k in ("fast", "deep")}
    both = a.layers == "both"
    report = {"checkpoint": str(a.checkpoint), "train_rows": len(texts), "suite": str(a.suite), "fpr": a.fpr,
              "layers": a.layers, "seed": a.seed,
              "groups": len(set(groups)), "seconds_features": round(t_feats, 1),
              "seconds_train_features": round(t_train, 1), "fits": []}
    base = operating_point(rows, 1.0 - probs_of(model, dev, orig, refit_fast=False)[:, 0], a.fpr)
    report["original"] = base
    print(f"original: score {base['pint_score']:.4f} recall@1% {base['recall_at_1pct_fpr']:.4f}", flush=True)
    yt = torch.from_numpy(y)
    counts = Counter(groups)
    weightings = {"none": torch.ones(len(y)),
                  "group": torch.tensor([1.0 / counts[g] for g in groups])}
    if a.crossfit:  # held-out rows in the fit, every score out of fold
        for dw in (float(x) for x in a.crossfit.split(",")):
            for l2 in (float(x) for x in a.l2.split(",")):
                op = crossfit(model, train, y, groups, dev, rows, dw, l2, a.fpr, not a.crossfit_languages)
                report["fits"].append({"weighting": "group", "dev_weight": dw, "l2": l2,
                                       "strict_languages": not a.crossfit_languages, **op})
                print(f"crossfit dev_weight={dw:g} l2={l2:g}: score {op['pint_score']:.4f} "
                      f"recall@1% {op['recall_at_1pct_fpr']:.4f}", flush=True)
        weightings = {}
    for wname, w in weightings.items():
        for l2 in (float(x) for x in a.l2.split(",")):
            layers = {"deep": fit_layer(train["deep"], yt, w, l2, model.deep.head.cls),
                      "fast": fit_layer(train["fast"], yt, w, l2, model.fast.head.cls) if both else orig["fast"]}
            op = operating_point(rows, 1.0 - probs_of(model, dev, layers, both)[:, 0], a.fpr)
            train_acc = float((probs_of(model, train, layers, both).argmax(-1) == y).mean())
            report["fits"].append({"weighting": wname, "l2": l2, "train_accuracy": round(train_acc, 4), **op})
            print(f"{wname} l2={l2:g}: score {op['pint_score']:.4f} recall@1% {op['recall_at_1pct_fpr']:.4f} "
                  f"train acc {train_acc:.4f}", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    a.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
