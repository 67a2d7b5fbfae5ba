"""Decoders of letter shifts (``rot13`` / ``caesar<k>``, best shift by letter frequencies) and of CodeChameleon's
four encryptions (``codechameleon_binary_tree``, ``_length``, ``_reverse``, ``_odd_even``); decoders of the attacks
in :mod:`tinyguardrail.data.synth.ciphers`.
"""

from __future__ import annotations

import re

from tinyguardrail.text.views.core import _Cand, _Ctx, _literal, _merge_words, lexicon, naturalness

# ---------------------------------------------------------------------------------------------- caesar

# English letter frequencies (a..z), percent.
_EN_FREQ = (8.17, 1.49, 2.78, 4.25, 12.7, 2.23, 2.02, 6.09, 6.97, 0.15, 0.77, 4.03, 2.41, 6.75, 7.51, 1.93, 0.10,
            5.99, 6.33, 9.06, 2.76, 0.98, 2.36, 0.15, 1.97, 0.07)
_SHIFT_TABLES = [
    str.maketrans(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "".join(chr((i + k) % 26 + 97) for i in range(26)) + "".join(chr((i + k) % 26 + 65) for i in range(26)),
    )
    for k in range(26)
]


def _chi_shifts(letters: str) -> tuple[list[int], float, float]:
    """Shifts ordered by how English the shifted letters' frequencies look (chi-square, best first), with the
    chi-square of the text as it is and of the best shift."""
    import numpy as np

    global _EXPECTED
    if _EXPECTED is None:
        freq = np.asarray(_EN_FREQ, dtype=np.float64) / 100.0
        # decoding with shift k maps cipher letter i to (i + k) % 26: expected share of cipher letter i
        _EXPECTED = np.stack([np.roll(freq, -k) for k in range(26)])
    arr = np.frombuffer(letters.encode("ascii", "ignore"), dtype=np.uint8).astype(np.int64) - 97
    arr = arr[(arr >= 0) & (arr < 26)]
    if arr.size == 0:
        return [], 0.0, 0.0
    counts = np.bincount(arr, minlength=26).astype(np.float64)
    exp = _EXPECTED * arr.size
    chi = ((counts[None, :] - exp) ** 2 / (exp + 0.5)).sum(axis=1)
    order = [int(k) for k in np.argsort(chi) if k != 0]
    return order, float(chi[0]), float(chi[order[0]])


_EXPECTED = None


def _dec_caesar(ctx: _Ctx) -> list[_Cand]:
    bad = ctx.bad
    if len(bad) < 3 or (len(bad) < 0.15 * len(ctx.long_words) and len(bad) < 8):
        return []
    letters = "".join(bad)[:2000]
    if len(letters) < 10:
        return []
    order, chi0, chi_best = _chi_shifts(letters)
    tried = order[:2]
    if 13 not in tried:
        tried.append(13)
    words = lexicon().words
    sample = bad[:200]
    best: _Cand | None = None
    for k in tried:
        table = _SHIFT_TABLES[k]
        hits = sum(1 for w in sample if w.translate(table) in words)
        if hits < 2 or hits < 0.4 * len(sample):
            continue
        name = "rot13" if k == 13 else f"caesar{k}"
        cand = _merge_words(ctx, lambda w, t=table: w.translate(t), 3, 0.5, name)
        if cand is not None and (best is None or cand.confidence > best.confidence):
            best = cand
    if best is None and len(letters) >= 40 and tried:
        # no English words either way: a shift whose letter frequencies are far more natural than the
        # text's own (a ROT13'd sentence in another Latin-script language)
        if chi_best * 4.0 < chi0 and chi_best < 0.6 * len(letters):
            k = tried[0]
            name = "rot13" if k == 13 else f"caesar{k}"
            cand = _merge_words(ctx, lambda w, t=_SHIFT_TABLES[k]: w.translate(t), 3, 0.6, name, any_repair=True)
            if cand is not None:
                best = _Cand(cand.name, cand.text, 0.5 * cand.confidence)
    return [best] if best is not None else []


# ---------------------------------------------------------------------------------------- codechameleon

_CC_MARKERS = ("decrypt", "encrypted", "problemsolver", "'value'", '"value"', "odd_even", "binary_tree", "cipher")
# Where the encrypted words sit, most specific first: "The encrypted_problem you need to solve is: ...",
# "Input: ...", "encrypted = ...".
_CC_SLOTS = tuple(re.compile(p + r"[ \t]*([^\n]{1,20000})", re.I | re.M) for p in (
    r"encrypted[_ ]problem you need to solve is\s*:",
    r"^[ \t]*input\s*:",
    r"^[ \t]*encrypted(?:_problem)?\s*=",
    r"encrypted[_ ]problem[^\n:(]{0,60}:",
    r"cipher(?:text)?\s*[:=]",
))


