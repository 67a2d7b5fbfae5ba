"""Vocabulary coverage: how much of a language a WordPiece vocabulary reads, and single-character pieces to add.

MiniLM's WordPiece vocabulary (English, uncased) lacks most characters of several scripts of real traffic. WordPiece
turns a whole word into ``[UNK]`` as soon as one of its characters has no piece, so on the training split v0.9's
tokenizer reads 36 % of the Chinese tokens as ``[UNK]``, 24 % of Telugu, 17 % of Burmese, 12 % of Thai and Japanese
and 8 % of Tamil (``python -m tinyguardrail.model.coverage unk``); on the OOD-dev suite, 50 % of Bengali and 58 % of
Chinese.
The model then sees those languages only through the character CNN and the detectors.

:func:`coverage_characters` lists the characters a vocabulary should have a piece for: every letter, mark and digit
of the Unicode blocks of the scripts in :data:`SCRIPT_BLOCKS` (small alphabets), and for Chinese and Japanese the
characters of ``wordfreq``'s most frequent words (multilingual corpora, not this project's data).
:func:`extend_wordpiece` appends the missing ones as pieces (``c`` and ``##c``, after the tokenizer's own
normalizer; CJK ideographs only as ``c``, since the BERT pre-tokenizer makes each one a word) and gives each new
embedding row a starting value: the ``[UNK]`` row (``init="unk"``: the model first reads a new character as it read
the unknown word), or the row of the same character in multilingual-e5-small mapped into this vocabulary's
embedding space by a least-squares linear map fitted on the pieces both vocabularies share (``init="e5"``, in the
manner of WECHSEL, Minixhofer et al. 2022).

    python -m tinyguardrail.model.coverage unk --tokenizer models/tinyguardrail-v0.17/tokenizer.json
    python -m tinyguardrail.model.coverage extend --base .carry/base_minilm --out build/base_minilm_cov --init e5
"""

from __future__ import annotations

