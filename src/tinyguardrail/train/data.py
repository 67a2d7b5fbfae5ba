"""Training data: read the built splits, normalize, encode once (cached), batch with dynamic padding.

The text front end is the runtime's: lone surrogates replaced, ``text.normalize.normalize(text).text``, then
``features.encode_batch`` (tokens, per-token character ids, ``text.detectors.feature_vector`` on the normalized
text). Features are computed once per (data file, tokenizer, front-end source) and cached as ``.npz`` (no pickle),
so a GPU machine can reuse a cache built on a CPU machine (``tinyguardrail train --prepare-only``).

Storage is ragged: token ids of all rows concatenated (``ids`` int32), their character ids (``chars`` uint16
[n_tokens, max_chars]), row offsets, detector features [N, F] and labels [N]; ``Features.batch`` pads a batch to
its longest row. Batches are length-bucketed: shuffle, cut into pools of ``bucket_batches`` batches, sort each pool
by length, cut into batches, shuffle the batch order.

This module imports no torch (worker processes stay light).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyguardrail.features import encode_batch
from tinyguardrail.labels import LABEL2ID, LABELS

SPLIT_FILES = {"train": "train.jsonl.gz", "validation": "validation.jsonl.gz"}
CACHE_VERSION = 1
_CHUNK = 256  # texts per worker task


# ----------------------------------------------------------------------------------------------- reading


def sanitize(text: str) -> str:
    """Replace lone surrogates with U+FFFD, as the runtime does before normalizing."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def split_path(data_dir: str | Path, split: str) -> Path:
    path = Path(data_dir) / SPLIT_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `tinyguardrail data build` first")
    return path


