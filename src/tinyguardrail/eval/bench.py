"""``tinyguardrail bench``: latency, throughput, memory and early-exit share of the runtime, with baselines.

Two text mixes, chosen with ``--mix {prompts,traffic,both}`` (default ``prompts``; ``both`` measures them back to
back: the traffic mix alone took 5 min 20 s on 2 cores with four configurations, so ``both`` would pass the
~8 minutes a default run should take), read straight from the data root (``--data-root``, default
``$TINYGUARDRAIL_DATA_ROOT`` or ``../shared/data``):

- **prompts** (``MIX``): a fixed-seed mix of real prompts of mixed length: 60 % s-labs ``test.csv``, 20 % NotInject,
  20 % JailbreakBench artifact prompts; or ``--texts FILE`` (``.txt`` one text per line, ``.jsonl`` with ``text``,
  ``.csv`` with a ``text`` column). Sized by ``--n-latency`` / ``--n-throughput``.
- **traffic** (``TRAFFIC_MIX``, issue 10): what a guard in front of an LLM application reads: chat prompts
  (s-labs, WildGuard, NotInject, self-instruct), jailbreaks (JailbreakBench), multilingual prompts (XSafety,
  MultiJail, Tatoeba) and documents / tool outputs (BIPIA e-mails, tables and code answers, tldr pages, Prompt
  Engineering Guide and OWASP LLM Top 10 pages, BFCL tool schemas and AgentDojo environment items as JSON). Texts
  are capped at ``TRAFFIC_MAX_CHARS``; the longest ~5 % are over 4,000 characters. Sized by
  ``--n-traffic-latency`` / ``--n-traffic-throughput``. Its latency is reported split by length: **prompts**
  (<= 1,000 characters: p50 / p95 / p99 ms) and **long texts** (> 1,000 characters: p50 / p95 of ms per 1,000
  characters, and plain ms), because one percentile over a mix of 50-character prompts and 10,000-character
  documents says little about either. A **floor** row times :class:`FastFloor` (tokenize once, one plain pass of
  the shipped fast graph over 512-token chunks) on the same texts: what reading the text once costs, so the rows
  above it show what the guard's views, windows, detectors and deep branch add.

Each configuration runs in fresh worker processes (so peak RSS is that configuration's alone):

- **latency**: ``Guard.check`` one text at a time, 1 ONNX Runtime thread; p50 / p95 / p99 / mean of the wall
  time of each call (after a warm-up), measured ``--repeats`` (3) times in fresh processes: the table gives the
  median of each figure and every run's p95 (this shared 2-core machine moves p95 by about a millisecond, and
  between sessions by far more). The configurations take turns inside each round (A B C, A B C, ...), so with
  ``--baseline-model`` each round is a pair, and ``p95_vs_baseline`` (JSON; a sentence under the table) is the median
  of the rounds' p95 ratios: the figure the latency constraint of a retrained model is read from;
- **throughput**: ``Guard.check_batch`` in batches of ``--batch-size`` (32) from ``--workers`` (2) concurrent callers
  sharing one guard, each ONNX Runtime call on ``--threads`` (1) intra-op thread: 2 threads in all, as the HTTP
  server runs (``TINYGUARDRAIL_INFERENCE_WORKERS``). On this 2-core machine two single-threaded calls at once gave
  about twice the texts per second of one call on two intra-op threads; texts per second;
- **early-exit share**: rows (views x windows) answered by the fast branch alone, over the throughput run;
- **peak RSS**: ``ru_maxrss`` of the worker (interpreter + NumPy + tokenizer + ONNX Runtime + model).

Configurations measured in the same run: the model as shipped; the same model with early exit off (the
*baseline* for early exit); the fp32 ONNX files (``fast.fp32.onnx`` / ``deep.fp32.onnx`` next to the shipped
files, or ``--baseline-model DIR``); and, when ONNX Runtime's CUDA provider is available, the shipped model on CUDA.
Results: a table per mix on stdout, ``--json PATH`` and ``--md PATH`` (e.g. ``docs/bench.json``, ``docs/bench.md``;
the prompts mix keeps the top-level ``texts`` / ``results`` keys, the traffic mix is under ``traffic``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinyguardrail.data.io import default_data_root

#: share of each source in the default text mix
MIX = {"s-labs": 0.6, "notinject": 0.2, "jailbreakbench": 0.2}
TARGETS = {"latency_p95_ms": 8.0, "throughput_texts_per_s": 300.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, metavar="DIR", help="model directory (default: the embedded model)")
    parser.add_argument("--baseline-model", type=Path, metavar="DIR",
                        help="another model directory measured in the same run, e.g. the previous version (the "
                             "shipped model's *.fp32.onnx, when present, is measured too)")
    parser.add_argument("--data-root", type=Path, metavar="DIR",
                        help="public data root (default: $TINYGUARDRAIL_DATA_ROOT or ../shared/data)")
    parser.add_argument("--mix", choices=("prompts", "traffic", "both"), default="prompts",
                        help="text mix: 'prompts' (default: short and mid-length prompts, the table of docs/bench.md), "
                             "'traffic' (realistic traffic: chats, jailbreaks, multilingual prompts, documents and "
                             "JSON tool outputs, latency split into prompts <= 1,000 characters and long texts per "
                             "1,000 characters, plus a fast-graph floor row; about 5 minutes on 2 cores with 4 configurations), or "
                             "'both'")
    parser.add_argument("--texts", type=Path, metavar="FILE",
                        help="benchmark these texts instead of the prompts mix (.txt/.jsonl/.csv)")
    parser.add_argument("--n-latency", type=int, default=300, metavar="N", help="texts for the latency run (prompts)")
    parser.add_argument("--n-throughput", type=int, default=1024, metavar="N",
                        help="texts for the throughput run (prompts)")
    parser.add_argument("--n-traffic-latency", type=int, default=300, metavar="N",
                        help="texts for the latency and floor runs of the traffic mix")
    parser.add_argument("--n-traffic-throughput", type=int, default=512, metavar="N",
                        help="texts for the throughput run of the traffic mix")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="batch size of the throughput run")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="concurrent check_batch callers in the throughput run (threads)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="ONNX Runtime intra-op threads per call in the throughput run")
    parser.add_argument("--warmup", type=int, default=20, metavar="N", help="warm-up calls before timing")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="latency rounds: in each, every configuration runs once in a fresh process, in turn; "
                             "the table shows each percentile's median over the rounds (the JSON keeps every run) "
                             "and, with --baseline-model, each configuration's p95 paired by round with the baseline's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the text sample")
    parser.add_argument("--no-baselines", action="store_true", help="measure the shipped configuration only")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA provider even if available")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--md", type=Path, metavar="PATH", help="write the results as a Markdown table")
    parser.add_argument("--frontend", help=argparse.SUPPRESS)  # module:callable returning a FrontEnd (tests)


# ------------------------------------------------------------------------------------------------ texts


def _source_texts(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    slabs = root / "mixed" / "s-labs" / "test.csv"
    if slabs.is_file():
        with slabs.open(encoding="utf-8", newline="") as f:
            out["s-labs"] = [r["text"] for r in csv.DictReader(f) if r.get("text", "").strip()]
    notinject = sorted((root / "bench" / "notinject").glob("NotInject_*.json"))
    if notinject:
        out["notinject"] = [r["prompt"] for p in notinject for r in json.loads(p.read_text(encoding="utf-8"))
                            if r.get("prompt", "").strip()]
    jbb = sorted((root / "attacks" / "jailbreakbench-artifacts" / "attack-artifacts").glob("*/*/*.json"))
    if jbb:
        prompts = []
        for p in jbb:
            for j in json.loads(p.read_text(encoding="utf-8")).get("jailbreaks", []):
                if isinstance(j.get("prompt"), str) and j["prompt"].strip():
                    prompts.append(j["prompt"])
        out["jailbreakbench"] = sorted(set(prompts))
    return out


def load_mix(root: Path, n: int, seed: int) -> tuple[list[str], dict[str, int]]:
    """``n`` texts drawn with a fixed seed by the shares in ``MIX`` (a missing source's share goes to the others)."""
    sources = _source_texts(root)
    if not sources:
        raise FileNotFoundError(f"no benchmark texts under {root} (s-labs, notinject, jailbreakbench); "
                                "pass --data-root or --texts")
    rng = random.Random(seed)
    total_share = sum(MIX[s] for s in sources)
    texts, counts = [], {}
    for name in sorted(sources):
        want = round(n * MIX[name] / total_share)
        pool = sources[name]
        picked = rng.sample(pool, want) if want <= len(pool) else [rng.choice(pool) for _ in range(want)]
        texts.extend(picked)
        counts[name] = len(picked)
    rng.shuffle(texts)
    return texts[:n], counts


def load_texts_file(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".jsonl":
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            texts = [r["text"] for r in csv.DictReader(f)]
    else:
        texts = path.read_text(encoding="utf-8").splitlines()
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError(f"{path}: no texts")
    return texts


# ------------------------------------------------------------------------------------------------ traffic mix

#: share of each source in the realistic-traffic mix (a missing source's share goes to the others)
TRAFFIC_MIX = {
    # chats and prompts (s-labs also holds direct injections)
    "s-labs": 0.18, "wildguard": 0.12, "notinject": 0.05, "self-instruct": 0.03,
    # jailbreaks
    "jailbreakbench": 0.07,
    # multilingual prompts and sentences
    "xsafety": 0.07, "multijail": 0.06, "tatoeba": 0.05,
    # documents and tool outputs
    "bipia-email": 0.05, "bipia-table": 0.04, "bipia-code": 0.03, "tldr-pages": 0.05,
    "prompt-engineering-guide": 0.07, "owasp-llm-top10": 0.04, "bfcl": 0.05, "agentdojo": 0.04,
}
TRAFFIC_MAX_CHARS = 16_000
"""Longer traffic texts are cut here (a few guide pages run to 30,000+ characters; one such text would weigh more
than hundreds of prompts in the latency run, and the guard refuses past ``max_text_chars`` anyway)."""
DOC_MIN_CHARS = 1_000
"""Guide / OWASP pages shorter than this (index stubs, headings) are left out: the mix wants their real pages."""
LONG_CHARS = 1_000
"""The length split of the traffic latency: prompts are <= this many characters, long texts are longer."""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _csv_first_column(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [row[0] for row in csv.reader(f) if row]


def _agentdojo_texts(folder: Path) -> list[str]:
    """Items of the AgentDojo environments (e-mails, files, events, transactions, hotels ...) as the JSON a tool
    would return, with the injection slots filled by their benign defaults (``*_injection_vectors.yaml``)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dev dependency
        return []
    defaults: dict[str, str] = {}
    for p in sorted(folder.glob("*_injection_vectors.yaml")):
        for name, vec in (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).items():
            if isinstance(vec, dict) and isinstance(vec.get("default"), str):
                defaults[name] = vec["default"]

    def fill(x: Any) -> Any:
        if isinstance(x, str):
            for name, value in defaults.items():
                x = x.replace("{" + name + "}", value)
            return x
        if isinstance(x, dict):
            return {k: fill(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fill(v) for v in x]
        return x

    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                if isinstance(v, dict):
                    out.append(json.dumps(fill(v), ensure_ascii=False, indent=2, default=str))
                else:
                    walk(v)

    for p in sorted([*folder.glob("*_environment.yaml"), *folder.glob("workspace_include_*.yaml")]):
        try:
            walk(yaml.safe_load(p.read_text(encoding="utf-8")))
        except yaml.YAMLError:  # workspace_environment.yaml uses !include: its parts are read directly
            continue
    return out


def _traffic_sources(root: Path) -> dict[str, list[str]]:
    """Pools of the traffic mix by source name (``TRAFFIC_MIX``), each deduplicated and sorted (so a seed gives
    the same sample whatever the file order); sources whose files are missing are left out."""
    out: dict[str, list[str]] = {}
    prompts = _source_texts(root)  # s-labs, notinject, jailbreakbench as the prompts mix reads them
    out.update(prompts)
    wild = root / "bench" / "piguard_eval_sets" / "wildguard.json"
    if wild.is_file():
        out["wildguard"] = [r["prompt"] for r in json.loads(wild.read_text(encoding="utf-8"))
                            if isinstance(r.get("prompt"), str)]
    si = root / "benign" / "self_instruct" / "user_oriented_instructions.jsonl"
    if si.is_file():
        out["self-instruct"] = [r["instruction"] for r in _read_jsonl(si) if isinstance(r.get("instruction"), str)]
    xs = sorted((root / "attacks" / "xsafety").glob("*/*.csv"))
    if xs:
        out["xsafety"] = [t for p in xs for t in _csv_first_column(p)]
    mj = root / "attacks" / "multijail" / "data" / "MultiJail.csv"
    if mj.is_file():
        with mj.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        meta = {"id", "source", "tags", "en"}
        out["multijail"] = [v for r in rows for k, v in r.items() if k not in meta and isinstance(v, str)]
    tat = sorted(p for p in (root / "benign" / "tatoeba_laser").glob("tatoeba.*-eng.*.txt")
                 if not p.name.endswith(".eng.txt"))
    if tat:
        out["tatoeba"] = [line for p in tat for line in p.read_text(encoding="utf-8").splitlines()]
    bipia = root / "bench" / "bipia"
    for kind in ("email", "table", "code"):
        p = bipia / f"{kind}_test.jsonl"
        if p.is_file():
            ctx = [r.get("context") for r in _read_jsonl(p)]
            out[f"bipia-{kind}"] = ["\n".join(map(str, c)) if isinstance(c, list) else c for c in ctx
                                    if isinstance(c, str | list)]
    tldr = root / "benign" / "tldr_pages" / "tldr_pages.jsonl"
    if tldr.is_file():
        out["tldr-pages"] = [r["text"] for r in _read_jsonl(tldr) if isinstance(r.get("text"), str)]
    for name, path in (("prompt-engineering-guide", root / "benign" / "prompt_engineering_guide" / "peg_docs.jsonl"),
                       ("owasp-llm-top10", root / "benign" / "owasp_llm_top10" / "owasp_llm_top10_docs.jsonl")):
        if path.is_file():
            out[name] = [r["text"] for r in _read_jsonl(path)
                         if isinstance(r.get("text"), str) and len(r["text"]) >= DOC_MIN_CHARS]
    bfcl = sorted((root / "benign" / "bfcl_function_calling").glob("BFCL_v4_*.json"))
    if bfcl:  # the tool schemas an agent is handed with each request, as JSON
        out["bfcl"] = [json.dumps(r["function"], ensure_ascii=False, indent=2) for p in bfcl for r in _read_jsonl(p)
                       if r.get("function")]
    dojo = root / "benign" / "agentdojo_environments"
    if dojo.is_dir():
        out["agentdojo"] = _agentdojo_texts(dojo)
    pools = {}
    for name, texts in out.items():
        if name not in TRAFFIC_MIX:
            continue
        clean = sorted({t.strip()[:TRAFFIC_MAX_CHARS] for t in texts if isinstance(t, str) and t.strip()})
        if clean:
            pools[name] = clean
    return pools


def _allocate(n: int, shares: dict[str, float]) -> dict[str, int]:
    """``n`` split by ``shares`` (largest remainders, ties by name), so the counts add up to ``n`` exactly."""
    total = sum(shares.values())
    exact = {k: n * v / total for k, v in shares.items()}
    counts = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def load_traffic_mix(root: Path, n: int, seed: int) -> tuple[list[str], dict[str, int]]:
    """``n`` texts of the realistic-traffic mix drawn with a fixed seed by the shares in ``TRAFFIC_MIX`` (a missing
    source's share goes to the others; a pool smaller than its count is drawn with replacement), shuffled."""
    pools = _traffic_sources(root)
    if not pools:
        raise FileNotFoundError(f"no traffic texts under {root} (sources: {', '.join(TRAFFIC_MIX)}); pass --data-root")
    rng = random.Random(seed)
    counts = _allocate(n, {k: TRAFFIC_MIX[k] for k in pools})
    texts: list[str] = []
    for name in sorted(pools):
        pool, want = pools[name], counts[name]
        texts.extend(rng.sample(pool, want) if want <= len(pool) else [rng.choice(pool) for _ in range(want)])
    rng.shuffle(texts)
    return texts, {k: v for k, v in counts.items() if v}


def length_stats(texts: list[str]) -> dict[str, Any]:
    """Character-length percentiles of ``texts`` and the shares over 1,000 and 4,000 characters (for the JSON)."""
    lengths = [len(t) for t in texts]
    out: dict[str, Any] = {f"chars_p{q}": round(_percentile(lengths, q)) for q in (5, 25, 50, 75, 90, 95, 99)}
    out["chars_max"] = max(lengths)
    out["chars_mean"] = round(sum(lengths) / len(lengths), 1)
    out["share_over_1000"] = round(sum(x > LONG_CHARS for x in lengths) / len(lengths), 4)
    out["share_over_4000"] = round(sum(x > 4000 for x in lengths) / len(lengths), 4)
    return out


def split_latency(times_ms: list[float], lengths: list[int], long_chars: int = LONG_CHARS) -> dict[str, Any]:
    """Latency split by text length: ``prompts`` (<= ``long_chars`` characters) p50 / p95 / p99 / mean ms, and
    ``long`` (longer) p50 / p95 / p99 / mean ms plus p50 / p95 / mean of ms per 1,000 characters (a long text's
    cost grows with its length, so per-1,000-character figures compare across documents of any size). A part
    with no texts has ``n`` 0 and no figures."""
    if len(times_ms) != len(lengths):
        raise ValueError(f"{len(times_ms)} times for {len(lengths)} lengths")
    short = [t for t, n in zip(times_ms, lengths, strict=True) if n <= long_chars]
    longs = [(t, n) for t, n in zip(times_ms, lengths, strict=True) if n > long_chars]

    def summary(values: list[float]) -> dict[str, float]:
        return {"p50": _percentile(values, 50), "p95": _percentile(values, 95), "p99": _percentile(values, 99),
                "mean": sum(values) / len(values)}

    prompts: dict[str, Any] = {"n": len(short), **(summary(short) if short else {})}
    long: dict[str, Any] = {"n": len(longs)}
    if longs:
        per_1k = [1000.0 * t / n for t, n in longs]
        long |= summary([t for t, _ in longs])
        long |= {"per_1k_p50": _percentile(per_1k, 50), "per_1k_p95": _percentile(per_1k, 95),
                 "per_1k_mean": sum(per_1k) / len(per_1k), "chars_mean": sum(n for _, n in longs) / len(longs)}
    return {"long_chars": long_chars, "prompts": prompts, "long": long}


def median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Figure-by-figure median of several runs' nested dicts of numbers (keys missing from a run are skipped)."""
    out: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs if key in r]
        if isinstance(first, dict):
            out[key] = median_of_runs(values)
        elif isinstance(first, int | float) and not isinstance(first, bool):
            out[key] = statistics.median(values)
        else:
            out[key] = first
    return out


# ------------------------------------------------------------------------------------------------ floor


class FastFloor:
    """One plain pass of a model's fast graph over a text: the least any guard built on it must spend reading it.

    The text is tokenized once (no normalization, no views), its tokens cut into back-to-back chunks of
    ``max_len`` tokens special tokens included (no window overlap), and each chunk run through the fast graph at
    batch 1, one after the other. Detector features are zeros (no detectors run). A fast graph that takes
    ``char_vecs`` gets them from ``char.onnx`` through the runtime's cache (``runtime.charcache``, as the guard
    does); one that takes ``char_ids`` gets them from ``features.encode_batch``. No deep branch, no policy. ONNX
    Runtime is set up as ``Guard.load`` sets it up (same options, same disabled fusions).
    """

    def __init__(self, model_dir: str | Path, threads: int = 1, providers: list[str] | None = None,
                 fast_file: str | None = None) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from tinyguardrail.artifact import ModelConfig
        from tinyguardrail.runtime.charcache import CharVectors
        from tinyguardrail.runtime.guard import DISABLED_OPTIMIZERS

        model_dir = Path(model_dir)
        self.config = cfg = ModelConfig.read(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        providers = list(providers or ["CPUExecutionProvider"])

        def session(name: str) -> Any:
            return ort.InferenceSession(str(model_dir / name), sess_options=options, providers=providers,
                                        disabled_optimizers=list(DISABLED_OPTIMIZERS))

        self.files = {"fast": fast_file or cfg.files["fast"], "tokenizer": cfg.files["tokenizer"]}
        self.fast = session(self.files["fast"])
        self.chars = None
        if "char_vecs" in {i.name for i in self.fast.get_inputs()}:
            self.files["char"] = cfg.files["char"]
            self.chars = CharVectors(session(cfg.files["char"]), cfg.max_chars)
        self.tokenizer = Tokenizer.from_file(str(model_dir / cfg.files["tokenizer"]))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        probe = self.tokenizer.encode("a").ids
        bare = self.tokenizer.encode("a", add_special_tokens=False).ids
        cut = next((i for i in range(len(probe) - len(bare) + 1) if probe[i:i + len(bare)] == bare), 0)
        self.head, self.tail = probe[:cut], probe[cut + len(bare):]
        self.body = cfg.max_len - len(self.head) - len(self.tail)
        self.zeros = np.zeros((1, len(cfg.detector_names)), dtype=np.float32)
        self.outputs = [o.name for o in self.fast.get_outputs()]

    def run(self, text: str) -> int:
        """Read ``text`` once through the fast graph; returns the number of chunks (ONNX Runtime calls)."""
        from tinyguardrail.features import encode_batch

        cfg = self.config
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        ids, offsets = enc.ids, enc.offsets
        starts = range(0, max(1, len(ids)), self.body)
        for s in starts:
            chunk = _Chunk(ids=[*self.head, *ids[s:s + self.body], *self.tail],
                           offsets=[(0, 0)] * len(self.head) + list(offsets[s:s + self.body])
                           + [(0, 0)] * len(self.tail))  # offsets stay in ``text``'s coordinates
            feeds = encode_batch(self.tokenizer, [text], cfg.max_len, cfg.max_chars, None, cfg.pad_id,
                                 detector_feats=self.zeros, encodings=[chunk], with_chars=self.chars is None)
            if self.chars is not None:
                feeds["char_vecs"] = self.chars.batch([text], [chunk], feeds["input_ids"].shape[1])
            self.fast.run(self.outputs, feeds)
        return len(starts)


class _Chunk:
    """A chunk's token ids and character offsets: what ``encode_batch`` and ``CharVectors.batch`` read."""

    __slots__ = ("ids", "offsets")

    def __init__(self, ids: list[int], offsets: list[tuple[int, int]]) -> None:
        self.ids = ids
        self.offsets = offsets


# ------------------------------------------------------------------------------------------------ orchestration


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _model_name(model_dir: Path) -> str:
    """The ``name`` of a model folder's ``config.json`` (the folder's name when it has none)."""
    try:
        return str(json.loads((Path(model_dir) / "config.json").read_text()).get("name") or Path(model_dir).name)
    except (OSError, ValueError):
        return Path(model_dir).name


def _configs(args: argparse.Namespace, model_dir: Path) -> list[dict[str, Any]]:
    configs = [{"name": "shipped", "model": str(model_dir), "providers": ["CPUExecutionProvider"]}]
    if not args.no_baselines:
        configs.append({"name": "shipped, no early exit", "model": str(model_dir),
                        "providers": ["CPUExecutionProvider"], "early_exit_threshold": 1.01, "skip_decided": False})
        if (model_dir / "fast.fp32.onnx").is_file() and (model_dir / "deep.fp32.onnx").is_file():
            configs.append({"name": "fp32", "model": str(model_dir), "providers": ["CPUExecutionProvider"],
                            "fast_file": "fast.fp32.onnx", "deep_file": "deep.fp32.onnx"})
        if args.baseline_model is not None:
            configs.append({"name": f"baseline: {_model_name(args.baseline_model)}",
                            "model": str(args.baseline_model), "providers": ["CPUExecutionProvider"],
                            "baseline": True})
    if not args.no_cuda:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            configs.append({"name": "shipped, CUDA", "model": str(model_dir),
                            "providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]})
    return configs


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tinyguardrail.eval.bench", "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {spec['name']!r} ({spec['mode']}) failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _latency_rounds(configs: list[dict[str, Any]], texts_path: Path, args: argparse.Namespace, n_latency: int,
                    split: bool, label: str = "") -> list[list[dict[str, Any]]]:
    """``--repeats`` rounds of one fresh latency worker per configuration, the configurations taking turns inside
    each round (A B C, A B C, ...): a slow spell of a shared machine then falls on every configuration alike, and
    round r of two configurations is a pair (:func:`paired_p95_ratio`). Returns one list of runs per configuration."""
    runs: list[list[dict[str, Any]]] = [[] for _ in configs]
    for r in range(args.repeats):
        for i, config in enumerate(configs):
            print(f"bench{label}: {config['name']} latency, round {r + 1}/{args.repeats} ...", file=sys.stderr,
                  flush=True)
            runs[i].append(_run_worker({**config, "texts": str(texts_path), "warmup": args.warmup,
                                        "frontend": args.frontend, "mode": "latency", "n": n_latency, "threads": 1,
                                        "split": split}))
    return runs


def paired_p95_ratio(runs: list[dict[str, Any]], baseline_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """p95 of each latency round divided by the baseline's p95 of the same round, and their median: the comparison
    of two models that a machine's drift between rounds moves least."""
    ratios = [a["latency_ms"]["p95"] / b["latency_ms"]["p95"] for a, b in zip(runs, baseline_runs, strict=True)]
    return {"per_round": [round(x, 4) for x in ratios], "median": round(statistics.median(ratios), 4)}


def _measure(config: dict[str, Any], texts_path: Path, args: argparse.Namespace, runs: list[dict[str, Any]],
             n_throughput: int, split: bool) -> dict[str, Any]:
    """One configuration on one text file: its latency ``runs`` (:func:`_latency_rounds`) and one throughput worker
    in a fresh process; with ``split``, the latency also split into prompts / long texts (:func:`split_latency`)."""
    common = {**config, "texts": str(texts_path), "warmup": args.warmup, "frontend": args.frontend}
    lat = dict(runs[0])
    lat["latency_ms"] = {k: statistics.median(r["latency_ms"][k] for r in runs) for k in runs[0]["latency_ms"]}
    lat["latency_ms"]["runs"] = [r["latency_ms"] for r in runs]
    lat["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    thr = _run_worker({**common, "mode": "throughput", "n": n_throughput, "threads": args.threads,
                       "workers": args.workers, "batch_size": args.batch_size})
    result = {
        "config": config["name"],
        "providers": thr["providers"],
        "files": thr["files"],
        "early_exit_threshold": thr["early_exit_threshold"],
        "latency_ms": lat["latency_ms"],
        "throughput_texts_per_s": thr["throughput_texts_per_s"],
        "early_exit_share": thr["early_exit_share"],
        "early_exit_share_latency_run": lat["early_exit_share"],
        "peak_rss_mb": max(lat["peak_rss_mb"], thr["peak_rss_mb"]),
        "rss_after_load_mb": lat["rss_after_load_mb"],
        "load_s": lat["load_s"],
        "model_mb": thr["model_mb"],
    }
    if split:
        result["split"] = median_of_runs([r["split"] for r in runs])
        result["split"]["runs"] = [r["split"] for r in runs]
    return result


def _add_paired(results: list[dict[str, Any]], configs: list[dict[str, Any]], rounds: list[list[dict]]) -> None:
    """With a ``--baseline-model``, every other configuration's :func:`paired_p95_ratio` against it."""
    base = next((i for i, c in enumerate(configs) if c.get("baseline")), None)
    if base is None:
        return
    for i, r in enumerate(results):
        if i != base:
            r["p95_vs_baseline"] = paired_p95_ratio(rounds[i], rounds[base])


def _measure_floor(model_dir: Path, texts_path: Path, args: argparse.Namespace, n: int) -> dict[str, Any]:
    """The floor row (:class:`FastFloor` on the shipped fast graph): ``--repeats`` fresh processes, split latency."""
    spec = {"name": "floor", "mode": "floor", "model": str(model_dir), "texts": str(texts_path), "n": n,
            "warmup": args.warmup, "threads": 1, "providers": ["CPUExecutionProvider"]}
    runs = [_run_worker(spec) for _ in range(args.repeats)]
    return {
        "config": "floor: fast graph once",
        "providers": runs[0]["providers"],
        "files": runs[0]["files"],
        "includes": "tokenize once; fast graph over back-to-back max_len-token chunks at batch 1, 1 thread; "
                    "detector features zero; char vectors from char.onnx via the runtime cache when split; "
                    "no normalization, views, window overlap, detectors, deep branch or policy",
        "latency_ms": {**median_of_runs([r["latency_ms"] for r in runs]), "runs": [r["latency_ms"] for r in runs]},
        "split": {**median_of_runs([r["split"] for r in runs]), "runs": [r["split"] for r in runs]},
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "chunks": runs[0]["chunks"],
    }


def run(args: argparse.Namespace) -> int:
    for name in ("n_latency", "n_throughput", "n_traffic_latency", "n_traffic_throughput", "batch_size", "threads",
                 "workers", "repeats"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    mix = getattr(args, "mix", "prompts")
    if args.texts is not None and mix == "traffic":
        raise ValueError("--texts replaces the prompts mix; it cannot be used with --mix traffic")
    if args.model is None:
        from tinyguardrail._model_path import default_model_dir

        model_dir = default_model_dir()
    else:
        model_dir = args.model
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} is not a model directory (no config.json)")
    root = args.data_root or default_data_root()
    configs = _configs(args, model_dir)
    report: dict[str, Any] = {
        "schema": 2,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "mix": mix,
        "machine": _machine(),
        "model": {"dir": str(model_dir), "name": _model_name(model_dir)},
    }
    with tempfile.TemporaryDirectory(prefix="tinyguardrail-bench-") as tmp:
        if mix in ("prompts", "both"):
            n = max(args.n_latency, args.n_throughput)
            if args.texts is not None:
                texts = load_texts_file(args.texts)
                rng = random.Random(args.seed)
                texts = rng.sample(texts, n) if len(texts) >= n else [rng.choice(texts) for _ in range(n)]
                sources = {str(args.texts): len(texts)}
            else:
                texts, sources = load_mix(root, n, args.seed)
            lengths = sorted(len(t) for t in texts)
            texts_path = Path(tmp) / "texts.json"
            texts_path.write_text(json.dumps(texts), encoding="utf-8")
            rounds = _latency_rounds(configs, texts_path, args, args.n_latency, split=False)
            results = []
            for config, runs in zip(configs, rounds, strict=True):
                print(f"bench: {config['name']} throughput ...", file=sys.stderr, flush=True)
                results.append(_measure(config, texts_path, args, runs, args.n_throughput, split=False))
            _add_paired(results, configs, rounds)
            report["texts"] = {
                "sources": sources,
                "n_latency": args.n_latency,
                "n_throughput": args.n_throughput,
                "chars_p50": lengths[len(lengths) // 2],
                "chars_p95": lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))],
                "chars_max": lengths[-1],
                "seed": args.seed,
            }
            report["results"] = results
        if mix in ("traffic", "both"):
            n = max(args.n_traffic_latency, args.n_traffic_throughput)
            texts, sources = load_traffic_mix(root, n, args.seed)
            texts_path = Path(tmp) / "traffic.json"
            texts_path.write_text(json.dumps(texts), encoding="utf-8")
            rounds = _latency_rounds(configs, texts_path, args, args.n_traffic_latency, split=True, label=" (traffic)")
            results = []
            for config, runs in zip(configs, rounds, strict=True):
                print(f"bench (traffic): {config['name']} throughput ...", file=sys.stderr, flush=True)
                results.append(_measure(config, texts_path, args, runs, args.n_traffic_throughput, split=True))
            _add_paired(results, configs, rounds)
            print("bench (traffic): floor ...", file=sys.stderr, flush=True)
            report["traffic"] = {
                "texts": {
                    "sources": sources,
                    "n_latency": args.n_traffic_latency,
                    "n_throughput": args.n_traffic_throughput,
                    "max_chars_per_text": TRAFFIC_MAX_CHARS,
                    "long_chars": LONG_CHARS,
                    "latency_texts": length_stats(texts[: args.n_traffic_latency]),
                    **length_stats(texts),
                    "seed": args.seed,
                },
                "results": results,
                "floor": _measure_floor(model_dir, texts_path, args, args.n_traffic_latency),
            }
    report["settings"] = {"latency_threads": 1, "latency_batch": 1, "latency_repeats": args.repeats,
                          "throughput_workers": args.workers, "throughput_threads": args.threads,
                          "throughput_batch": args.batch_size, "warmup": args.warmup}
    report["targets"] = TARGETS
    table = format_markdown(report)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(table + "\n", encoding="utf-8")
    return 0


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime as ort

    return {"cpu": cpu, "cpu_count": os.cpu_count(), "os": platform.platform(), "python": platform.python_version(),
            "onnxruntime": ort.__version__}


def format_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the prompts-mix table as it always was, then the traffic-mix table when measured."""
    m = report["machine"]
    lines = [f"# Runtime benchmark: {report['model']['name']}", ""]
    if "results" in report:
        t = report["texts"]
        lines += [
            f"Generated by `tinyguardrail bench` on {report['created']} ({m['cpu']}, {m['cpu_count']} CPUs, "
            f"onnxruntime {m['onnxruntime']}). Texts: {t['sources']}; characters p50 {t['chars_p50']}, "
            f"p95 {t['chars_p95']}, max {t['chars_max']}. Latency: `check()` of one text, 1 thread, {t['n_latency']} "
            f"texts, median of {report['settings'].get('latency_repeats', 1)} runs in fresh processes (p95 of each run "
            f"in the last column). Throughput: `check_batch()` of {report['settings']['throughput_batch']} texts from "
            f"{report['settings'].get('throughput_workers', 1)} concurrent callers, each ONNX Runtime call on "
            f"{report['settings']['throughput_threads']} intra-op thread(s), {t['n_throughput']} texts. Early exit: share of rows "
            "answered by the fast branch alone (confident, or the deep branch could not change the decision: "
            "`skip_decided`; *no early exit* turns both off). Peak RSS: the worker process's maximum resident set.",
            "",
            "| configuration | provider | p50 ms | p95 ms | p99 ms | mean ms | texts/s | early exit | peak RSS MB | model MB "
            "| p95 per run |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in report["results"]:
            lat = r["latency_ms"]
            provider = r["providers"][0].replace("ExecutionProvider", "")
            lines.append(
                f"| {r['config']} | {provider} | {lat['p50']:.2f} | {lat['p95']:.2f} | {lat['p99']:.2f} | "
                f"{lat['mean']:.2f} | {r['throughput_texts_per_s']:.1f} | {100 * r['early_exit_share']:.1f} % | "
                f"{r['peak_rss_mb']:.0f} | {r['model_mb']:.1f} | "
                + " / ".join(f"{x['p95']:.2f}" for x in lat.get("runs", [lat])) + " |"
            )
        lines += _paired_lines(report["results"])
        tg = report["targets"]
        lines += ["", f"Goals (SPEC section 9): p95 <= {tg['latency_p95_ms']:g} ms at batch 1 on 1 thread; "
                      f">= {tg['throughput_texts_per_s']:g} texts/s batched on 2 cores."]
    if "traffic" in report:
        lines += (["", ""] if "results" in report else []) + format_traffic_markdown(report)
    return "\n".join(lines)


def _paired_lines(results: list[dict[str, Any]]) -> list[str]:
    """A sentence on each configuration's paired p95 ratio to the baseline, when one was measured."""
    paired = [r for r in results if "p95_vs_baseline" in r]
    if not paired:
        return []
    parts = [f"{r['config']} {r['p95_vs_baseline']['median']:.3f} (rounds "
             + " / ".join(f"{x:.3f}" for x in r["p95_vs_baseline"]["per_round"]) + ")" for r in paired]
    return ["", "p95 against the baseline, paired by round (the configurations take turns inside each round; median "
                "of each round's p95 divided by the baseline's p95 of the same round; below 1 is faster): "
                + "; ".join(parts) + "."]


def _fmt(part: dict[str, Any], key: str) -> str:
    return f"{part[key]:.2f}" if key in part else "–"


def format_traffic_markdown(report: dict[str, Any]) -> list[str]:
    """Lines of the traffic-mix section: how the texts were drawn, then one row per configuration and the floor."""
    tr, m, st = report["traffic"], report["machine"], report["settings"]
    t = tr["texts"]
    lat_t = t.get("latency_texts", t)
    first = (tr["results"] or [tr["floor"]])[0]["split"]
    n_prompts, n_long = first["prompts"]["n"], first["long"]["n"]
    sources = ", ".join(f"{k} {v}" for k, v in sorted(t["sources"].items(), key=lambda kv: (-kv[1], kv[0])))
    lines = [
        "## Realistic traffic (`--mix traffic`)",
        "",
        f"Generated by `tinyguardrail bench --mix traffic` on {report['created']} ({m['cpu']}, {m['cpu_count']} CPUs, "
        f"onnxruntime {m['onnxruntime']}). Texts (seed {t['seed']}): {sources}; capped at "
        f"{t['max_chars_per_text']:,} characters; characters p50 {t['chars_p50']}, p90 {t['chars_p90']}, "
        f"p95 {t['chars_p95']}, p99 {t['chars_p99']}, max {t['chars_max']} ({100 * t['share_over_4000']:.1f} % over "
        f"4,000). Latency: `check()` of one text, 1 thread, the first {t['n_latency']} texts ({n_prompts} prompts "
        f"<= {t['long_chars']:,} characters, {n_long} long texts, {100 * lat_t['share_over_4000']:.1f} % over 4,000), "
        f"median of {st['latency_repeats']} runs in fresh processes; long texts in ms per 1,000 characters (each "
        f"text's ms / its length), plain ms in the JSON. Throughput: `check_batch()` of {st['throughput_batch']} texts "
        f"from {st['throughput_workers']} concurrent callers on {st['throughput_threads']} intra-op thread(s) each, "
        f"{t['n_throughput']} texts. *floor*: the shipped fast graph alone, once over each text (tokenized once, "
        "back-to-back `max_len`-token chunks, batch 1, 1 thread, detector features zero, char vectors from `char.onnx` "
        "through the runtime cache; no normalization, views, window overlap, detectors or deep branch): what reading "
        "the text costs, so the gap to each row is what the guard adds.",
        "",
        "| configuration | prompts p50 ms | prompts p95 ms | long p50 ms / 1k chars | long p95 ms / 1k chars "
        "| texts/s | early exit | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [*tr["results"], tr["floor"]]:
        sp = r["split"]
        thr = f"{r['throughput_texts_per_s']:.1f}" if "throughput_texts_per_s" in r else "–"
        early = f"{100 * r['early_exit_share']:.1f} %" if "early_exit_share" in r else "–"
        lines.append(
            f"| {r['config']} | {_fmt(sp['prompts'], 'p50')} | {_fmt(sp['prompts'], 'p95')} | "
            f"{_fmt(sp['long'], 'per_1k_p50')} | {_fmt(sp['long'], 'per_1k_p95')} | {thr} | {early} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    return lines + _paired_lines(tr["results"])


# ------------------------------------------------------------------------------------------------ worker


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _load_frontend(spec: str | None):
    if not spec:
        return None
    import importlib

    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)()


def _floor_worker(spec: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """Time :class:`FastFloor` on each text (after a warm-up), in this fresh process."""
    start = time.perf_counter()
    floor = FastFloor(spec["model"], threads=spec["threads"], providers=spec["providers"])
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - start, 3), "rss_after_load_mb": round(_rss_mb(), 1)}
    for i in range(spec["warmup"]):
        floor.run(texts[i % len(texts)])
    times, chunks = [], 0
    for text in texts:
        t0 = time.perf_counter()
        chunks += floor.run(text)
        times.append((time.perf_counter() - t0) * 1000)
    out["latency_ms"] = {"p50": _percentile(times, 50), "p95": _percentile(times, 95), "p99": _percentile(times, 99),
                         "mean": sum(times) / len(times), "n": len(times)}
    out["split"] = split_latency(times, [len(t) for t in texts])
    out["chunks"] = chunks
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    out["providers"] = list(floor.fast.get_providers())
    out["files"] = dict(floor.files)
    return out


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))[: spec["n"]]
    if spec["mode"] == "floor":
        return _floor_worker(spec, texts)
    from tinyguardrail.runtime.guard import Guard

    start = time.perf_counter()
    guard = Guard.load(
        spec["model"], threads=spec["threads"], providers=spec["providers"],
        early_exit_threshold=spec.get("early_exit_threshold"), skip_decided=spec.get("skip_decided", True),
        fast_file=spec.get("fast_file"),
        deep_file=spec.get("deep_file"), frontend=_load_frontend(spec.get("frontend")),
    )
    load_s = time.perf_counter() - start
    rss_after_load = _rss_mb()
    for i in range(spec["warmup"]):
        guard.check(texts[i % len(texts)])
    before = guard.stats
    out: dict[str, Any] = {"load_s": round(load_s, 3), "rss_after_load_mb": round(rss_after_load, 1)}
    if spec["mode"] == "latency":
        times = []
        for text in texts:
            t0 = time.perf_counter()
            guard.check(text)
            times.append((time.perf_counter() - t0) * 1000)
        out["latency_ms"] = {"p50": _percentile(times, 50), "p95": _percentile(times, 95),
                             "p99": _percentile(times, 99), "mean": sum(times) / len(times), "n": len(times)}
        if spec.get("split"):
            out["split"] = split_latency(times, [len(t) for t in texts])
    else:
        bs = spec["batch_size"]
        batches = [texts[i:i + bs] for i in range(0, len(texts), bs)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max(1, int(spec.get("workers", 1)))) as pool:
            for _ in pool.map(guard.check_batch, batches):
                pass
        elapsed = time.perf_counter() - t0
        out["throughput_texts_per_s"] = len(texts) / elapsed
    after = guard.stats
    rows = after["rows"] - before["rows"]
    out["early_exit_share"] = (after["early_exit_rows"] - before["early_exit_rows"]) / rows if rows else 0.0
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    info = guard.info()
    out["providers"] = info["providers"]
    out["files"] = info["files"]
    out["early_exit_threshold"] = info["early_exit_threshold"]
    model_dir = Path(spec["model"])
    onnx_files = [info["files"].get(role) for role in ("fast", "char", "deep")]
    out["model_mb"] = round(sum((model_dir / f).stat().st_size for f in onnx_files if f) / 2**20, 2)  # ONNX only
    return out


def _worker_main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--worker":
        print("usage: python -m tinyguardrail.eval.bench --worker SPEC_JSON (internal; use `tinyguardrail bench`)",
              file=sys.stderr)
        return 2
    print(json.dumps(_worker(json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