import argparse
import collections
import copy
import hashlib
import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Unicode blocks of the scripts of the languages the guard must read (issue list: Greek, Russian / Ukrainian /
#: Serbian, Hebrew, Arabic / Persian, Hindi / Marathi / Nepali, Bengali, Tamil, Telugu, Thai, Burmese, Japanese kana,
#: Korean jamo). Latin-script languages are covered by the vocabulary already (0 % [UNK]).
SCRIPT_BLOCKS: dict[str, tuple[int, int]] = {
    "greek": (0x0370, 0x03FF),
    "cyrillic": (0x0400, 0x04FF),
    "hebrew": (0x0590, 0x05FF),
    "arabic": (0x0600, 0x06FF),
    "devanagari": (0x0900, 0x097F),
    "bengali": (0x0980, 0x09FF),
    "tamil": (0x0B80, 0x0BFF),
    "telugu": (0x0C00, 0x0C7F),
    "thai": (0x0E00, 0x0E7F),
    "myanmar": (0x1000, 0x109F),
    "hangul_jamo": (0x1100, 0x11FF),
    "hiragana": (0x3040, 0x309F),
    "katakana": (0x30A0, 0x30FF),
}
#: Languages whose characters come from wordfreq's frequent words (ideographs: too many for whole blocks).
CJK_LANGS: tuple[str, ...] = ("zh", "ja")
CJK_TOP_WORDS = 20000
#: Thai and Burmese write no spaces between words: WordPiece's default limit (100 characters a word, then [UNK])
#: would still drop whole clauses.
MAX_WORD_CHARS = 400
INITS = ("unk", "e5")


def _is_cjk(c: str) -> bool:
    cp = ord(c)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F


def coverage_characters(scripts: Iterable[str] = tuple(SCRIPT_BLOCKS), cjk_langs: Iterable[str] = CJK_LANGS,
                        cjk_top_words: int = CJK_TOP_WORDS) -> str:  # fmt: skip
    """The characters to cover, sorted: letters, marks and digits of the blocks of ``scripts``, plus the ideographs
    and kana of ``wordfreq``'s ``cjk_top_words`` most frequent words in each of ``cjk_langs`` (whose lists also
    hold Latin words)."""
    chars: set[str] = set()
    for name in scripts:
        lo, hi = SCRIPT_BLOCKS[name]
        chars.update(chr(cp) for cp in range(lo, hi + 1) if unicodedata.category(chr(cp))[0] in "LMN")
    langs = tuple(cjk_langs)
    if langs:
        import wordfreq

        for lang in langs:
            for word in wordfreq.top_n_list(lang, cjk_top_words):
                chars.update(c for c in word if _is_cjk(c) or 0x3040 <= ord(c) <= 0x30FF)  # ideographs, kana
    return "".join(sorted(chars))


#: The issue's languages of real traffic that ``wordfreq`` has lists for (Thai and Burmese have none; Serbian is
#: ``sh``, Tagalog ``fil``).
WORD_LIST_LANGS: tuple[str, ...] = (
    "en", "fr", "de", "it", "nl", "sv", "da", "ru", "pl", "ro", "sh", "es", "pt", "zh", "ja", "ko", "id", "fil", "vi",
    "fi", "hu", "ar", "tr", "hi", "bn", "fa", "uk", "cs", "el", "he",
)  # fmt: skip


def coverage_words(langs: Iterable[str] = WORD_LIST_LANGS, top_words: int = 1000) -> list[str]:
    """``wordfreq``'s ``top_words`` most frequent words of each language (multilingual corpora, not this project's
    data): ``cover_texts`` for :func:`tinyguardrail.model.pretrained.prepare_base`, so a vocabulary pruned to the
    training split keeps the pieces of every language's common words. With e5's tokenizer, 1,000 words in each of the
    30 default languages use about 26,000 pieces (in each of wordfreq's 42, about 33,000)."""
    import wordfreq

    missing = sorted(set(langs) - set(wordfreq.available_languages()))
    if missing:
        raise ValueError(f"wordfreq has no word list for {missing}")
    return [w for lang in langs for w in wordfreq.top_n_list(lang, top_words)]


def _normalizer(tok_json: dict):
    from tokenizers import Tokenizer

    return Tokenizer.from_str(json.dumps(tok_json)).normalizer


def _unk_row(model: dict, word: np.ndarray) -> np.ndarray:
    """The embedding row of a WordPiece model's unknown token."""
    return word[model["vocab"][model.get("unk_token", "[UNK]")]]


def missing_pieces(tok_json: dict, chars: str) -> list[str]:
    """The pieces to add so every character of ``chars`` (after the tokenizer's normalizer) has one, in order."""
    model = tok_json["model"]
    if model.get("type") != "WordPiece":
        raise ValueError(f"only WordPiece vocabularies are extended (got {model.get('type')}): Unigram ones such as "
                         "e5's already cover these scripts")  # fmt: skip
    vocab, prefix = model["vocab"], model.get("continuing_subword_prefix", "##")
    norm = _normalizer(tok_json)
    out: list[str] = []
    seen: set[str] = set()
    for raw in chars:
        for c in norm.normalize_str(raw) if norm is not None else raw:
            if c.isspace():
                continue
            for piece in (c,) if _is_cjk(c) else (c, prefix + c):
                if piece not in vocab and piece not in seen:
                    seen.add(piece)
                    out.append(piece)
    return out


def e5_rows(pieces: Sequence[str], tok_json: dict, word: np.ndarray, ridge: float = 1.0) -> tuple[np.ndarray, dict]:
    """Starting rows for WordPiece ``pieces`` from multilingual-e5-small: each piece's e5 row (``c`` -> ``▁c`` or
    ``c``, ``##c`` -> ``c`` or ``▁c``) through a ridge-regression map e5 -> this table, fitted on the pieces both
    vocabularies hold (``w`` <-> ``▁w``, ``##w`` <-> ``w``). A piece e5 lacks gets the ``[UNK]`` row. Returns the rows
    and the fit's statistics (anchors, R^2 on the anchors)."""
    from tinyguardrail.model.pretrained import e5_word_table

    e5_index, e5_word_rows = e5_word_table("original")
    model = tok_json["model"]
    prefix = model.get("continuing_subword_prefix", "##")

    def e5_candidates(piece: str) -> tuple[str, ...]:
        if piece.startswith(prefix) and len(piece) > len(prefix):
            return (piece[len(prefix) :], "▁" + piece[len(prefix) :])
        return ("▁" + piece, piece)

    anchors = [(i, e5_index[p]) for piece, i in model["vocab"].items() if not piece.startswith("[")
               for p in e5_candidates(piece)[:1] if p in e5_index]  # fmt: skip
    ours = np.asarray([a for a, _ in anchors])
    theirs = np.asarray([b for _, b in anchors])
    x = e5_word_rows(theirs).astype(np.float64)
    y = word[ours].astype(np.float64)
    x_mean, y_mean = x.mean(0), y.mean(0)
    xc = x - x_mean
    w = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ (y - y_mean))
    fit = xc @ w + y_mean
    r2 = 1.0 - float(((y - fit) ** 2).sum() / ((y - y_mean) ** 2).sum())
    rows = np.repeat(_unk_row(model, word)[None].astype(np.float32), len(pieces), axis=0)
    found = [(k, next(e5_index[c] for c in e5_candidates(p) if c in e5_index)) for k, p in enumerate(pieces)
             if any(c in e5_index for c in e5_candidates(p))]  # fmt: skip
    if found:
        k_idx = np.asarray([k for k, _ in found])
        rows[k_idx] = ((e5_word_rows(np.asarray([j for _, j in found])) - x_mean) @ w + y_mean).astype(np.float32)
    return rows, {"anchors": len(anchors), "r2_on_anchors": round(r2, 4), "from_e5": len(found),
                  "unk_rows": len(pieces) - len(found)}  # fmt: skip


