"""De-obfuscation views: extra readings of one (normalized) input, produced only when it looks encoded.

``make_views(text)`` runs a fixed list of cheap-gated decoders over the text and returns the readings that
decode to something readable, as :class:`View` objects (the input itself is never a view). Decoders find
encoded *segments* inside larger texts ("decode this: aWdub3Jl...") and return the text with the segment
replaced by its decoding. Each new view is decoded again, up to ``limits.max_depth`` levels (base64 of ROT13
...).

| decoder | reveals | gate (cheap test before any work) |
|---|---|---|
| ``base64`` | standard and URL-safe Base64 blobs (MIME-wrapped too) | run of >= 16 Base64 characters with upper and lower case |
| ``hex`` | ``48656c``, ``48 65 6c``, ``\\x48\\x65``, ``0x48, 0x65`` | >= 8 hex pairs with a letter a-f |
| ``url`` | percent-encoding (``%69%67`` and ``quote_plus``) | >= 3 ``%XX`` escapes |
| ``html_entities`` | ``&#105;&#x67;&amp;`` | >= 4 entities |
| ``unicode_escape`` | ``\\u0069\\U0001F600`` | >= 4 escapes |
| ``rot13`` / ``caesar<k>`` | letter shifts (best shift by letter frequencies, kept if words appear) | >= 2 non-words |
| ``fcw`` | FlipAttack: characters of each word reversed | >= 2 non-words whose reversal is a word |
| ``fcs`` | FlipAttack: characters of the whole sentence reversed (per line) | as ``fcw`` |
| ``fcw`` / ``fcs`` (marks) | the same flips in scripts with combining marks (Devanagari, Bengali, Thai, ...), any language | >= 3 words that begin with a combining mark (a vowel sign or virama) |
| ``fwo`` | FlipAttack / CodeChameleon reverse: word order reversed (per line or quote) | >= 4 words, line ends like a reversed sentence |
| ``fcs`` / ``fcw`` / ``fwo`` (cued) | FlipAttack prompts that say "flipping each character / word": the ``TASK is '...'`` payload flipped back as told, in any language | "flip" and "task" in the text |
| ``codechameleon_*`` | binary-tree JSON, ``[{word: index}]`` lists, odd-even interleave, reverse | decryption markers / ``'value'`` |
| ``payload_split`` | ``a = "..."; b = "..."; z = a + b`` concatenated | >= 2 string assignments and a ``+`` |
| ``leetspeak`` | ``1gn0r3 4ll`` -> ``ignore all`` | >= 2 tokens mixing letters and leet digits/symbols |
| ``typoglycemia`` | ``Igonre all prevoius`` -> ``Ignore all previous`` | >= 2 non-words of >= 4 letters |
| ``spaced`` | ``i g n o r e``, ``i.g.n.o.r.e``, ``i-g-n`` -> ``ignore`` | >= 4 single letters in a row with separators |
| ``segmented`` | run-together words (zero-width-separated, spaces removed) -> words | alphabetic token of >= 12 letters, not a word |

Limits (:class:`Limits`): characters of input considered, decoded bytes per segment, number of views, depth,
segments per decoder, characters per view. Every decoder is wrapped: an exception yields no view. All
patterns are linear (no nested quantifiers over overlapping classes); long tokens are split with simple scans.

The package is the twin of :mod:`tinyguardrail.data.synth` (the encoders): a decoder module has the name of the
synth module whose attacks it undoes.

- ``core``: :class:`Limits`, :class:`View`, the English lexicon, ``segment_words``, ``naturalness``,
  ``text_quality``, the per-text context ``_Ctx`` / candidate ``_Cand`` and helpers shared by the decoders;
- ``encodings``: ``base64``, ``hex``, ``url``, ``html_entities``, ``unicode_escape``;
- ``ciphers``: ``rot13`` / ``caesar<k>`` and ``codechameleon_*``;
- ``flip``: ``fcw``, ``fcs``, ``fwo`` and the cued flips;
- ``markup``: ``payload_split``;
- ``wordplay``: ``leetspeak``, ``typoglycemia``, ``spaced``, ``segmented``;
- this module, the driver: ``DECODERS`` in priority order, ``make_views`` and the public names.

Homoglyphs, invisible characters and hidden comments (synth's ``characters`` and ``markup.hidden_comment``) need
no view: :mod:`tinyguardrail.text.normalize` undoes them before the views run.
"""

