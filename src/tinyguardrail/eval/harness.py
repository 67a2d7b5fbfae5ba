"""Scoring systems (our models, older versions of them, peer detectors) on the evaluation suites, the same rows for
every system in the same run.

A *system* turns texts into ``Predictions``: an attack score in [0, 1] per text (for ROC curves and recall at a
fixed false-positive rate), the system's own flag (its decision at its own threshold) and, for systems run one text
per call, the wall and CPU time of each call. Suite predictions are cached per (system, text) under
``build/eval_cache/<system>/texts.npz``, so re-running the report after a change to one system or to some rows of a
suite only scores what is new (the slowest peer takes ~0.2 s a text); latency is measured anew in every run.

``score_suite`` is the one scoring function: PINT's score (the mean over (cell, attack/benign) groups of the share
of rows the flag gets right; groups of fewer than ``MIN_GROUP`` rows are reported but not averaged), attack recall,
benign false-positive rate, their balanced accuracy (attack vs benign), ROC AUC and recall at 0.1 / 1 / 5 % false-positive rate (threshold taken on the suite's
own benign rows: an oracle per suite, reported beside the system's real decision).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyguardrail.eval.metrics import recall_at_fpr, roc_auc
from tinyguardrail.eval.ood import SuiteRow

MIN_GROUP = 10
RECORD_KEYS = frozenset({"name", "calibration"})  # keys of config.json the runtime does not read
FPRS = (0.001, 0.01, 0.05)


@dataclass
class Predictions:
    scores: np.ndarray  # float [N], higher = more likely an attack
    flags: np.ndarray  # bool [N], the system's own decision
    ms: np.ndarray | None = None  # float [N], wall time of a one-text call (systems run text by text)
    cpu_ms: np.ndarray | None = None
    errors: int = 0
    failed: np.ndarray | None = None  # bool [N]: no answer for that text (a peer's error); counted in ``errors``

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"scores": self.scores, "flags": self.flags, "errors": np.array(self.errors)}
        arrays |= {k: v for k, v in (("ms", self.ms), ("cpu_ms", self.cpu_ms)) if v is not None}
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> Predictions:
        with np.load(path) as z:
            return cls(z["scores"], z["flags"], z["ms"] if "ms" in z else None, z["cpu_ms"] if "cpu_ms" in z else None,
                       int(z["errors"]))


def training_provenance(model_dir: Path | None, data: Path) -> dict:
    """Whether a model was trained on the data build ``data`` (whose hold-outs keep the suites out of training).

    Compares the ``train.jsonl.gz sha256`` the model folder's ``training.json`` records with the build's own file.
    ``same_build`` is True (trained on this build: the leak check covers it), False (another build: nothing keeps
    the suites' sources out of its training data) or None (the folder records no training data).
    """
    from tinyguardrail._model_path import default_model_dir
    from tinyguardrail.hashing import file_sha256

    folder = Path(model_dir) if model_dir else default_model_dir()
    info = json.loads((folder / "training.json").read_text()) if (folder / "training.json").exists() else {}
    recorded = (info.get("data_build") or {}).get("train.jsonl.gz sha256") if isinstance(info, dict) else None
    train = Path(data) / "train.jsonl.gz"
    if not recorded or not train.exists():
        return {"same_build": None, "recorded_train_sha256": recorded}
    return {"same_build": recorded == file_sha256(train), "recorded_train_sha256": recorded}


@dataclass
class GuardSystem:
    """A TinyGuardrail model folder run through the ONNX runtime (``Guard``), in batches."""

    model_dir: Path | None
    label: str = ""
    threads: int = 1
    batch: int = 64
    _guard: object = field(default=None, repr=False)

    @property
    def guard(self):
        if self._guard is None:
            from tinyguardrail.runtime.guard import Guard

            self._guard = Guard.load(self.model_dir, threads=self.threads)
        return self._guard

    @property
    def name(self) -> str:
        """``label``, else the model's own name (``config.json``)."""
        return self.label or self.guard.info().get("name") or "tinyguardrail"

    @property
    def ident(self) -> str:
        """Changes whenever what the runtime reads of the model folder changes (the ONNX graphs, ``tokenizer.json``,
        ``config.json`` but for its ``name`` and its ``calibration`` record, whose thresholds the runtime reads from
        ``thresholds`` / ``policy``) or the runtime's scoring does (``runtime.guard.SCORING_REVISION``). A renamed copy
        of a model, or new records beside it (``training.json``, the model card), keeps its cache."""
        from tinyguardrail._model_path import default_model_dir
        from tinyguardrail.runtime.guard import SCORING_REVISION

        folder = Path(self.model_dir) if self.model_dir else default_model_dir()
        h = hashlib.sha256(f"scoring-revision-{SCORING_REVISION}".encode())
        for p in sorted(folder.iterdir()):
            if p.name == "config.json":
                config = {k: v for k, v in json.loads(p.read_text(encoding="utf-8")).items() if k not in RECORD_KEYS}
                h.update(p.name.encode() + json.dumps(config, sort_keys=True).encode())
            elif p.name == "tokenizer.json" or (p.suffix == ".onnx" and not p.name.endswith(".fp32.onnx")):
                h.update(p.name.encode() + p.read_bytes())
        return f"guard-{h.hexdigest()[:16]}"

    def predict(self, texts: Sequence[str]) -> Predictions:
        scores, flags = [], []
        for i in range(0, len(texts), self.batch):
            for v in self.guard.check_batch(list(texts[i : i + self.batch])):
                scores.append(1.0 - v.scores["benign"])
                flags.append(not v.is_safe)
        return Predictions(np.asarray(scores, dtype=np.float64), np.asarray(flags, dtype=bool))

    def latency(self, texts: Sequence[str]) -> Predictions:
        """One text per ``check`` call, one thread: the same protocol as the peers' workers."""
        guard = self.guard
        for t in texts[:20]:
            guard.check(t)  # warm-up (lazy tables, the character cache)
        ms, cpu = [], []
        for t in texts:
            w0, c0 = time.perf_counter(), time.process_time()
            guard.check(t)
            ms.append(1e3 * (time.perf_counter() - w0))
            cpu.append(1e3 * (time.process_time() - c0))
        p = self.predict(texts)
        return Predictions(p.scores, p.flags, np.asarray(ms), np.asarray(cpu))


@dataclass
class PeerSystem:
    """An offline peer detector in its own virtual environment, driven over a JSONL pipe (``eval.peers``)."""

    peer: str
    root: Path = Path(".peers")
    timeout_s: float = 60.0
    skip: frozenset[str] = frozenset({"test"})
    """Suites not run: the in-distribution test split of our own data says nothing about a peer (and would cost the
    slowest peer a quarter of an hour)."""

    @property
    def name(self) -> str:
        return self.peer

    @property
    def ident(self) -> str:
        from tinyguardrail.eval.peers import PEERS

        return f"peer-{self.peer}-{PEERS[self.peer].version}"

    def predict(self, texts: Sequence[str]) -> Predictions:
        from tinyguardrail.eval.peers import run_peer

        r = run_peer(self.peer, list(texts), root=self.root, timeout_s=self.timeout_s)
        return Predictions(np.nan_to_num(np.asarray(r.scores, dtype=np.float64)), np.asarray(r.flags, dtype=bool),
                           np.asarray(r.ms, dtype=np.float64), np.asarray(r.cpu_ms, dtype=np.float64), r.n_errors,
                           ~r.ok)

    latency = predict


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def cached(system, texts: Sequence[str], cache: Path | None) -> Predictions:
    """``system.predict`` of ``texts``, from ``cache`` where this system already scored them (text by text). Latency
    is never cached: a report's timings all come from its own run, on one state of the machine."""
    if cache is None:
        return system.predict(texts)
    folder = Path(cache) / system.ident
    path = folder / "texts.npz"
    store: dict[str, tuple[float, bool, bool]] = {}
    if path.exists():
        with np.load(path) as z:
            store = {k: (float(s), bool(f), bool(e)) for k, s, f, e in zip(z["keys"], z["scores"], z["flags"],
                                                                         z["failed"], strict=True)}
    keys = [_text_key(t) for t in texts]
    todo = sorted({k: i for i, k in enumerate(keys) if k not in store}.values())
    if todo:
        pred = system.predict([texts[i] for i in todo])
        failed = pred.failed if pred.failed is not None else np.zeros(len(todo), dtype=bool)
        for j, i in enumerate(todo):
            store[keys[i]] = (float(pred.scores[j]), bool(pred.flags[j]), bool(failed[j]))
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, keys=np.array(list(store)), scores=np.array([v[0] for v in store.values()]),
                            flags=np.array([v[1] for v in store.values()]),
                            failed=np.array([v[2] for v in store.values()]))
    got = [store[k] for k in keys]
    failed = np.array([v[2] for v in got], dtype=bool)
    return Predictions(np.array([v[0] for v in got]), np.array([v[1] for v in got], dtype=bool),
                       errors=int(failed.sum()), failed=failed)