def extend_wordpiece(tok_json: dict, word: np.ndarray, chars: str, init: str = "unk",
                     max_word_chars: int | None = MAX_WORD_CHARS) -> tuple[dict, np.ndarray, dict[str, Any]]:  # fmt: skip
    """``tok_json`` and embedding table ``word`` [V, D] with the pieces :func:`missing_pieces` names appended (new
    ids V, V+1, ...; every existing piece keeps its id and row). Returns (tokenizer JSON, table, statistics)."""
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    tok_json = copy.deepcopy(tok_json)
    model = tok_json["model"]
    pieces = missing_pieces(tok_json, chars)
    v0 = len(model["vocab"])
    if word.shape[0] != v0:
        raise ValueError(f"the table has {word.shape[0]} rows for a vocabulary of {v0}")
    stats: dict[str, Any] = {"added": len(pieces), "vocab_before": v0, "vocab_after": v0 + len(pieces), "init": init,
                             "chars": len(chars), "chars_sha256": hashlib.sha256(chars.encode()).hexdigest()[:16]}
    if init == "e5" and pieces:
        rows, fit = e5_rows(pieces, tok_json, word)
        stats["e5_map"] = fit
    else:
        rows = np.repeat(_unk_row(model, word)[None], len(pieces), axis=0)
    for k, piece in enumerate(pieces):
        model["vocab"][piece] = v0 + k
    stats["max_input_chars_per_word_before"] = int(model.get("max_input_chars_per_word", 100))
    if max_word_chars is not None:
        model["max_input_chars_per_word"] = max(int(model.get("max_input_chars_per_word", 100)), max_word_chars)
        stats["max_input_chars_per_word"] = model["max_input_chars_per_word"]
    return tok_json, np.concatenate([word, rows.astype(word.dtype)]), stats


def unk_rates(tokenizer, rows: Iterable[dict], max_chars: int = 3000) -> dict[str, dict[str, float]]:
    """Per ``lang``: the share of tokens that are ``[UNK]`` (%), and the token count."""
    unk = tokenizer.token_to_id("[UNK]")
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        ids = tokenizer.encode(r["text"][:max_chars], add_special_tokens=False).ids
        c = counts[r.get("lang") or "?"]
        c[0] += len(ids)
        c[1] += sum(i == unk for i in ids)
    return {lang: {"unk_pct": round(100.0 * u / max(n, 1), 1), "tokens": n} for lang, (n, u) in sorted(counts.items())}


def extend_base(base_dir: str | Path, out_dir: str | Path, init: str = "unk", chars: str | None = None) -> dict:
    """A compact base (``prepare_base``'s output) with the coverage pieces added; writes ``out_dir``."""
    import torch
    from tokenizers import Tokenizer

    from tinyguardrail.model.pretrained import load_compact, save_compact

    enc = load_compact(base_dir)
    tok_json = json.loads(enc.tokenizer.to_str())
    chars = coverage_characters() if chars is None else chars
    tok_json, word, stats = extend_wordpiece(tok_json, enc.word_embeddings.numpy(), chars, init)
    n_new = word.shape[0] - enc.word_embeddings.shape[0]
    enc.tokenizer = Tokenizer.from_str(json.dumps(tok_json))
    enc.word_embeddings = torch.from_numpy(word)
    enc.orig_ids = torch.cat([enc.orig_ids, torch.full((n_new,), -1, dtype=torch.long)])  # -1: not an original row
    enc.config = {**enc.config, "vocab": int(word.shape[0]),
                  "pruning": {**enc.config.get("pruning", {}), "coverage": stats}}  # fmt: skip
    summary = save_compact(enc, out_dir, weight_format="q4")
    return {**stats, "files": summary.get("files")}


