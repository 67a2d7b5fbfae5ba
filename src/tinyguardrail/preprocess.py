"""The text front end of the model, assembled once: training, export, evaluation of checkpoints and the runtime's
contract all take it from here.

    text --sanitize--> raw --normalize--> normalized --features.encode_batch--> model inputs
                        \\--detectors (on the raw text by default)--------------^ detector_feats

Three switches change it, and all are recorded with the model: ``normalize`` (``text.normalize`` before encoding;
the runtime always normalizes), ``detector_input`` (detector scores of the ``raw`` text, as the runtime computes
them, or of the ``normalized`` one) and ``script_marks`` (decoders read scripts with combining marks, such as Hindi
or Thai, as text: ``text.views.Limits.script_marks``; the runtime serves either, as the model was trained), held
together by one :class:`FrontEndSwitches`. Training reads them from ``TrainConfig``; export writes them into the
model folder's ``config.json`` (``front_end``); ``Guard.load`` refuses a model whose front end the runtime does not
implement (:func:`check_front_end`) and serves the others with the front end they were trained with, so a run that
changed them cannot ship a silent train/serve mismatch. One deliberate exception: ``tinyguardrail-v0.17`` serves
v0.16's weights, trained without ``script_marks``, with it on (its ``training.json`` says so; chosen on the OOD-dev
suite, docs/ablations.md, twenty-fourth session).

The runtime adds views (decoders) and windows on top of this; :class:`FrontEnd` holds the text functions it calls
(normalize, views, detectors, features), and each view's text goes through the same steps. ``features.py`` is the last step (tokens and character ids); this module puts the steps in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.features import encode_batch, sanitize
from tinyguardrail.hashing import file_sha256

__all__ = [
    "DEFAULT_SWITCHES",
    "DETECTOR_INPUTS",
    "FrontEnd",
    "FrontEndSwitches",
    "RUNTIME_FRONT_END",
    "check_front_end",
    "detector_names",
    "encode_texts",
    "encode_texts_batch1",
    "get_normalize",
    "sanitize",
    "text_stage",
]

DETECTOR_INPUTS = ("raw", "normalized")
#: The front end the ONNX runtime implements: what every shipped model must have been trained with.
RUNTIME_FRONT_END: dict[str, Any] = {"normalize": True, "detector_input": "raw"}


def get_normalize() -> Callable[[str], str] | None:
    """``text -> normalize(text).text`` or None while ``text.normalize`` is absent."""
    try:
        from tinyguardrail.text.normalize import normalize
    except ImportError:
        return None
    return lambda t: normalize(t).text


def detector_names() -> tuple[str, ...] | None:
    """``DETECTOR_NAMES`` or None while ``text.detectors`` is absent."""
    try:
        from tinyguardrail.text.detectors import DETECTOR_NAMES
    except ImportError:
        return None
    return tuple(DETECTOR_NAMES)


@dataclass(frozen=True)
class FrontEndSwitches:
    """The three switches of the text front end (see the module docstring), the same at training and at serving
    time: built from ``TrainConfig`` (``TrainConfig.front_end``), recorded with the model (:meth:`config`) and read
    back from it (:meth:`from_config`).

    Attributes:
        normalize: ``text.normalize`` before encoding.
        detector_input: detector scores of the ``"raw"`` or the ``"normalized"`` text (:data:`DETECTOR_INPUTS`).
        script_marks: the views (and the detectors reading them) read scripts with combining marks as text.
    """

    normalize: bool = True
    detector_input: str = "raw"
    script_marks: bool = False

    def __post_init__(self) -> None:
        if self.detector_input not in DETECTOR_INPUTS:
            raise ValueError(f"detector_input must be one of {DETECTOR_INPUTS}, got {self.detector_input!r}")

    @classmethod
    def from_config(cls, recorded: Mapping[str, Any] | None) -> FrontEndSwitches:
        """The switches of a recorded ``front_end`` (:meth:`config`'s dict; None for folders written before it was
        recorded: the defaults). Raises ``ValueError`` for a key that is not a switch, a missing ``normalize`` or
        ``detector_input``, or a ``script_marks`` that is not a bool."""
        if recorded is None:
            return cls()
        known, marks = {f.name for f in fields(cls)}, recorded.get("script_marks", False)
        if not {"normalize", "detector_input"} <= set(recorded) <= known or not isinstance(marks, bool):
            raise ValueError(f"not a recorded front end: {dict(recorded)} (normalize, detector_input and optionally "
                             "script_marks, true or false)")
        return cls(**recorded)

    @classmethod
    def from_train(cls, train: Mapping[str, Any]) -> FrontEndSwitches:
        """The switches of a run config's ``train`` section (a checkpoint's ``train_config.json``); a key that is
        absent (a run written before the switch existed) takes its default."""
        return cls(**{f.name: train[f.name] for f in fields(cls) if f.name in train})

    def config(self) -> dict[str, Any]:
        """The ``front_end`` entry of a model folder's ``config.json`` (``script_marks`` only when on, so the entry
        of a model trained without it reads as before)."""
        out: dict[str, Any] = {"normalize": bool(self.normalize), "detector_input": self.detector_input}
        if self.script_marks:
            out["script_marks"] = True
        return out

    def signature(self) -> dict[str, str]:
        """What encoded features depend on besides the data and tokenizer: a hash of the sources of the whole
        ``tinyguardrail.text`` package, subpackages included (normalize, views, detectors), keyed by their paths
        relative to the package, and of ``features.py`` (feature-cache keys)."""
        import tinyguardrail.features as feats_mod
        import tinyguardrail.text as text_pkg

        h = hashlib.sha256()
        root = Path(text_pkg.__file__).parent
        for rel in sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py")):  # subpackages (views/) too
            h.update(rel.encode() + b"\0" + (root / rel).read_bytes())
        out = {
            "normalize": "on" if self.normalize else "off",
            "text": h.hexdigest()[:16],
            "features": file_sha256(feats_mod.__file__)[:16],
            "detectors": ",".join(detector_names() or ()),
        }
        if self.script_marks:
            out["script_marks"] = "on"
        return out

    def view_limits(self) -> Any:
        """The ``text.views.Limits`` of this front end (the defaults, with ``script_marks``)."""
        from tinyguardrail.text.views import DEFAULT_LIMITS, Limits

        return Limits(script_marks=True) if self.script_marks else DEFAULT_LIMITS

    def detector_fn(self, n_feats: int) -> Callable[[str], np.ndarray]:
        """``text.detectors.feature_vector`` when present (its views with ``script_marks``), else zeros of length
        ``n_feats``."""
        try:
            from tinyguardrail.text.detectors import feature_vector
        except ImportError:
            zeros = np.zeros(n_feats, dtype=np.float32)
            return lambda _t: zeros
        if self.script_marks:
            return partial(feature_vector, limits=self.view_limits())
        return feature_vector


#: ``TrainConfig``'s switches (the runtime's front end, ``script_marks`` off): the default of every signature here.
DEFAULT_SWITCHES = FrontEndSwitches()


def check_front_end(recorded: Mapping[str, Any] | None, where: str = "config.json") -> None:
    """Raise ``ValueError`` unless the runtime implements ``recorded`` (a model's ``front_end``; None for folders
    written before it was recorded, which all used the runtime's): :data:`RUNTIME_FRONT_END`, with or without
    ``script_marks``."""
    if recorded is None:
        return
    try:
        switches: FrontEndSwitches | None = FrontEndSwitches.from_config(recorded)
    except ValueError:
        switches = None
    if switches is None or replace(switches, script_marks=False) != FrontEndSwitches(**RUNTIME_FRONT_END):
        raise ValueError(f"{where}: the model was trained with front end {dict(recorded)}, the runtime implements "
                         f"{RUNTIME_FRONT_END} (script_marks true or false); retrain with the runtime's "
                         "(TrainConfig.normalize / detector_input / script_marks)")


def text_stage(texts: Sequence[str], n_feats: int, normalize: Callable[[str], str] | None,
               detect: Callable[[str], np.ndarray], detector_input: str = "raw") -> tuple[list[str], np.ndarray]:
    """(normalized texts, detector scores [n, F]) of already sanitized ``texts``.

    Detector scores come from the raw text (``detector_input="raw"``: normalizing removes the invisible characters,
    homoglyphs and hidden markup some detectors look for) or from the normalized text; it must match the runtime.
    """
    out = [normalize(t) for t in texts] if normalize is not None else list(texts)
    src = texts if detector_input == "raw" else out
    feats = np.zeros((len(texts), n_feats), dtype=np.float32)
    if n_feats:
        for i, t in enumerate(src):
            feats[i] = detect(t)
    return out, feats


def _stage_for(cfg: Any, switches: FrontEndSwitches) -> Callable[[Sequence[str]], tuple[list[str], np.ndarray]]:
    n_feats = int(cfg.n_detector_feats)
    norm = get_normalize() if switches.normalize else None
    det = switches.detector_fn(n_feats)
    return lambda texts: text_stage([sanitize(t) for t in texts], n_feats, norm, det, switches.detector_input)


def encode_texts(texts: Sequence[str], tokenizer: Any, cfg: Any, switches: FrontEndSwitches = DEFAULT_SWITCHES
                 ) -> dict[str, np.ndarray]:  # fmt: skip
    """One padded batch of model inputs for ``texts`` (``cfg``: the model's config: max_len, max_chars, pad_id,
    n_detector_feats)."""
    out, feats = _stage_for(cfg, switches)(texts)
    return encode_batch(tokenizer, out, int(cfg.max_len), int(cfg.max_chars), None, int(cfg.pad_id),
                        detector_feats=feats)  # fmt: skip


def encode_texts_batch1(texts: Sequence[str], tokenizer: Any, cfg: Any, switches: FrontEndSwitches = DEFAULT_SWITCHES
                        ) -> list[dict[str, np.ndarray]]:  # fmt: skip
    """One batch-1 feed per text (export calibration and parity compare graphs text by text)."""
    stage = _stage_for(cfg, switches)
    feeds = []
    for text in texts:
        out, feats = stage([text])
        if feats.shape[1] != int(cfg.n_detector_feats):
            raise ValueError(f"detector features have {feats.shape[1]} columns, the model reads {cfg.n_detector_feats}")
        feeds.append(encode_batch(tokenizer, out, int(cfg.max_len), int(cfg.max_chars), None, int(cfg.pad_id),
                                  detector_feats=feats))  # fmt: skip
    return feeds


@dataclass(frozen=True)
class FrontEnd:
    """The text front end the guard calls (``tinyguardrail.text``); injectable so tests can use stand-ins.

    Attributes:
        normalize: ``text -> Normalized`` with ``.text`` and ``.changes``.
        make_views: ``text -> list[View]`` with ``.name``, ``.text`` and optionally ``.confidence`` (0..1, default 1).
        detect: ``detect(text, normalized=..., views=...) -> dict[name, score]``.
        feature_vector: ``text -> float32[F]``, the model's detector features (``features.encode_batch``'s
            ``detector_fn``), computed on the raw text of the original reading (as in training) and on each view's text.
        detector_names: names of the ``F`` features, checked against the model's ``config.json``.
        feature_vector_with: optional ``(text, normalized, views) -> float32[F]`` giving the same result as
            ``feature_vector(text)`` from already computed ``normalize(text)`` / ``make_views`` results (saves
            one round of decoding per input).
        warm_up: optional, called once at load so the first request does not build lexicons.
        features_are_scores: the features of a text are ``detect``'s scores in ``detector_names`` order (true of
            ``tinyguardrail.text``), so the guard reuses the scores it already has instead of detecting twice.
    """

    normalize: Callable[[str], Any]
    make_views: Callable[[str], Sequence[Any]]
    detect: Callable[..., dict[str, float]]
    feature_vector: Callable[[str], np.ndarray]
    detector_names: tuple[str, ...]
    feature_vector_with: Callable[[str, Any, Any], np.ndarray] | None = None
    warm_up: Callable[[], None] | None = None
    features_are_scores: bool = False

    @classmethod
    def default(cls, switches: FrontEndSwitches = DEFAULT_SWITCHES) -> FrontEnd:
        """``tinyguardrail.text``; its views (and the detectors reading them) with ``script_marks`` as the model
        was trained (``switches``: ``front_end`` of its ``config.json``)."""
        try:
            from tinyguardrail.text.detectors import DETECTOR_NAMES, detect, feature_vector
            from tinyguardrail.text.normalize import normalize
            from tinyguardrail.text.views import make_views, warm_up
        except ImportError as exc:  # pragma: no cover - only before the text package lands
            raise ImportError(f"the text front end (tinyguardrail.text) is not available: {exc}") from exc
        if switches.script_marks:
            limits = switches.view_limits()
            make_views, detect = partial(make_views, limits=limits), partial(detect, limits=limits)
            feature_vector = partial(feature_vector, limits=limits)
        return cls(normalize, make_views, detect, feature_vector, tuple(DETECTOR_NAMES),
                   feature_vector_with=feature_vector, warm_up=warm_up, features_are_scores=True)