def _balanced(text: str, start: int, open_ch: str, close_ch: str, cap: int) -> int | None:
    """Index after the bracket matching ``text[start]`` (quote-aware), or None; at most ``cap`` chars."""
    depth = 0
    quote = ""
    i = start
    end = min(len(text), start + cap)
    while i < end:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == open_ch:
            depth += 1
            if depth > 200:
                return None
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _tree_words(tree) -> list[str] | None:
    words: list[str] = []
    stack: list = []
    node = tree
    steps = 0
    while stack or node:
        steps += 1
        if steps > 20_000:
            return None
        while node:
            if isinstance(node, str):
                node = _literal(node)
            if not isinstance(node, dict) or "value" not in node:
                return None
            stack.append(node)
            node = node.get("left")
            steps += 1
            if steps > 20_000:
                return None
        node = stack.pop()
        words.append(str(node["value"]))
        node = node.get("right")
    return words


def _length_words(items) -> list[str] | None:
    if not isinstance(items, list) or not items or len(items) > 5000:
        return None
    pairs = []
    for d in items:
        if not isinstance(d, dict) or len(d) != 1:
            return None
        (w, i), = d.items()
        if not isinstance(i, int):
            return None
        pairs.append((i, str(w)))
    pairs.sort()
    return [w for _i, w in pairs]


def _odd_even_undo(ws: list[str]) -> list[str]:
    half = (len(ws) + 1) // 2
    out: list[str] = []
    for i in range(half):
        out.append(ws[i])
        if i + half < len(ws):
            out.append(ws[i + half])
    return out


def _dec_codechameleon(ctx: _Ctx) -> list[_Cand]:
    low = ctx.lower
    if not any(m in low for m in _CC_MARKERS):
        return []
    text = ctx.text
    cands: list[_Cand] = []
    cap = ctx.limits.max_input_chars
    # structured encodings: binary tree dicts and [{word: index}] lists, wherever they are
    done_tree = False
    for key in ("{'value'", '{"value"'):
        i = text.find(key)
        if i >= 0 and not done_tree:
            j = _balanced(text, i, "{", "}", cap)
            if j is not None:
                words = _tree_words(_literal(text[i:j]))
                if words:
                    cands.append(_Cand("codechameleon_binary_tree", text[:i] + " ".join(words) + text[j:], 1.0,
                                       " ".join(words)))
                    done_tree = True
    for key in ("[{'", '[{"'):
        i = text.find(key)
        if i >= 0:
            j = _balanced(text, i, "[", "]", cap)
            if j is not None:
                words = _length_words(_literal(text[i:j]))
                if words:
                    cands.append(_Cand("codechameleon_length", text[:i] + " ".join(words) + text[j:], 1.0,
                                       " ".join(words)))
                    break
    if cands:
        return cands
    # word-order encodings: the slot after "encrypted_problem ... is:" / "Input:" / "encrypted ="
    slot = None
    for rx in _CC_SLOTS:
        for m in rx.finditer(text):
            if len(m.group(1).split()) >= 3:
                slot = m  # the last one: the slot follows the function definitions
        if slot is not None:
            break
    for m in ([slot] if slot is not None else []):
        payload = m.group(1).strip()
        if payload.startswith(("[", "{")) or len(payload) < 3:
            continue
        quote = payload[0] if payload[0] in "'\"" and payload.endswith(payload[0]) and len(payload) > 2 else ""
        core = payload[1:-1] if quote else payload
        ws = core.split()
        if len(ws) < 3:
            continue
        base = naturalness(ws)
        options = []
        if "[::-1]" in text or "reverse" in low:
            options.append(("codechameleon_reverse", ws[::-1]))
        if "half_length" in text or "odd" in low or "even" in low:
            options.append(("codechameleon_odd_even", _odd_even_undo(ws)))
        if not options:
            options = [("codechameleon_reverse", ws[::-1]), ("codechameleon_odd_even", _odd_even_undo(ws))]
        for name, dec in options:
            nat = naturalness(dec)
            a = m.start(1) + (m.group(1).find(payload))
            b = a + len(payload)
            new = text[:a] + quote + " ".join(dec) + quote + text[b:]
            conf = 1.0 if nat > base else 0.6
            cands.append(_Cand(name, new, conf, " ".join(dec)))
        break
    return cands
