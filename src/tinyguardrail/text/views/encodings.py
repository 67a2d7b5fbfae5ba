"""Decoders of the classic encodings: ``base64``, ``hex``, ``url`` (percent-encoding), ``html_entities`` and
``unicode_escape``; decoders of the attacks in :mod:`tinyguardrail.data.synth.encodings` (HTML entities and
``\\u`` escapes have no synth transform).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import urllib.parse

from tinyguardrail.text.views.core import (
    _TOKEN_RE,
    _bytes_to_text,
    _Cand,
    _clean_decoded,
    _Ctx,
    _replace_spans,
    _span_cand,
    text_quality,
)

_B64_RE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_MIN_QUALITY = 0.45


def _readable(data: bytes, ctx: _Ctx) -> tuple[str, float] | None:
    """A decoded segment's replacement text (spaced off its neighbours) and its ``text_quality``; None when the
    bytes are not UTF-8 text or do not read as text."""
    s = _bytes_to_text(data)
    if s is None:
        return None
    q = text_quality(s, ctx.limits.script_marks)
    return (" " + _clean_decoded(s) + " ", q) if q >= _MIN_QUALITY else None


def _b64_decode(seg: str, max_bytes: int) -> bytes | None:
    s = seg.rstrip("=")
    if "-" in s or "_" in s:
        if "+" in s or "/" in s:
            return None
        s = s.replace("-", "+").replace("_", "/")
    max_chars = (max_bytes // 3) * 4
    if len(s) > max_chars:
        s = s[:max_chars]
    if len(s) % 4 == 1:
        s = s[:-1]
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


_B64_MIME_RE = re.compile(r"(?<![A-Za-z0-9+/_-])(?:[A-Za-z0-9+/]{40,}\n)+[A-Za-z0-9+/]{2,}={0,2}")


def _dec_base64(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    segs: list[list[int]] = []
    if "\n" in text:
        segs = [[m.start(), m.end()] for m in _B64_MIME_RE.finditer(text)][: ctx.limits.max_segments]
    taken = [tuple(x) for x in segs]
    for m in _B64_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        seg = m.group()
        core = seg.rstrip("=")
        if core.isalpha() and (core.islower() or core.isupper()):
            continue
        has_upper = any(c.isupper() for c in core)
        has_lower = any(c.islower() for c in core)
        if not (has_upper and has_lower):
            continue
        # MIME-wrapped: glue lines of a multiple of 4 characters separated by one newline
        if segs and text[segs[-1][1] : m.start()] in ("\n", " \n", "\n ") and (segs[-1][1] - segs[-1][0]) % 4 == 0 \
                and (segs[-1][1] - segs[-1][0]) >= 40 and not text[segs[-1][0] : segs[-1][1]].endswith("="):
            segs[-1][1] = m.end()
            continue
        segs.append([m.start(), m.end()])
        if len(segs) >= ctx.limits.max_segments * 4:
            break
    if not segs:
        return []
    spans: list[tuple[int, int, str]] = []
    best = 0.0
    for a, b in segs:
        seg = text[a:b].replace("\n", "").replace(" ", "")
        data = _b64_decode(seg, ctx.limits.max_decoded_bytes)
        if not data or len(data) < 6:
            continue
        got = _readable(data, ctx)
        if got is None:
            continue
        spans.append((a, b, got[0]))
        best = max(best, got[1])
        if len(spans) >= ctx.limits.max_segments:
            break
    if not spans:
        return []
    return [_span_cand("base64", text, spans, best, strip=True)]


_HEX_RE = re.compile(r"(?<![0-9A-Fa-f])(?:(?:\\x|0x|0X)?[0-9A-Fa-f]{2}[ ,:;\-]{0,2}){8,}")
_HEX_STRIP_RE = re.compile(r"\\x|0x|0X|[ ,:;\-]")
_HEX_LETTER_RE = re.compile(r"[A-Fa-f]")


def _dec_hex(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if sum(map(text.count, "0123456789")) < 12:
        return []
    spans: list[tuple[int, int, str]] = []
    best = 0.0
    tried = 0
    for m in _HEX_RE.finditer(text):
        seg = m.group()
        if _HEX_LETTER_RE.search(seg) is None:
            continue
        tried += 1
        if tried > ctx.limits.max_segments * 4:
            break
        digits = _HEX_STRIP_RE.sub("", seg)
        if len(digits) % 2:
            digits = digits[:-1]
        digits = digits[: ctx.limits.max_decoded_bytes * 2]
        if len(digits) < 12:
            continue
        try:
            data = bytes.fromhex(digits)
        except ValueError:
            continue
        got = _readable(data, ctx)
        if got is None:
            continue
        end = m.end()
        while end > m.start() and text[end - 1] in " ,:;-":
            end -= 1
        spans.append((m.start(), end, got[0]))
        best = max(best, got[1])
        if len(spans) >= ctx.limits.max_segments:
            break
    if not spans:
        return []
    return [_span_cand("hex", text, spans, best, strip=True)]


_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")


def _dec_url(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    n_pct = text.count("%")
    if n_pct < 3 and text.count("+") < 3:
        return []
    spans: list[tuple[int, int, str]] = []
    n_esc = 0
    word_esc = 0
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        k = len(_PCT_RE.findall(tok)) if "%" in tok else 0
        plus = tok.count("+")
        if k == 0 and plus < 3:
            continue
        if k == 0 and sum(1 for c in tok if c.isalpha()) < 0.6 * len(tok):
            continue  # arithmetic, not a query string
        n_esc += k + (plus if plus >= 3 else 0)
        word_esc += sum(1 for e in _PCT_RE.findall(tok) if chr(int(e[1:], 16)).isalnum() or int(e[1:], 16) >= 0x80)
        tok = tok[: ctx.limits.max_decoded_bytes * 3]
        dec = urllib.parse.unquote_plus(tok) if ("+" in tok and "%20" not in tok) else urllib.parse.unquote(tok)
        if dec != tok:
            spans.append((m.start(), m.end(), dec))
        if len(spans) >= ctx.limits.max_segments * 4:
            break
    if n_esc < 3 or not spans:
        return []
    out = _clean_decoded(_replace_spans(text, spans))
    q = text_quality(out, ctx.limits.script_marks)
    if q < _MIN_QUALITY:
        return []
    # escaping letters hides words; escaping only spaces and punctuation (query strings) does not
    conf = q * (0.45 + 0.55 * min(1.0, word_esc / max(1, n_esc) / 0.5))
    payload = _span_cand("url", text, spans, conf, sep=" ").payload  # decoded tokens joined by spaces (a sentence escaped word by word)
    return [_Cand("url", out, conf, _clean_decoded(payload) if payload else "")]


_ENT_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,10});")


def _dec_html_entities(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if "&" not in text:
        return []
    ents = _ENT_RE.findall(text)
    if len(ents) < 4:
        return []
    out = _clean_decoded(html.unescape(text))
    if out == text:
        return []
    q = text_quality(out, ctx.limits.script_marks)
    if q < _MIN_QUALITY:
        return []
    share = sum(len(e) for e in ents) / max(1, len(text))
    return [_Cand("html_entities", out, q * min(1.0, share / 0.25))]


_UESC_RE = re.compile(r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}")


def _dec_unicode_escape(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if "\\u" not in text and "\\U" not in text:
        return []
    escs = _UESC_RE.findall(text)
    if len(escs) < 4:
        return []

    def rep(m: re.Match) -> str:
        cp = int(m.group()[2:], 16)
        return chr(cp) if cp <= 0x10FFFF else "\ufffd"

    out = _UESC_RE.sub(rep, text)
    try:
        out = out.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        out = out.encode("utf-8", "replace").decode("utf-8")
    out = _clean_decoded(out)
    q = text_quality(out, ctx.limits.script_marks)
    if q < _MIN_QUALITY:
        return []
    share = sum(len(e) for e in escs) / max(1, len(text))
    return [_Cand("unicode_escape", out, q * min(1.0, share / 0.25))]
