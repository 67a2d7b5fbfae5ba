"""train.router_fit: the router refit alone for an early-exit gate (the rest of the checkpoint untouched)."""

from __future__ import annotations

import json
import shutil

import torch

from tinyguardrail.model.checkpoint import load_checkpoint, load_state_dict_sharded
from tinyguardrail.model.model import ROUTE_BOTH, ROUTE_DEEP, ROUTE_FAST
from tinyguardrail.train import router_fit
from tinyguardrail.train.losses import router_targets


def test_fit_router_learns_the_gates_targets_and_touches_nothing_else(ckpt):
    model = load_checkpoint(ckpt[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(0)
    n = 600
    pooled = torch.randn(n, model.config.d_model, generator=gen)
    labels = torch.randint(0, 4, (n,), generator=gen)
    # fast logits: sure and right, sure and wrong (benign <-> attack), or unsure, by a rule the router can read
    kind = torch.randint(0, 3, (n,), generator=gen)
    logits = torch.zeros(n, 4)
    right = torch.where(labels == 0, 0, labels)
    wrong = torch.where(labels == 0, 1, 0)
    logits[torch.arange(n), torch.where(kind == 1, wrong, right)] = torch.where(kind == 2, 0.5, 6.0)
    report = router_fit.fit_router(model, pooled, logits, labels, "attack", epochs=20)
    targets = router_targets(logits, labels, model.config.early_exit_threshold, "attack")
    assert set(targets.tolist()) == {ROUTE_FAST, ROUTE_DEEP, ROUTE_BOTH}
    assert report["agreement"] >= 0.95 and report["rows"] == n
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed and all(k.startswith("router.") for k in changed)


def test_router_fit_cli_writes_a_checkpoint_with_a_new_router(ckpt, tmp_path):
    ckpt_dir, labelled = ckpt
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(labelled, data / "validation.jsonl.gz")
    out = tmp_path / "rf"
    assert router_fit.main(["--checkpoint", str(ckpt_dir), "--data", str(data), "--out", str(out),
                            "--gate", "attack", "--epochs", "2"]) == 0
    old, new = load_state_dict_sharded(ckpt_dir), load_state_dict_sharded(out)
    assert set(old) == set(new)
    assert all(torch.equal(old[k], new[k]) for k in old if not k.startswith("router."))
    assert any(not torch.equal(old[k], new[k]) for k in old if k.startswith("router."))
    info = json.loads((out / "checkpoint.json").read_text())["router_fit"]
    assert info["gate"] == "attack" and info["rows"] == 64
    load_checkpoint(out)  # loads strictly
