"""Training data: read the built splits, normalize, encode once (cached), batch with dynamic padding.

The text front end is ``preprocess.py``'s (the runtime's): lone surrogates replaced, ``text.normalize``, detector
scores on the raw text by default (``detector_input``), then ``features.encode_batch`` (tokens and per-token
character ids of the normalized text). Features are computed once per (data file, tokenizer, front-end source) and cached as ``.npz`` (no pickle),
so a GPU machine can reuse a cache built on a CPU machine (``tinyguardrail train --prepare-only``).

Storage is ragged: token ids of all rows concatenated (``ids`` int32), their character ids (deduplicated: a table of
distinct rows + an index per token), row offsets, detector features [N, F] and labels [N], compressed ``.npz``
(~20 MB for 84k training rows); ``Features.batch`` pads a batch to its longest row. Batches are length-bucketed: shuffle, cut into pools of ``bucket_batches`` batches, sort each pool
by length, cut into batches, shuffle the batch order.

This module imports no torch (worker processes stay light).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyguardrail.data.io import SPLIT_FILES, read_labelled_texts, subset_rows
from tinyguardrail.features import encode_batch
from tinyguardrail.hashing import file_sha256
from tinyguardrail.labels import LABELS
from tinyguardrail.preprocess import (  # noqa: F401 (the front end's pieces, re-exported for the training loop's callers)
    DEFAULT_SWITCHES,
    FrontEndSwitches,
    detector_names,
    get_normalize,
    text_stage,
)

CACHE_VERSION = 2
_CHUNK = 256  # texts per worker task


# ----------------------------------------------------------------------------------------------- reading


def split_path(data_dir: str | Path, split: str) -> Path:
    path = Path(data_dir) / SPLIT_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `tinyguardrail data build` first")
    return path




def parallel_pairs(path: str | Path, sources: Sequence[str], anchor_lang: str = "en", max_rows: int | None = None,
                   seed: int = 0) -> np.ndarray:
    """Translation pairs among the rows of a split: int64 [M, 2] of (row in another language, its ``anchor_lang``
    row), row numbers as ``read_labelled_texts(path, max_rows, seed)`` orders them (the feature order).

    Rows group by ``template_id``, ``attack_type`` and ``label`` among the rows of ``sources`` (whose template ids mark
    translations of one text). A group pairs only when it holds exactly one ``anchor_lang`` row, and a language only
    when it has exactly one row in the group: some sources give one id to several texts (xquad: a paragraph's chunks
    and all its questions), whose rows would otherwise pair with another text's translation. Rows whose language is
    unknown (``und``: encodings, code) are left out.
    """
    keep_sources = set(sources)
    metas: list[tuple[str, str, str, str] | None] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            tid = rec.get("template_id")
            ok = rec.get("source") in keep_sources and tid and rec.get("lang") not in (None, "", "und")
            metas.append((str(tid), str(rec.get("attack_type")), str(rec.get("label")), str(rec["lang"])) if ok else None)
    keep = subset_rows(len(metas), max_rows, seed)  # the subset read_labelled_texts keeps
    order = np.arange(len(metas)) if keep is None else keep
    groups: dict[tuple[str, str, str], dict[str, list[int]]] = {}
    for pos, i in enumerate(order.tolist()):
        m = metas[i]
        if m is not None:
            groups.setdefault(m[:3], {}).setdefault(m[3], []).append(pos)
    pairs = []
    for by_lang in groups.values():
        anchor = by_lang.get(anchor_lang, [])
        if len(anchor) != 1:
            continue
        pairs += [(rows[0], anchor[0]) for lang, rows in by_lang.items() if lang != anchor_lang and len(rows) == 1]
    return np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def short_pairs(pairs: np.ndarray, lengths: np.ndarray, max_len: int | None) -> np.ndarray:
    """The pairs whose two rows are at most ``max_len`` tokens long (``lengths``: tokens per row; None: all)."""
    if max_len is None:
        return pairs
    return pairs[(lengths[pairs] <= max_len).all(axis=1)]


# ----------------------------------------------------------------------------------------------- features


@dataclass
class Features:
    """Encoded rows of one split (ragged token storage; see module docstring).

    Character ids are stored once per distinct token surface: ``char_table`` [U, max_chars] holds each distinct
    row of character ids and ``char_idx`` points every token at its row (a 30x smaller cache than storing them per
    token, so a cache built on a CPU machine can travel to a GPU machine).
    """

    ids: np.ndarray  # int32 [n_tokens]
    char_idx: np.ndarray  # int32 [n_tokens] -> row of char_table
    char_table: np.ndarray  # uint16 [U, max_chars]
    offsets: np.ndarray  # int64 [N + 1]
    det: np.ndarray  # float32 [N, F]
    labels: np.ndarray  # int64 [N]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def max_chars(self) -> int:
        return self.char_table.shape[1]

    def chars(self, start: int, end: int) -> np.ndarray:
        """Character ids [end - start, max_chars] of tokens start..end-1 (flat token positions)."""
        return self.char_table[self.char_idx[start:end]]

    def save(self, path: str | Path, meta: dict | None = None) -> None:
        """Compressed ``.npz`` (no pickle); ``meta`` is stored as a JSON string."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, ids=self.ids, char_idx=self.char_idx, char_table=self.char_table,
                            offsets=self.offsets, det=self.det, labels=self.labels,
                            meta=np.array(json.dumps(meta or {}, sort_keys=True)))  # fmt: skip
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Features:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["ids"], z["char_idx"], z["char_table"], z["offsets"], z["det"], z["labels"])

    @staticmethod
    def load_meta(path: str | Path) -> dict:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["meta"])) if "meta" in z.files else {}

    @classmethod
    def from_token_chars(cls, ids, chars, offsets, det, labels) -> Features:
        """Build from per-token character ids [n_tokens, max_chars] (deduplicated into the table here)."""
        chars = np.ascontiguousarray(chars, dtype=np.uint16)
        rows = chars.view(np.dtype((np.void, chars.shape[1] * chars.itemsize))).ravel()
        table, inverse = np.unique(rows, return_inverse=True)
        table = table.view(np.uint16).reshape(len(table), chars.shape[1])
        return cls(ids, inverse.reshape(-1).astype(np.int32), table, offsets, det, labels)

    def batch(self, idx: Sequence[int] | np.ndarray, pad_id: int) -> dict[str, np.ndarray]:
        """Pad rows ``idx`` to their longest: the ``encode_batch`` arrays plus ``labels``."""
        idx = np.asarray(idx)
        lens = self.lengths[idx]
        b, t, c = len(idx), max(1, int(lens.max())), self.max_chars
        input_ids = np.full((b, t), pad_id, dtype=np.int64)
        mask = np.zeros((b, t), dtype=np.int64)
        char_ids = np.zeros((b, t, c), dtype=np.int64)
        for r, i in enumerate(idx):
            s, e = self.offsets[i], self.offsets[i + 1]
            input_ids[r, : e - s] = self.ids[s:e]
            mask[r, : e - s] = 1
            char_ids[r, : e - s] = self.chars(s, e)
        return {
            "input_ids": input_ids,
            "attention_mask": mask,
            "char_ids": char_ids,
            "detector_feats": self.det[idx],
            "labels": self.labels[idx],
        }


