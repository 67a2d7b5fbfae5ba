"""Refit a checkpoint's router alone, for the runtime's early-exit gate.

The router (``model.Router``) reads the fast branch's pooled vector and probabilities *detached*: its loss trains
nothing else, so refitting it on a finished checkpoint is the router that training would have given the same fast
branch. Two reasons to do so:

* its targets (``train.losses.router_targets``) follow the early-exit gate, and checkpoints trained before the gate
  was passed to them learnt "the class is sure" even under gate "attack", which asks "the block-or-allow decision
  is sure": they send sure decisions whose attack type is split (most long jailbreak prompts) to both branches;
* a model soup averages its ingredients' routers, which need not route like any of them.

The rows are a data split (default: ``validation``, which no choice is made on; never an evaluation suite), read
as in training (truncated to ``max_len`` tokens, no windows or views). The rest of the checkpoint is copied as is.

    python -m tinyguardrail.train.router_fit --checkpoint runs/soup --data build/data --out runs/soup_rf --gate attack
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tinyguardrail.data.io import DEFAULT_BUILD, read_labelled_texts
from tinyguardrail.eval.torch_eval import EncodedSuite
from tinyguardrail.labels import EXIT_GATES
from tinyguardrail.model.checkpoint import checkpoint_front_end, load_checkpoint, save_checkpoint
from tinyguardrail.model.model import ROUTES
from tinyguardrail.train.losses import router_targets


@torch.no_grad()
def router_inputs(model, texts: list[str], tokenizer, switches, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(pooled [N, D], fast_logits [N, C]) of the fast branch, rows in the input order (``EncodedSuite``'s batches of
    similar length)."""
    pooled = torch.empty(len(texts), model.config.d_model)
    logits = torch.empty(len(texts), model.config.n_classes)
    for idx, batch in EncodedSuite(texts, tokenizer, model.config, switches, batch_size).batches:
        enc = {k: torch.from_numpy(v) for k, v in batch.items()}
        emb = model.embed(enc["input_ids"], enc["char_ids"], enc["detector_feats"])
        lg, _, _, _, pl = model._fast_from_embeddings(emb, enc["attention_mask"].bool(), enc["detector_feats"])
        pooled[idx], logits[idx] = pl.float(), lg.float()
    return pooled, logits


def fit_router(model, pooled: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, gate: str,
               epochs: int = 30, lr: float = 3e-3, seed: int = 0) -> dict:  # fmt: skip
    """Train ``model.router`` (re-initialised) on the rows' router targets under ``gate``, class-balanced cross
    entropy, full-batch Adam; returns the targets' shares and the fit's agreement with them."""
    if model.router is None:
        raise ValueError("the checkpoint has no router (use_router off, or a single branch)")
    threshold = float(model.config.early_exit_threshold)
    targets = router_targets(logits, labels, threshold, gate)
    counts = torch.bincount(targets, minlength=len(ROUTES)).float()
    weight = torch.where(counts > 0, counts.sum() / (len(ROUTES) * counts.clamp_min(1)), torch.zeros_like(counts))
    torch.manual_seed(seed)
    for m in model.router.modules():
        if isinstance(m, torch.nn.Linear):
            m.reset_parameters()
    router = model.router.train()
    opt = torch.optim.Adam(router.parameters(), lr=lr)
    for _ in range(epochs * 10):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(router(pooled, logits), targets, weight=weight)
        loss.backward()
        opt.step()
    router.eval()
    with torch.no_grad():
        pred = router(pooled, logits).argmax(-1)
    return {"rows": len(targets), "targets": {r: round(float(c / counts.sum()), 4) for r, c in
                                              zip(ROUTES, counts, strict=True)},
            "agreement": round(float((pred == targets).float().mean()), 4),
            "routed": {r: round(float((pred == i).float().mean()), 4) for i, r in enumerate(ROUTES)},
            "loss": round(float(loss.detach()), 4)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD, help="data build whose --split rows are read")
    p.add_argument("--split", default="validation", choices=("train", "validation"))
    p.add_argument("--limit", type=int, default=0, help="rows (a seeded sample; 0: all)")
    p.add_argument("--gate", choices=EXIT_GATES, default=None, help="default: the checkpoint's early_exit_gate")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    model = load_checkpoint(a.checkpoint)
    gate = a.gate or model.config.early_exit_gate
    texts, labels = read_labelled_texts(a.data / f"{a.split}.jsonl.gz", a.limit or None, a.seed)
    tokenizer = Tokenizer.from_file(str(a.checkpoint / "tokenizer.json"))
    pooled, logits = router_inputs(model, texts, tokenizer, checkpoint_front_end(a.checkpoint))
    labels = torch.from_numpy(labels)
    report = fit_router(model, pooled, logits, labels, gate, a.epochs, seed=a.seed)
    report.update(gate=gate, split=str(a.data / f"{a.split}.jsonl.gz"), checkpoint=str(a.checkpoint),
                  seconds=round(time.perf_counter() - t0, 1))
    run_file = a.checkpoint / "train_config.json"
    run_config = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else None
    save_checkpoint(a.out, model, run_config, a.checkpoint / "tokenizer.json", {"router_fit": report})
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