def score_suite(rows: Sequence[SuiteRow], pred: Predictions) -> dict:
    """Every number the report shows for one suite and one system (see the module docstring)."""
    y = np.array([r.is_attack for r in rows], dtype=bool)
    flags, scores = np.asarray(pred.flags, dtype=bool), np.asarray(pred.scores, dtype=np.float64)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[(r.cell, "attack" if r.is_attack else "benign")].append(i)
    cells = {}
    for (cell, kind), idx in sorted(groups.items()):
        correct = flags[idx] == (kind == "attack")
        cells[f"{cell}|{kind}"] = {"n": len(idx), "accuracy": float(correct.mean())}
    scored = [v["accuracy"] for v in cells.values() if v["n"] >= MIN_GROUP]
    out = {
        "n": len(rows), "n_attack": int(y.sum()), "n_benign": int((~y).sum()),
        "pint_score": float(np.mean(scored)) if scored else None,
        "attack_recall": float(flags[y].mean()) if y.any() else None,
        "benign_fpr": float(flags[~y].mean()) if (~y).any() else None,
        "balanced_accuracy": float((flags[y].mean() + 1 - flags[~y].mean()) / 2) if y.any() and (~y).any() else None,
        "roc_auc": roc_auc(y, scores) if y.any() and (~y).any() else None,
        "cells": cells,
        "errors": pred.errors,
    }
    if y.any() and (~y).any():
        out |= {f"recall_at_{100 * f:g}pct_fpr": recall_at_fpr(y, scores, f) for f in FPRS}
    return out