def strip_base(ext_dir: str | Path, out_dir: str | Path) -> dict:
    """The base that :func:`extend_base` extended into ``ext_dir``: the added pieces and rows removed, the word-length
    limit put back. So one carried base serves runs with and without the coverage pieces."""
    from tokenizers import Tokenizer

    from tinyguardrail.model.pretrained import load_compact, save_compact

    enc = load_compact(ext_dir)
    stats = enc.config.get("pruning", {}).get("coverage")
    if not stats:
        raise ValueError(f"{ext_dir}: not a base extended by model.coverage (no pruning.coverage in its config)")
    v0 = int(stats["vocab_before"])
    tok_json = json.loads(enc.tokenizer.to_str())
    model = tok_json["model"]
    model["vocab"] = {p: i for p, i in model["vocab"].items() if i < v0}
    model["max_input_chars_per_word"] = int(stats["max_input_chars_per_word_before"])
    enc.tokenizer = Tokenizer.from_str(json.dumps(tok_json))
    enc.word_embeddings = enc.word_embeddings[:v0].contiguous()
    enc.orig_ids = enc.orig_ids[:v0].contiguous()
    pruning = {k: v for k, v in enc.config["pruning"].items() if k != "coverage"}
    enc.config = {**enc.config, "vocab": v0, "pruning": pruning}
    for key in ("format", "format_version", "weight_format", "storage_max_abs_error", "parameters",
                "parameters_without_embeddings"):  # fmt: skip
        enc.config.pop(key, None)
    save_compact(enc, out_dir, weight_format="q4")
    return {"vocab": v0, "removed": int(stats["added"]), "dir": str(out_dir)}


def extend_checkpoint(ckpt_dir: str | Path, out_dir: str | Path, init: str = "unk", chars: str | None = None) -> dict:
    """A checkpoint with the coverage pieces added to its tokenizer and word embeddings (``vocab_size`` grows;
    every other parameter is copied); writes ``out_dir``, e.g. to train a shipped model on from it."""
    import torch
    from tokenizers import Tokenizer

    from tinyguardrail.model.checkpoint import load_checkpoint, save_checkpoint
    from tinyguardrail.model.config import GuardrailConfig
    from tinyguardrail.model.model import GuardrailModel

    ckpt_dir = Path(ckpt_dir)
    model = load_checkpoint(ckpt_dir)
    tok_json = json.loads((ckpt_dir / "tokenizer.json").read_text(encoding="utf-8"))
    chars = coverage_characters() if chars is None else chars
    tok_json, word, stats = extend_wordpiece(tok_json, model.embed.word.weight.detach().numpy(), chars, init)
    grown = GuardrailModel(GuardrailConfig.from_dict({**model.config.to_dict(), "vocab_size": int(word.shape[0])}))
    state = model.state_dict()
    state["embed.word.weight"] = torch.from_numpy(word)
    grown.load_state_dict(state, strict=True)
    cfg_path = ckpt_dir / "train_config.json"
    run_config = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else None
    if run_config is not None and "model" in run_config:
        run_config["model"]["vocab_size"] = int(word.shape[0])
    info = json.loads((ckpt_dir / "checkpoint.json").read_text(encoding="utf-8"))
    info = {k: v for k, v in info.items() if k not in ("format", "version")}
    info["coverage"] = {**stats, "from": str(ckpt_dir)}
    save_checkpoint(out_dir, grown.eval(), run_config, Tokenizer.from_str(json.dumps(tok_json)), info)
    return stats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("unk", help="[UNK] share per language of a tokenizer on a built split")
    u.add_argument("--tokenizer", type=Path, required=True)
    u.add_argument("--data", type=Path, default=Path("build/data/train.jsonl.gz"))
    u.add_argument("--out", type=Path, default=None, help="write the rates as JSON here")
    st = sub.add_parser("strip", help="the base an extended base was made from (the coverage pieces removed)")
    st.add_argument("--base", type=Path, required=True)
    st.add_argument("--out", type=Path, required=True)
    e = sub.add_parser("extend", help="add the coverage pieces to a compact base (prepare_base's output) or to a "
                       "checkpoint")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--base", type=Path, help="a compact base directory")
    src.add_argument("--checkpoint", type=Path, help="a checkpoint directory (e.g. tinyguardrail recover's)")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--init", choices=INITS, default="unk")
    a = p.parse_args(argv)
    try:
        if a.cmd == "unk":
            from tokenizers import Tokenizer

            from tinyguardrail.data.io import read_jsonl_gz

            rows = ({"text": r.text, "lang": r.lang} for r in read_jsonl_gz(a.data))
            rates = unk_rates(Tokenizer.from_file(str(a.tokenizer)), rows)
            text = json.dumps({"tokenizer": str(a.tokenizer), "data": str(a.data), "per_lang": rates}, indent=2)
            if a.out:
                a.out.parent.mkdir(parents=True, exist_ok=True)
                a.out.write_text(text + "\n", encoding="utf-8")
            for lang, r in rates.items():
                print(f"{lang:4} {r['unk_pct']:5.1f} % [UNK] of {r['tokens']} tokens")
        elif a.cmd == "strip":
            print(json.dumps(strip_base(a.base, a.out), indent=2))
        else:
            done = extend_base(a.base, a.out, a.init) if a.base else extend_checkpoint(a.checkpoint, a.out, a.init)
            print(json.dumps(done, indent=2))
    except (OSError, ValueError) as exc:
        print(f"coverage: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