from __future__ import annotations

from tinyguardrail.text.views.ciphers import _chi_shifts, _dec_caesar, _dec_codechameleon
from tinyguardrail.text.views.core import (
    DEFAULT_LIMITS,
    Decoder,
    Limits,
    View,
    _Cand,
    _Ctx,
    is_word,
    lexicon,
    naturalness,
    segment_words,
    text_quality,
)
from tinyguardrail.text.views.encodings import (
    _dec_base64,
    _dec_hex,
    _dec_html_entities,
    _dec_unicode_escape,
    _dec_url,
)
from tinyguardrail.text.views.flip import _dec_flip, _dec_flip_cued, _dec_flip_marks, _dec_fwo
from tinyguardrail.text.views.markup import _dec_payload_split
from tinyguardrail.text.views.wordplay import _dec_leetspeak, _dec_segmented, _dec_spaced, _dec_typoglycemia

__all__ = ["Limits", "DEFAULT_LIMITS", "View", "make_views", "lexicon", "is_word", "warm_up", "segment_words",
           "naturalness", "text_quality"]


def warm_up() -> None:
    """Build the lexicon and the confusables tables now (keeps the first request fast)."""
    from tinyguardrail.text.normalize import warm_up as _wu

    lexicon()
    _chi_shifts("warmup")  # imports numpy and builds the frequency table
    _wu()


# ================================================================================================ driver

#: Decoders in priority order (the view cap keeps the first ones).
DECODERS: tuple[tuple[str, Decoder], ...] = (
    ("base64", _dec_base64),
    ("hex", _dec_hex),
    ("url", _dec_url),
    ("html_entities", _dec_html_entities),
    ("unicode_escape", _dec_unicode_escape),
    ("codechameleon", _dec_codechameleon),
    ("payload_split", _dec_payload_split),
    ("caesar", _dec_caesar),
    ("flip", _dec_flip),
    ("flip_marks", _dec_flip_marks),
    ("fwo", _dec_fwo),
    ("flip_cued", _dec_flip_cued),
    ("leetspeak", _dec_leetspeak),
    ("typoglycemia", _dec_typoglycemia),
    ("spaced", _dec_spaced),
    ("segmented", _dec_segmented),
)
#: Decoders applied again to a view (the re-encodable ones; word-level repairs run once).
_NESTED = frozenset({"base64", "hex", "url", "html_entities", "unicode_escape", "caesar", "flip", "flip_marks",
                     "fwo"})


def _run_decoders(text: str, limits: Limits, nested: bool) -> list[_Cand]:
    ctx = _Ctx(text, limits)
    out: list[_Cand] = []
    for name, fn in DECODERS:
        if nested and name not in _NESTED:
            continue
        try:
            res = fn(ctx)
        except Exception:  # noqa: BLE001 - a failing decoder yields no view, never an error
            continue
        for c in res:
            if c.text and c.text != text:
                out.append(c)
    return out


def make_views(text: str, limits: Limits = DEFAULT_LIMITS) -> list[View]:
    """Extra readings of ``text`` (normally the normalized text), at most ``limits.max_views``.

    Never raises on a ``str``; the input itself is not included; views are deduplicated.
    """
    if not isinstance(text, str) or not text or limits.max_views <= 0 or limits.max_depth <= 0:
        return []
    try:
        text = text[: limits.max_input_chars]
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                text = text.encode("utf-8", "replace").decode("utf-8")
        seen = {text}
        views: list[View] = []
        frontier: list[tuple[str, tuple[str, ...]]] = [(text, ())]
        for depth in range(limits.max_depth):
            nxt: list[tuple[str, tuple[str, ...]]] = []
            level: list[View] = []
            for src, chain in frontier:
                for c in _run_decoders(src, limits, nested=depth > 0):
                    t = c.text[: limits.max_view_chars]
                    if t in seen:
                        continue
                    seen.add(t)
                    level.append(View(c.name, t, chain + (c.name,), round(float(max(0.0, min(1.0, c.confidence))), 4),
                                      c.payload[: limits.max_view_chars]))
            level.sort(key=lambda v: -v.confidence)
            for v in level:
                if len(views) >= limits.max_views:
                    break
                views.append(v)
                nxt.append((v.text, v.decoder))
            if len(views) >= limits.max_views or not nxt:
                break
            frontier = nxt
        return views
    except Exception:  # noqa: BLE001 - last line of defence: no exception escapes
        return []