# worker-process globals (set by _init_worker)
_W: dict = {}

def _init_worker(tokenizer_json: str | None, max_len: int, max_chars: int, n_feats: int, pad_id: int,
                 switches: FrontEndSwitches = DEFAULT_SWITCHES) -> None:  # fmt: skip
    if tokenizer_json is not None:
        from tokenizers import Tokenizer

        _W["tok"] = Tokenizer.from_str(tokenizer_json)
    _W.update(max_len=max_len, max_chars=max_chars, pad_id=pad_id, det=switches.detector_fn(n_feats), n_feats=n_feats,
              norm=get_normalize() if switches.normalize else None, detector_input=switches.detector_input)  # fmt: skip


def front_end(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The text stage for one chunk (worker globals set): ``preprocess.text_stage``."""
    return text_stage(texts, _W["n_feats"], _W["norm"], _W["det"], _W["detector_input"])


def _encode_chunk(chunk: tuple[list[str], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    texts, det = chunk
    feats = iter(det)  # encode_batch asks for the rows' scores in text order
    enc = encode_batch(_W["tok"], texts, _W["max_len"], _W["max_chars"], lambda _t: next(feats), _W["pad_id"])
    lens = enc["attention_mask"].sum(1)
    keep = enc["attention_mask"].astype(bool)
    return (
        enc["input_ids"][keep].astype(np.int32),
        enc["char_ids"][keep].astype(np.uint16),  # CHAR_VOCAB = 1024 fits
        lens.astype(np.int64),
        enc["detector_feats"].astype(np.float32),
    )


def _map_chunks(fn, chunks: list, init_args: tuple, num_workers: int, desc: str, progress: bool) -> Iterator:
    """Run ``fn`` over ``chunks`` in order, in worker processes when num_workers > 1."""
    from tqdm.auto import tqdm

    bar = dict(total=len(chunks), desc=desc, unit="chunk", disable=not progress, leave=False)
    if num_workers <= 1 or len(chunks) <= 1:
        _init_worker(*init_args)
        yield from tqdm(map(fn, chunks), **bar)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold CUDA / threads
    with ctx.Pool(num_workers, initializer=_init_worker, initargs=init_args) as pool:
        yield from tqdm(pool.imap(fn, chunks), **bar)


def _split(items: Sequence, size: int = _CHUNK) -> list:
    return [items[i : i + size] for i in range(0, len(items), size)]


def prepare_texts(
    texts: list[str], n_feats: int, switches: FrontEndSwitches = DEFAULT_SWITCHES, num_workers: int = 0,
    progress: bool = False,
) -> tuple[list[str], np.ndarray]:  # fmt: skip
    """The text stage for every text: (normalized texts, detector scores [N, F]); see ``front_end``."""
    out: list[str] = []
    det = [np.zeros((0, n_feats), dtype=np.float32)]
    init = (None, 0, 0, n_feats, 0, switches)
    for t, d in _map_chunks(front_end, _split(texts), init, num_workers, "normalize + detectors", progress):
        out.extend(t)
        det.append(d)
    return out, np.concatenate(det)


def encode_texts(
    texts: list[str],
    labels: np.ndarray,
    det: np.ndarray,
    tokenizer,
    max_len: int,
    max_chars: int,
    pad_id: int,
    num_workers: int = 0,
    progress: bool = False,
) -> Features:
    """Encode normalized ``texts`` (with their detector scores ``det`` [N, F]) with ``features.encode_batch``, the
    runtime's function, into ``Features``."""
    if len(texts) == 0:
        raise ValueError("no texts to encode")
    if len(det) != len(texts):
        raise ValueError(f"{len(det)} detector rows for {len(texts)} texts")
    init = (tokenizer.to_str(), max_len, max_chars, det.shape[1], pad_id)
    chunks = list(zip(_split(texts), _split(np.asarray(det, dtype=np.float32)), strict=True))
    ids, chars, lens, dets = [], [], [], []
    for a, b, c, d in _map_chunks(_encode_chunk, chunks, init, num_workers, "encode", progress):
        ids.append(a), chars.append(b), lens.append(c), dets.append(d)
    lengths = np.concatenate(lens)
    return Features.from_token_chars(
        ids=np.concatenate(ids),
        chars=np.concatenate(chars),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        det=np.concatenate(dets),
        labels=np.asarray(labels, dtype=np.int64),
    )


def tokenizer_fingerprint(tokenizer) -> str:
    """Hash of the tokenizer's canonical JSON: key order, whitespace and the truncation / padding settings (which
    ``encode_batch`` sets on every call) are ignored."""
    d = json.loads(tokenizer.to_str())
    d.pop("truncation", None)
    d.pop("padding", None)
    canon = json.dumps(d, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def cache_key(**parts) -> str:
    """Stable hash of the things a cached artifact depends on."""
    blob = json.dumps({"cache_version": CACHE_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_texts_cached(
    path: Path,
    cache_dir: Path | None,
    n_feats: int,
    switches: FrontEndSwitches = DEFAULT_SWITCHES,
    max_rows: int | None = None,
    seed: int = 0,
    num_workers: int = 0,
    progress: bool = False,
    sha: str | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """Read a split and run the text stage on it (cached): (normalized texts, labels, detector scores, file sha256)."""
    sha = sha or file_sha256(path)
    key = cache_key(kind="texts", data=sha, max_rows=max_rows, seed=seed if max_rows is not None else None, n_feats=n_feats,
                    detector_input=switches.detector_input, front=switches.signature())  # fmt: skip
    cpath = cache_dir / f"{path.name.split('.')[0]}-texts-{key}.jsonl.gz" if cache_dir else None
    if cpath is not None and cpath.is_file():
        with gzip.open(cpath, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        det = np.asarray([r[2] for r in rows], dtype=np.float32).reshape(len(rows), n_feats)
        return [r[0] for r in rows], np.asarray([r[1] for r in rows], dtype=np.int64), det, sha
    raw, labels = read_labelled_texts(path, max_rows, seed)
    texts, det = prepare_texts(raw, n_feats, switches, num_workers, progress)
    if cpath is not None:
        cpath.parent.mkdir(parents=True, exist_ok=True)
        tmp = cpath.with_name(f"{cpath.name}.{os.getpid()}.tmp")  # runs side by side may write the same entry
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            for t, y, d in zip(texts, labels.tolist(), det.tolist(), strict=True):
                f.write(json.dumps([t, y, d], ensure_ascii=False) + "\n")
        os.replace(tmp, cpath)
    return texts, labels, det, sha


class SplitSource:
    """One split file of the built data: its hash at once; its text stage (normalized texts + detector scores) and
    encoded features on demand, both cached under ``cache_dir``. With a warm feature cache the texts are never read,
    so a machine without the text front end's dependencies can train from a cache built elsewhere.

    Args:
        path: the ``*.jsonl.gz`` file.
        cache_dir: cache folder (None: no cache).
        n_feats: detector features per row.
        switches: the text front end's switches (``TrainConfig.front_end()``; must match the runtime).
        max_rows: seeded random subset.
        seed: subset seed.
        num_workers: processes for the text stage / encoding.
        progress: progress bars.
    """

    def __init__(self, path: Path, cache_dir: Path | None, n_feats: int, switches: FrontEndSwitches = DEFAULT_SWITCHES,
                 max_rows: int | None = None, seed: int = 0, num_workers: int = 0, progress: bool = False
                 ) -> None:  # fmt: skip
        self.path, self.cache_dir, self.n_feats, self.switches = Path(path), cache_dir, n_feats, switches
        self.max_rows, self.seed = max_rows, seed
        self.num_workers, self.progress = num_workers, progress
        self.split = self.path.name.split(".")[0]
        self.sha = file_sha256(self.path)
        self.stale = False
        self._texts: tuple[list[str], np.ndarray, np.ndarray] | None = None
        self.seconds: dict[str, float] = {}  # wall time of each stage this source ran (text stage, encoding, saving)

    def texts(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(normalized texts, label ids, detector scores [N, F])."""
        if self._texts is None:
            t0 = time.perf_counter()
            t, y, d, _ = load_texts_cached(self.path, self.cache_dir, self.n_feats, self.switches, self.max_rows,
                                           self.seed, self.num_workers, self.progress, sha=self.sha)  # fmt: skip
            self._texts = (t, y, d)
            self.seconds["text_stage"] = time.perf_counter() - t0
        return self._texts

    def features(self, tokenizer, max_len: int, max_chars: int, pad_id: int, allow_stale_front_end: bool = False
                 ) -> Features:  # fmt: skip
        """Encoded rows, from the cache when data, tokenizer and shapes match and the text front end's sources are
        unchanged (or ``allow_stale_front_end``: reuse it anyway, e.g. on a machine without the front end's
        packages; the mismatch is reported in ``self.stale``)."""
        key = cache_key(
            kind="features", data=self.sha, rows=self.max_rows, seed=self.seed if self.max_rows is not None else None,
            tokenizer=tokenizer_fingerprint(tokenizer), max_len=max_len, max_chars=max_chars, n_feats=self.n_feats,
            pad_id=pad_id, normalize=self.switches.normalize, detector_input=self.switches.detector_input,
            **({"script_marks": True} if self.switches.script_marks else {}),  # runs without it keep their keys
        )  # fmt: skip
        front = self.switches.signature()
        self.stale = False
        cpath = self.cache_dir / f"{self.split}-features-{key}.npz" if self.cache_dir else None
        if cpath is not None and cpath.is_file():
            same = Features.load_meta(cpath).get("front_end") == front
            if same or allow_stale_front_end:
                self.stale = not same
                return Features.load(cpath)
        texts, labels, det = self.texts()
        t0 = time.perf_counter()
        feats = encode_texts(texts, labels, det, tokenizer, max_len, max_chars, pad_id, self.num_workers,
                             self.progress)  # fmt: skip
        self.seconds["encoding"] = time.perf_counter() - t0
        if cpath is not None:
            t0 = time.perf_counter()
            feats.save(cpath, meta={"front_end": front, "data_sha256": self.sha, "rows": len(feats)})
            self.seconds["saving"] = time.perf_counter() - t0
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
