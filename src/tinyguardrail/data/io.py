"""Reading and writing built data files (gzipped JSON Lines of ``Record`` fields)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from tinyguardrail.data.record import Material, Record
from tinyguardrail.features import sanitize
from tinyguardrail.labels import LABEL2ID, LABELS

#: Where ``tinyguardrail data build`` writes, and where every tool that reads a build looks by default.
DEFAULT_BUILD = Path("build/data")


def default_data_root() -> Path:
    """The public data (``../shared/data/SOURCES.md``): ``$TINYGUARDRAIL_DATA_ROOT``, else ``../shared/data`` from the
    working directory or beside the checkout."""
    env = os.environ.get("TINYGUARDRAIL_DATA_ROOT")
    if env:
        return Path(env)
    for candidate in (Path("../shared/data"), Path(__file__).resolve().parents[3].parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return Path("../shared/data")


SPLIT_FILES = {s: f"{s}.jsonl.gz" for s in ("train", "validation", "test", "ood_dev", "eval")}
#: Every building block (``Material``) of a build with its split: what synthesis could draw from.
MATERIALS_FILE = "materials.jsonl.gz"


def write_jsonl_gz(path: Path, records: Iterable[Record | Material]) -> int:
    """Write records to ``path``; returns the number written. ``mtime=0`` keeps the file byte-deterministic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for r in records:
            gz.write((json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass"))
            n += 1
    return n


#: Fields ``training_row(meta=True)`` keeps besides text, label and source: what ``train.data.parallel_pairs`` reads.
PAIR_FIELDS = ("template_id", "attack_type", "lang")


def training_row(r: Record, meta: bool = False) -> dict[str, str]:
    """What training reads of a record: text, label, source (the source lets a GPU plan's ``derive`` drop a data
    addition); with ``meta`` also ``PAIR_FIELDS`` (for the cross-lingual term's translation pairs)."""
    row = {"text": r.text, "label": r.label, "source": r.source}
    if meta:
        row.update({k: getattr(r, k) for k in PAIR_FIELDS})
    return row


def write_training_jsonl_gz(path: Path, records: Iterable[Record], meta: bool = False) -> int:
    """Write only what training reads (text, label, source: the source lets a GPU plan's ``derive`` drop a data
    addition; with ``meta`` also ``PAIR_FIELDS``) to ``path``: the compact files carried to a GPU or mixed for
    continued training."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for r in records:
            gz.write((json.dumps(training_row(r, meta), ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass"))
            n += 1
    return n


def read_jsonl_gz(path: Path) -> Iterator[Record]:
    """Yield the records of a built data file."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield Record(**json.loads(line))


def read_split(data_dir: Path, split: str) -> list[Record]:
    """All records of one split of a built data directory."""
    path = Path(data_dir) / SPLIT_FILES[split]
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `tinyguardrail data build` first")
    return list(read_jsonl_gz(path))


def read_materials(data_dir: Path) -> list[Material]:
    """Every building block of a built data directory, with its split."""
    path = Path(data_dir) / MATERIALS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `tinyguardrail data build` first")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [Material(**json.loads(line)) for line in f if line.strip()]


def read_labelled_texts(path: str | Path, max_rows: int | None = None, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Texts (sanitized) and label ids of a ``*.jsonl.gz`` split, what training, export calibration and parity read;
    ``max_rows`` keeps a seeded random subset (in file order)."""
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
    keep = subset_rows(len(texts), max_rows, seed)
    if keep is not None:
        texts = [texts[i] for i in keep]
        y = y[keep]
    return texts, y


def subset_rows(n: int, max_rows: int | None, seed: int = 0) -> np.ndarray | None:
    """The rows (sorted positions) a ``max_rows`` subset of ``n`` rows keeps, seeded; None when every row stays.
    ``read_labelled_texts`` and every reader that must line up with it (``train.data.parallel_pairs``) use this."""
    if max_rows is None or n <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