def variant_rates(system, sets: dict[str, dict[str, list[str]]]) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """A probe's numbers: ``system``'s share of flagged rows and mean P(attack) for every variant of every set of
    texts (``{set: {variant: texts}}``; keys ``"<set>: flagged, <variant>"`` / ``"<set>: mean score, <variant>"``),
    and the flags themselves. Used by ``scripts/placeholder_probe.py`` and ``scripts/wrapper_probe.py``."""
    res: dict = {}
    flags: dict[str, dict[str, np.ndarray]] = {}
    for set_name, variants in sets.items():
        flags[set_name] = {}
        for variant, batch in variants.items():
            pred = system.predict(batch)
            flags[set_name][variant] = np.asarray(pred.flags, dtype=bool)
            res[f"{set_name}: flagged, {variant}"] = round(float(np.mean(pred.flags)), 4)
            res[f"{set_name}: mean score, {variant}"] = round(float(np.mean(pred.scores)), 4)
    return res, flags


def latency_summary(pred: Predictions) -> dict:
    if pred.ms is None:
        return {}
    ms = np.asarray(pred.ms)
    out = {"n": len(ms), **{f"p{q}_ms": float(np.percentile(ms, q)) for q in (50, 95, 99)}, "mean_ms": float(ms.mean())}
    if pred.cpu_ms is not None:
        out["mean_cpu_ms"] = float(np.mean(pred.cpu_ms))
    return out


def weakest_cells(result: dict, k: int = 3) -> list[tuple[str, float, int]]:
    """The ``k`` (cell, label) groups of a suite result with the lowest accuracy (groups of ``MIN_GROUP`` rows or more)."""
    cells = [(name, v["accuracy"], v["n"]) for name, v in result["cells"].items() if v["n"] >= MIN_GROUP]
    return sorted(cells, key=lambda c: c[1])[:k]


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