def read_split(path: str | Path, max_rows: int | None = None, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Texts and label ids of a ``*.jsonl.gz`` split; ``max_rows`` keeps a seeded random subset (in file order)."""
    texts: list[str] = []
    labels: list[int] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            rec = json.loads(line)
            label = rec.get("label")
            if label not in LABEL2ID:
                raise ValueError(f"{path}:{n}: unknown label {label!r}; expected one of {LABELS}")
            texts.append(sanitize(str(rec["text"])))
            labels.append(LABEL2ID[label])
    y = np.asarray(labels, dtype=np.int64)
    if max_rows is not None and len(texts) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(texts), size=max_rows, replace=False))
        texts = [texts[i] for i in keep]
        y = y[keep]
    return texts, y


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------- front end


def _module_source_sha(module_name: str) -> str:
    """sha256 of a module's source file ("absent" when it cannot be imported): part of the cache key."""
    import importlib

    try:
        mod = importlib.import_module(module_name)
    except ImportError:
        return "absent"
    return file_sha256(mod.__file__)[:16] if getattr(mod, "__file__", None) else "builtin"


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


def get_detector_fn(n_feats: int) -> Callable[[str], np.ndarray]:
    """``text.detectors.feature_vector`` when present, else zeros of length ``n_feats``."""
    try:
        from tinyguardrail.text.detectors import feature_vector
    except ImportError:
        zeros = np.zeros(n_feats, dtype=np.float32)
        return lambda _t: zeros
    return feature_vector


def front_end_signature(normalize: bool) -> dict[str, str]:
    """What the cached features depend on besides the data and tokenizer."""
    return {
        "normalize": _module_source_sha("tinyguardrail.text.normalize") if normalize else "off",
        "detectors": _module_source_sha("tinyguardrail.text.detectors"),
        "features": _module_source_sha("tinyguardrail.features"),
    }


# ----------------------------------------------------------------------------------------------- features


@dataclass
class Features:
    """Encoded rows of one split (ragged token storage; see module docstring)."""

    ids: np.ndarray  # int32 [n_tokens]
    chars: np.ndarray  # uint16 [n_tokens, max_chars]
    offsets: np.ndarray  # int64 [N + 1]
    det: np.ndarray  # float32 [N, F]
    labels: np.ndarray  # int64 [N]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, ids=self.ids, chars=self.chars, offsets=self.offsets, det=self.det, labels=self.labels)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Features:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["ids"], z["chars"], z["offsets"], z["det"], z["labels"])

    def batch(self, idx: Sequence[int] | np.ndarray, pad_id: int) -> dict[str, np.ndarray]:
        """Pad rows ``idx`` to their longest: the ``encode_batch`` arrays plus ``labels``."""
        idx = np.asarray(idx)
        lens = self.lengths[idx]
        b, t, c = len(idx), max(1, int(lens.max())), self.chars.shape[1]
        input_ids = np.full((b, t), pad_id, dtype=np.int64)
        mask = np.zeros((b, t), dtype=np.int64)
        char_ids = np.zeros((b, t, c), dtype=np.int64)
        for r, i in enumerate(idx):
            s, e = self.offsets[i], self.offsets[i + 1]
            input_ids[r, : e - s] = self.ids[s:e]
            mask[r, : e - s] = 1
            char_ids[r, : e - s] = self.chars[s:e]
        return {
            "input_ids": input_ids,
            "attention_mask": mask,
            "char_ids": char_ids,
            "detector_feats": self.det[idx],
            "labels": self.labels[idx],
        }


# worker-process globals (set by _init_worker)
_W: dict = {}


def _init_worker(tokenizer_json: str | None, max_len: int, max_chars: int, n_feats: int, pad_id: int) -> None:
    if tokenizer_json is not None:
        from tokenizers import Tokenizer

        _W["tok"] = Tokenizer.from_str(tokenizer_json)
    _W.update(max_len=max_len, max_chars=max_chars, pad_id=pad_id, det=get_detector_fn(n_feats), norm=get_normalize())


def _normalize_chunk(texts: list[str]) -> list[str]:
    norm = _W["norm"]
    return [norm(t) for t in texts] if norm is not None else list(texts)


def _encode_chunk(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    enc = encode_batch(_W["tok"], texts, _W["max_len"], _W["max_chars"], _W["det"], _W["pad_id"])
    lens = enc["attention_mask"].sum(1)
    keep = enc["attention_mask"].astype(bool)
    return (
        enc["input_ids"][keep].astype(np.int32),
        enc["char_ids"][keep].astype(np.uint16),  # CHAR_VOCAB = 1024 fits
        lens.astype(np.int64),
        enc["detector_feats"].astype(np.float32),
    )


def _map_chunks(fn, texts: list[str], init_args: tuple, num_workers: int, desc: str, progress: bool) -> Iterator:
    """Run ``fn`` over chunks of ``texts`` in order, in worker processes when num_workers > 1."""
    from tqdm.auto import tqdm

    chunks = [texts[i : i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
    bar = dict(total=len(chunks), desc=desc, unit="chunk", disable=not progress, leave=False)
    if num_workers <= 1 or len(chunks) <= 1:
        _init_worker(*init_args)
        yield from tqdm(map(fn, chunks), **bar)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold CUDA / threads
    with ctx.Pool(num_workers, initializer=_init_worker, initargs=init_args) as pool:
        yield from tqdm(pool.imap(fn, chunks), **bar)


def normalize_texts(texts: list[str], num_workers: int = 0, progress: bool = False) -> list[str]:
    """``normalize(text).text`` for every text (identity while ``text.normalize`` is absent)."""
    out: list[str] = []
    for part in _map_chunks(_normalize_chunk, texts, (None, 0, 0, 0, 0), num_workers, "normalize", progress):
        out.extend(part)
    return out


def encode_texts(
    texts: list[str],
    labels: np.ndarray,
    tokenizer,
    max_len: int,
    max_chars: int,
    n_feats: int,
    pad_id: int,
    num_workers: int = 0,
    progress: bool = False,
) -> Features:
    """Encode normalized ``texts`` with ``features.encode_batch`` (the runtime's function) into ``Features``."""
    if len(texts) == 0:
        raise ValueError("no texts to encode")
    init = (tokenizer.to_str(), max_len, max_chars, n_feats, pad_id)
    ids, chars, lens, det = [], [], [], []
    for a, b, c, d in _map_chunks(_encode_chunk, texts, init, num_workers, "encode", progress):
        ids.append(a), chars.append(b), lens.append(c), det.append(d)
    lengths = np.concatenate(lens)
    det_arr = np.concatenate(det)
    if det_arr.shape[1] != n_feats:
        raise ValueError(f"detector features have {det_arr.shape[1]} columns, the model expects {n_feats}")
    return Features(
        ids=np.concatenate(ids),
        chars=np.concatenate(chars),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        det=det_arr,
        labels=np.asarray(labels, dtype=np.int64),
    )


def cache_key(**parts) -> str:
    """Stable hash of the things a cached artifact depends on."""
    blob = json.dumps({"cache_version": CACHE_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_texts_cached(
    path: Path,
    cache_dir: Path | None,
    normalize: bool,
    max_rows: int | None,
    seed: int,
    num_workers: int,
    progress: bool,
) -> tuple[list[str], np.ndarray, str]:
    """Read a split and normalize it (cached); returns (normalized texts, labels, data file sha256)."""
    sha = file_sha256(path)
    key = cache_key(kind="texts", data=sha, max_rows=max_rows, seed=seed,
                    normalize=front_end_signature(normalize)["normalize"])  # fmt: skip
    cpath = cache_dir / f"{path.name.split('.')[0]}-texts-{key}.jsonl.gz" if cache_dir else None
    if cpath is not None and cpath.is_file():
        with gzip.open(cpath, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        return [r[0] for r in rows], np.asarray([r[1] for r in rows], dtype=np.int64), sha
    texts, labels = read_split(path, max_rows, seed)
    if normalize:
        texts = normalize_texts(texts, num_workers, progress)
    if cpath is not None:
        cpath.parent.mkdir(parents=True, exist_ok=True)
        tmp = cpath.with_name(cpath.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            for t, y in zip(texts, labels.tolist(), strict=True):
                f.write(json.dumps([t, y], ensure_ascii=False) + "\n")
        os.replace(tmp, cpath)
    return texts, labels, sha


def load_features_cached(
    texts: list[str],
    labels: np.ndarray,
    data_sha: str,
    split: str,
    tokenizer,
    max_len: int,
    max_chars: int,
    n_feats: int,
    pad_id: int,
    normalize: bool,
    cache_dir: Path | None,
    num_workers: int = 0,
    progress: bool = False,
    extra_key: dict | None = None,
) -> Features:
    """``encode_texts`` with an ``.npz`` cache keyed by data file, tokenizer, shapes and front-end sources."""
    key = cache_key(
        kind="features", data=data_sha, n=len(texts), tokenizer=hashlib.sha256(tokenizer.to_str().encode()).hexdigest(),
        max_len=max_len, max_chars=max_chars, n_feats=n_feats, pad_id=pad_id, front=front_end_signature(normalize),
        extra=extra_key or {},
    )  # fmt: skip
    cpath = cache_dir / f"{split}-features-{key}.npz" if cache_dir else None
    if cpath is not None and cpath.is_file():
        feats = Features.load(cpath)
        if len(feats) == len(texts):
            return feats
    feats = encode_texts(texts, labels, tokenizer, max_len, max_chars, n_feats, pad_id, num_workers, progress)
    if cpath is not None:
        feats.save(cpath)
    return feats


# ----------------------------------------------------------------------------------------------- batching


def class_weights(labels: np.ndarray, n_classes: int = len(LABELS), power: float = 1.0) -> np.ndarray:
    """Inverse-frequency class weights ``(N / (C * n_c)) ** power`` (absent classes get 0), mean 1 over rows."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, (len(labels) / (n_classes * np.maximum(counts, 1))) ** power, 0.0)
    w = w / (w[labels].mean() if len(labels) else 1.0)
    return w.astype(np.float32)


def make_batches(
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None,
    bucket_batches: int = 50,
    sample_weights: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Index batches for one epoch.

    Args:
        lengths: token count per row.
        batch_size: rows per batch (the last batch of a pool may be smaller).
        rng: shuffles rows and batch order; None gives deterministic length-sorted batches (evaluation).
        bucket_batches: pool size in batches for length bucketing (1 = no bucketing).
        sample_weights: draw len(lengths) rows with replacement with these probabilities (class balancing).
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if sample_weights is not None:
        p = np.asarray(sample_weights, dtype=np.float64)
        order = rng.choice(n, size=n, replace=True, p=p / p.sum())
    else:
        order = rng.permutation(n)
    pool = max(1, bucket_batches) * batch_size
    batches = []
    for i in range(0, n, pool):
        chunk = order[i : i + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
