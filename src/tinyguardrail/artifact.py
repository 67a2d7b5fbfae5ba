"""The model folder's contract, torch-free: what ``tinyguardrail export`` writes and ``Guard.load`` reads.

A model folder holds ``config.json`` (:data:`FORMAT_VERSION`), ``tokenizer.json``, ``fast.onnx``, ``deep.onnx``
(or none: ``files.deep`` null) and, when the character CNN was cut out of the fast graph (``export.split``),
``char.onnx``. This module owns both ends of ``config.json`` (:func:`build_config` writes it, :class:`ModelConfig`
reads and validates it, :func:`verify_files` checks the sha256 it lists), the ONNX graphs' input and output names
and the check that a graph has them (:func:`check_io`), and the rule that combines the two branches' outputs
(:func:`combine_probs`, the NumPy twin of ``model.model.combine_probs``; ``tests/model/test_model_guardrail.py``
holds them equal on random logits).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.features import CHAR_VOCAB
from tinyguardrail.hashing import file_sha256
from tinyguardrail.labels import DECISION_GATES, EXIT_GATES, LABELS
from tinyguardrail.preprocess import DEFAULT_SWITCHES, check_front_end

FORMAT_VERSION = 1
FAST_INPUTS = ("input_ids", "attention_mask", "char_ids", "detector_feats")
FAST_INPUTS_SPLIT = ("input_ids", "attention_mask", "char_vecs", "detector_feats")
"""Inputs of a fast graph whose character CNN was cut out into ``char.onnx`` (``export.split``)."""
FAST_OUTPUTS = ("fast_logits", "fast_severity", "router_logits", "hidden")
DEEP_INPUTS = ("hidden", "attention_mask")
DEEP_OUTPUTS = ("deep_logits", "severity")
CHAR_INPUT = "char_ids"
CHAR_OUTPUT = "char_vecs"
"""Input and output of ``char.onnx``, the character CNN cut out of the fast graph (``export.split``)."""


@dataclass(frozen=True)
class ModelConfig:
    """``config.json`` of a model directory (format_version 1), validated strictly on load."""

    name: str
    max_len: int
    max_chars: int
    detector_names: tuple[str, ...]
    pad_id: int
    early_exit_threshold: float
    files: dict[str, str]
    sha256: dict[str, str] = field(default_factory=dict)
    window_overlap: int | None = None
    early_exit_gate: str = "label"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, model_dir: Path) -> ModelConfig:
        path = model_dir / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"{model_dir} is not a model directory: no config.json")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON ({exc})") from exc
        if raw.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: format_version {raw.get('format_version')!r}, this runtime reads {FORMAT_VERSION}")
        missing = [k for k in ("name", "labels", "max_len", "max_chars", "char_vocab", "detector_names", "pad_id",
                               "early_exit_threshold", "files") if k not in raw]
        if missing:
            raise ValueError(f"{path}: missing keys {missing}")
        if tuple(raw["labels"]) != LABELS:
            raise ValueError(f"{path}: labels {raw['labels']} differ from the runtime's {list(LABELS)}")
        if raw["char_vocab"] != CHAR_VOCAB:
            raise ValueError(f"{path}: char_vocab {raw['char_vocab']} differs from features.CHAR_VOCAB {CHAR_VOCAB}")
        check_front_end(raw.get("front_end"), str(path))  # normalize / detector input as trained = as served
        files = dict(raw["files"])
        for role in ("fast", "tokenizer"):
            if not files.get(role):
                raise ValueError(f"{path}: files.{role} missing")
        if "deep" not in files:  # null is allowed (a model exported without a deep branch); absent is not
            raise ValueError(f"{path}: files.deep missing (use null for a model without a deep branch)")
        max_len, overlap = int(raw["max_len"]), raw.get("window_overlap")
        if max_len < 3:
            raise ValueError(f"{path}: max_len {max_len} is too small")
        gate = raw.get("early_exit_gate", "label")  # absent in models exported before the gate was a setting
        if gate not in EXIT_GATES:
            raise ValueError(f"{path}: early_exit_gate {gate!r} is not one of {list(EXIT_GATES)}")
        return cls(
            name=str(raw["name"]),
            max_len=max_len,
            max_chars=int(raw["max_chars"]),
            detector_names=tuple(raw["detector_names"]),
            pad_id=int(raw["pad_id"]),
            early_exit_threshold=float(raw["early_exit_threshold"]),
            files=files,
            sha256=dict(raw.get("sha256") or {}),
            window_overlap=int(overlap) if overlap is not None else None,
            early_exit_gate=gate,
            raw=raw,
        )


def verify_files(model_dir: Path, config: ModelConfig, used: dict[str, str]) -> None:
    """Check the sha256 of every file we load that ``config.json`` lists (keyed by file name or by role)."""
    for role, name in used.items():
        expected = config.sha256.get(name) or config.sha256.get(role)
        if expected is None:
            continue
        actual = file_sha256(model_dir / name)
        if actual != expected.lower():
            raise ValueError(f"{model_dir / name}: sha256 {actual[:16]}... does not match config.json ({expected[:16]}...)")


def build_config(model_config: Any, *, name: str, detector_names: Sequence[str], files: Mapping[str, str | None],
                 folder: Path, quantization: str, parameters: int, export_info: Mapping[str, Any],
                 front_end: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``config.json`` of a model folder whose files are already in ``folder`` (their sha256 are taken here).

    ``model_config``: the model's ``GuardrailConfig`` (max_len, max_chars, char_vocab, pad_id, early_exit_threshold,
    ``to_dict``); ``front_end``: the switches it was trained with (default the runtime's).
    """
    if int(model_config.char_vocab) != CHAR_VOCAB:
        raise ValueError(f"the model's char_vocab {model_config.char_vocab} differs from features.CHAR_VOCAB {CHAR_VOCAB}")
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "labels": list(LABELS),
        "max_len": int(model_config.max_len),
        "max_chars": int(model_config.max_chars),
        "char_vocab": int(model_config.char_vocab),
        "detector_names": list(detector_names),
        "pad_id": int(model_config.pad_id),
        "early_exit_threshold": float(model_config.early_exit_threshold),
        "early_exit_gate": str(getattr(model_config, "early_exit_gate", "label")),
        "front_end": dict(front_end) if front_end is not None else DEFAULT_SWITCHES.config(),
        "files": dict(files),
        "sha256": {f: file_sha256(Path(folder) / f) for f in files.values() if f is not None},
        "quantization": quantization,
        "parameters": int(parameters),
        "model": model_config.to_dict() if hasattr(model_config, "to_dict") else dict(vars(model_config)),
        "export": dict(export_info),
    }


def softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def exit_confidence(probs: np.ndarray, gate: str = "label") -> np.ndarray:
    """How sure the fast branch is, for the early exit [N]: its largest class probability (``gate="label"``) or its
    block-or-allow probability ``max(P(benign), 1 - P(benign))`` (``gate="attack"`` or ``"decision"``)."""
    if gate == "label":
        return probs.max(axis=-1)
    if gate in DECISION_GATES:
        return np.maximum(probs[:, 0], 1.0 - probs[:, 0])
    raise ValueError(f"early-exit gate {gate!r} is not one of {list(EXIT_GATES)}")


def combine_probs(
    fast_logits: np.ndarray,
    fast_severity: np.ndarray,
    router_logits: np.ndarray,
    early_exit_threshold: float,
    run_deep: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None,
    benign_below: float | None = None,
    gate: str = "label",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runtime mirror of the model's ``combine_probs`` / ``combine_severity``: the only place the rule lives.

    A row exits early (deep branch skipped) when the fast branch's confidence (``exit_confidence``: its max
    probability, or with ``gate="attack"`` / ``"decision"`` its block-or-allow probability) is at least
    ``early_exit_threshold`` *and* the router's argmax is 0 (fast only; with ``gate="decision"``: not 1, deep only):
    probabilities ``softmax(fast_logits)``,
    severity ``fast_severity``. Every other row runs the deep branch: router argmax 1 -> ``softmax(deep_logits)``
    and the deep severity; otherwise (argmax 2, or argmax 0 without enough confidence) -> the mean of both
    softmaxes and of both severities (as ``model.model.combine_severity`` does for route 2).

    Args:
        fast_logits: [N, 4]; fast_severity: [N]; router_logits: [N, 3].
        early_exit_threshold: > 1 disables early exit.
        gate: ``labels.EXIT_GATES``: "label" (the class must be sure) or "attack" (the block / allow decision must),
            each with the router's fast-only choice; "decision" (the block / allow decision must, and the router
            must not send the row to the deep branch alone).
        benign_below: a runtime-only shortcut (not in the training-time rule): a row that would average both
            branches (router argmax not 1) and whose fast ``P(attack) = 1 - P(benign)`` is below this also answers
            from the fast branch. With ``benign_below = 2 t - 1`` the averaged ``P(attack)``, at most
            ``(fast + 1) / 2``, could not have reached ``t``: the deep branch could not have changed a decision
            taken at ``t`` or above (:func:`decided_bound`). None: off.
        run_deep: ``row indices [M] -> (deep_logits [M, 4], severity [M])``, called at most once, only with the
            rows that need it; None for a model exported without a deep branch (every row answers from fast).

    Returns:
        probs [N, 4] float32, severity [N] float32, branch [N] int8 (0 fast, 1 deep, 2 both).
    """
    fast_p = softmax(fast_logits)
    fast_sev = np.asarray(fast_severity, dtype=np.float32).reshape(-1)
    route = np.asarray(router_logits).argmax(axis=-1)
    early = exit_confidence(fast_p, gate) >= early_exit_threshold
    # the router must choose the fast branch; under "decision", only not choose the deep branch alone
    early &= (route != 1) if gate == "decision" else (route == 0)
    if benign_below is not None:
        early |= (route != 1) & (1.0 - fast_p[:, 0] < benign_below)
    probs = fast_p.copy()
    severity = fast_sev.copy()
    branch = np.zeros(len(probs), dtype=np.int8)
    rows = np.flatnonzero(~early)
    if rows.size and run_deep is not None:
        deep_logits, deep_severity = run_deep(rows)
        deep_p = softmax(deep_logits)
        deep_sev = np.asarray(deep_severity, dtype=np.float32).reshape(-1)
        deep_only = route[rows] == 1
        probs[rows] = np.where(deep_only[:, None], deep_p, (fast_p[rows] + deep_p) / 2)
        severity[rows] = np.where(deep_only, deep_sev, (fast_sev[rows] + deep_sev) / 2)
        branch[rows] = np.where(deep_only, 1, 2)
    return probs, severity, branch


def check_io(session: Any, inputs: Sequence[str], outputs: Sequence[str], path: Path) -> None:
    """Raise ``ValueError`` unless an ONNX Runtime session has exactly ``inputs`` and at least ``outputs``."""
    got_in = {i.name for i in session.get_inputs()}
    got_out = {o.name for o in session.get_outputs()}
    if got_in != set(inputs) or not set(outputs) <= got_out:
        raise ValueError(
            f"{path}: inputs {sorted(got_in)} / outputs {sorted(got_out)}; expected inputs {list(inputs)} and outputs "
            f"{list(outputs)} (format_version {FORMAT_VERSION})"
        )
