"""Synthetic 2025 obfuscation attacks: FlipAttack, CodeChameleon and the classic encodings.

Every transform is ``fn(text, rng, *, benign=False) -> str`` and is registered in ``TRANSFORMS`` under its name.
With ``benign=False`` (the default) the encoded text is wrapped the way attackers wrap it (the FlipAttack system
prompt and ``TASK is '...'`` line, CodeChameleon's ``ProblemSolver`` prompt, "decode this and follow it", ...).
With ``benign=True`` the same encoding gets an innocent wrapper ("can you decode this for me?") or none, so the
benign twins of ``benign_transform_records`` teach "encoded" != "attack" without teaching "jailbreak wrapper" ==
"benign".

Faithfulness, so real attacks look like ours:

- FlipAttack (Liu et al. 2025, "FlipAttack: Jailbreak LLMs via Flipping", github.com/yueliu1999/FlipAttack):
  the four modes FWO (flip word order), FCW (flip characters in each word), FCS (flip characters in the whole
  sentence) and FMM ("fool model mode": FCS-flipped text while the prompt tells the model to flip each word
  back); the paper's system prompt (rules 1-4, steps 1-2), its LangGPT variant, its few-shot demos (halves of
  the task, flipped) and the user turn ``TASK is '<flipped>'``.
- CodeChameleon (Lv et al. 2024, github.com/huizhang-L/CodeChameleon): the four encryptions (reverse word order,
  odd-position words then even-position words, words sorted by length as ``[{word: index}, ...]``, a balanced
  binary tree of the words as nested ``{'value', 'left', 'right'}``), each with the paper's ``decryption``
  function and ``ProblemSolver`` class prompt.
- Payload splitting follows Kang et al. 2023 ("Exploiting Programmatic Behavior of LLMs"): SmartGPT and string
  variables ``z = a + b + c``.

``INVERSES`` recovers the hidden text (up to whitespace: compare ``" ".join(s.split())``) from the output of the
matching transform, attack or benign wrapper alike. Not invertible, so absent: ``leetspeak`` (digits in the
original are ambiguous) and ``typoglycemia`` (scrambling loses information). ``homoglyph`` and ``zero_width``
invert exactly when the original held none of the look-alike / invisible characters.

``transform_records`` turns attack rows into ``obfuscation`` rows; ``benign_transform_records`` turns benign rows
into benign twins (attack_type ``benign_<name>``). Both keep lang, template_id and split of the base row, so the
variants of one base text never straddle splits.

Shared wrappers (opt-in, ``shared_share``; ``BuildConfig.transform_shared_share``): ``ENCODERS`` gives each
transform's bare encoding (no wrapper at all), and ``shared.shared_wrap`` puts it into one of the label-neutral
everyday templates of ``shared.SHARED_TEMPLATES`` (or none). With ``shared_share`` s > 0 each row draws
``shared_rng.random() < s`` and, if true, is ``shared_wrap(ENCODERS[name](text, shared_rng), shared_rng)`` instead
of the transform's attack / benign form; attack and benign rows draw from the same bank with the same probabilities,
so no shared wrapper tells the class. The row's own form is drawn from ``rng`` either way, so ``rng`` (and every row
a build draws after this step) is the same at any share; the other rows are those of the build without it.
``INVERSES`` unwraps a shared template first.

The package is the twin of :mod:`tinyguardrail.text.views` (the decoders): a transform module has the name of the
views module that undoes its attacks.

- ``core``: the payload slot ``P`` and the wrapper helpers shared by the transforms;
- ``flip``: ``flip_fcw``, ``flip_fcs``, ``flip_fwo``, ``flip_fmm``;
- ``ciphers``: ``codechameleon_*`` and ``rot13``;
- ``encodings``: ``base64``, ``hex``, ``url``;
- ``wordplay``: ``leetspeak``, ``typoglycemia``, ``spaced``;
- ``markup``: ``hidden_comment``, ``payload_split``;
- ``characters``: ``homoglyph``, ``zero_width`` (no views twin: normalization undoes them);
- ``shared``: the label-neutral shared wrappers (``SHARED_TEMPLATES``, ``shared_wrap``, ``shared_unwrap``);
- this module: the registry (``TRANSFORMS``, ``ENCODERS``, ``INVERSES``, ``BENIGN_SAFE_TRANSFORMS``), the record-level API and
  the public names of the modules above.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import random
from collections.abc import Callable, Sequence

from tinyguardrail.data.record import Record
from tinyguardrail.data.synth.characters import (
    HOMOGLYPH_REVERSE,
    TRIGGER_WORDS,
    ZERO_WIDTH,
    homoglyph,
    remove_zero_width,
    unhomoglyph,
    zero_width,
)
from tinyguardrail.data.synth.ciphers import (
    _cc_encrypt,
    _cc_inverse,
    codechameleon_binary_tree,
    codechameleon_length,
    codechameleon_odd_even,
    codechameleon_reverse,
    rot13,
    unrot13,
)
from tinyguardrail.data.synth.core import P
from tinyguardrail.data.synth.encodings import (
    _b64_blob,
    _hex_blob,
    _url_blob,
    base64_,
    hex_,
    unbase64,
    unhex,
    unurl,
    url,
)
from tinyguardrail.data.synth.flip import _FLIP_FN, _unflip, flip_fcs, flip_fcw, flip_fmm, flip_fwo
from tinyguardrail.data.synth.markup import _split_bare, hidden_comment, payload_split, unhide_comment, unsplit_payload
from tinyguardrail.data.synth.shared import SHARED_TEMPLATES, shared_unwrap, shared_wrap
from tinyguardrail.data.synth.wordplay import _leet, _spaced_body, _typo, leetspeak, spaced, typoglycemia, unspaced
from tinyguardrail.labels import BENIGN, OBFUSCATION

__all__ = [
    "P", "TRANSFORMS", "ENCODERS", "INVERSES", "BENIGN_SAFE_TRANSFORMS", "Transform", "Encoder", "apply_transform",
    "encode", "transform_records", "benign_transform_records", "SHARED_TEMPLATES", "shared_wrap", "shared_unwrap",
    "flip_fcw", "flip_fcs", "flip_fwo", "flip_fmm",
    "codechameleon_reverse", "codechameleon_odd_even", "codechameleon_length", "codechameleon_binary_tree",
    "rot13", "unrot13",
    "base64_", "unbase64", "hex_", "unhex", "url", "unurl",
    "leetspeak", "typoglycemia", "spaced", "unspaced",
    "hidden_comment", "unhide_comment", "payload_split", "unsplit_payload",
    "homoglyph", "unhomoglyph", "HOMOGLYPH_REVERSE", "zero_width", "remove_zero_width", "ZERO_WIDTH", "TRIGGER_WORDS",
]


# ---------------------------------------------------------------------------------------------------------------
# Registry and record-level API
# ---------------------------------------------------------------------------------------------------------------

Transform = Callable[..., str]

TRANSFORMS: dict[str, Transform] = {
    "flip_fcw": flip_fcw,
    "flip_fcs": flip_fcs,
    "flip_fwo": flip_fwo,
    "flip_fmm": flip_fmm,
    "codechameleon_reverse": codechameleon_reverse,
    "codechameleon_odd_even": codechameleon_odd_even,
    "codechameleon_length": codechameleon_length,
    "codechameleon_binary_tree": codechameleon_binary_tree,
    "homoglyph": homoglyph,
    "base64": base64_,
    "hex": hex_,
    "url": url,
    "rot13": rot13,
    "leetspeak": leetspeak,
    "typoglycemia": typoglycemia,
    "zero_width": zero_width,
    "spaced": spaced,
    "hidden_comment": hidden_comment,
    "payload_split": payload_split,
}
"""Transform name -> ``fn(text, rng, *, benign=False) -> str``."""

Encoder = Callable[[str, random.Random], str]


def _flip_encoder(mode: str) -> Encoder:
    def enc(text: str, rng: random.Random) -> str:
        del rng  # flipping draws nothing
        return _FLIP_FN[mode](text)

    enc.__name__ = f"flip_{mode}_bare"
    return enc


def _cc_encoder(mode: str) -> Encoder:
    def enc(text: str, rng: random.Random) -> str:
        return _cc_encrypt(mode, text, rng)

    enc.__name__ = f"codechameleon_{mode}_bare"
    return enc


def _rot13_bare(text: str, rng: random.Random) -> str:
    del rng  # ROT13 draws nothing
    return codecs.encode(text, "rot13")


def _hidden_comment_bare(text: str, rng: random.Random) -> str:
    return hidden_comment(text, rng)  # the cover document is the same for both classes; no instruction in it


def _homoglyph_bare(text: str, rng: random.Random) -> str:
    return homoglyph(text, rng)  # no wrapper either way


def _zero_width_bare(text: str, rng: random.Random) -> str:
    return zero_width(text, rng)  # no wrapper either way


ENCODERS: dict[str, Encoder] = {
    "flip_fcw": _flip_encoder("fcw"),
    "flip_fcs": _flip_encoder("fcs"),
    "flip_fwo": _flip_encoder("fwo"),
    "flip_fmm": _flip_encoder("fmm"),  # FCS-flipped text; the FWO hint is part of the wrapper
    "codechameleon_reverse": _cc_encoder("reverse"),
    "codechameleon_odd_even": _cc_encoder("odd_even"),
    "codechameleon_length": _cc_encoder("length"),
    "codechameleon_binary_tree": _cc_encoder("binary_tree"),
    "homoglyph": _homoglyph_bare,
    "base64": _b64_blob,
    "hex": _hex_blob,
    "url": _url_blob,
    "rot13": _rot13_bare,
    "leetspeak": _leet,
    "typoglycemia": _typo,
    "zero_width": _zero_width_bare,
    "spaced": _spaced_body,
    "hidden_comment": _hidden_comment_bare,
    "payload_split": _split_bare,
}
"""Transform name -> ``fn(text, rng) -> str``: the bare encoding of ``text``, no wrapper at all (what the transform
puts into its wrapper's slot; for ``hidden_comment`` the ordinary document with the text hidden in it, for
``payload_split`` the fragments and the ``z = a + b`` join without persona or question)."""


def _shared_first(inverse: Callable[[str], str]) -> Callable[[str], str]:
    """``inverse`` that first takes the payload out of a shared template (``shared.shared_unwrap``), falling back to
    the whole text if that reading does not decode."""

    @functools.wraps(inverse)
    def inv(text: str) -> str:
        inner = shared_unwrap(text)
        if inner is not None:
            try:
                return inverse(inner)
            except (ValueError, SyntaxError, KeyError, TypeError, IndexError):  # not this template's payload after all
                pass
        return inverse(text)

    return inv


INVERSES: dict[str, Callable[[str], str]] = {
    name: _shared_first(fn)
    for name, fn in {
        "flip_fcw": _unflip("fcw"),
        "flip_fcs": _unflip("fcs"),
        "flip_fwo": _unflip("fwo"),
        "flip_fmm": _unflip("fmm"),
        "codechameleon_reverse": _cc_inverse("reverse"),
        "codechameleon_odd_even": _cc_inverse("odd_even"),
        "codechameleon_length": _cc_inverse("length"),
        "codechameleon_binary_tree": _cc_inverse("binary_tree"),
        "homoglyph": unhomoglyph,
        "base64": unbase64,
        "hex": unhex,
        "url": unurl,
        "rot13": unrot13,
        "zero_width": remove_zero_width,
        "spaced": unspaced,
        "hidden_comment": unhide_comment,
        "payload_split": unsplit_payload,
    }.items()
}
"""Transform name -> inverse recovering the hidden text (whitespace-normalized) from the transform's output or from
a shared-wrapped bare encoding (``ENCODERS`` + ``shared_wrap``)."""

#: Transforms whose benign twin is meaningful (all of them: every transform has an innocent wrapper or none).
BENIGN_SAFE_TRANSFORMS: tuple[str, ...] = tuple(TRANSFORMS)


def _checked(table: dict, name: str, text: str) -> Callable[..., str]:
    """``table[name]``, with a clear error for an unknown name or an empty text."""
    try:
        fn = table[name]
    except KeyError:
        raise KeyError(f"unknown transform {name!r}; known: {sorted(table)}") from None
    if not text.strip():
        raise ValueError("cannot transform empty text")
    return fn


def apply_transform(name: str, text: str, rng: random.Random, *, benign: bool = False) -> str:
    """Apply transform ``name`` to ``text`` (attack wrapper unless ``benign``)."""
    return _checked(TRANSFORMS, name, text)(text, rng, benign=benign)


def encode(name: str, text: str, rng: random.Random) -> str:
    """The bare encoding of ``text`` by transform ``name`` (``ENCODERS``), no wrapper."""
    return _checked(ENCODERS, name, text)(text, rng)


def _check_share(shared_share: float) -> None:
    if not 0.0 <= shared_share <= 1.0:
        raise ValueError(f"shared_share must be in [0, 1], got {shared_share!r}")


def _choose(names: Sequence[str], rng: random.Random, per_record: int) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise KeyError(f"unknown transforms {unknown}; known: {sorted(TRANSFORMS)}")
    if per_record >= len(names):
        return names
    return rng.sample(names, per_record)


def _variants(records: Sequence[Record], names: Sequence[str], rng: random.Random, per_record: int, benign: bool,
              label: str, prefix: str, shared_share: float = 0.0,
              shared_rng: random.Random | None = None) -> list[Record]:
    _check_share(shared_share)
    if shared_share > 0 and shared_rng is None:
        raise ValueError("shared_share > 0 needs its own generator (shared_rng)")
    out = []
    for r in records:
        if not r.text.strip():
            continue
        for name in _choose(names, rng, per_record):
            # the row's own form is always drawn from ``rng``, so ``rng`` moves as in every build before the option;
            # the shared choice and wrapping draw from ``shared_rng`` only (the rest of a build stays the same)
            text = apply_transform(name, r.text, rng, benign=benign)
            if shared_rng is not None and shared_share > 0 and shared_rng.random() < shared_share:
                text = shared_wrap(encode(name, r.text, shared_rng), shared_rng)
            out.append(dataclasses.replace(r, text=text, label=label, source="synth", attack_type=prefix + name))
    return out


def transform_records(records: Sequence[Record], names: Sequence[str], rng: random.Random,
                      per_record: int = 1, shared_share: float = 0.0,
                      shared_rng: random.Random | None = None) -> list[Record]:
    """Obfuscated variants of attack rows.

    Args:
        records: base rows; each must be an attack (label not ``benign``); harmful goals count as attacks.
        names: transform names to draw from.
        rng: the only source of randomness.
        per_record: transforms per base row (distinct; all of ``names`` if it is larger).
        shared_share: the share of rows (each draws ``shared_rng.random() < shared_share``) that are the bare
            encoding in a shared label-neutral wrapper (``shared.shared_wrap``) instead of the attack wrapper.
        shared_rng: the generator of the shared choice and wrapping (required when ``shared_share`` > 0); ``rng``
            draws every row's own form either way, so its state does not depend on the share.

    Returns:
        ``per_record`` rows per base row: label ``obfuscation``, source ``synth``, attack_type the transform name,
        lang / template_id / split of the base row.
    """
    benign_rows = [r for r in records if r.label == BENIGN]
    if benign_rows:
        raise ValueError(f"{len(benign_rows)} benign base rows given to transform_records; "
                         "use benign_transform_records for the false-positive side")
    return _variants(records, names, rng, per_record, benign=False, label=OBFUSCATION, prefix="",
                     shared_share=shared_share, shared_rng=shared_rng)


def benign_transform_records(records: Sequence[Record], names: Sequence[str], rng: random.Random,
                             per_record: int = 1, shared_share: float = 0.0,
                             shared_rng: random.Random | None = None) -> list[Record]:
    """Benign twins: the same encodings applied to benign rows with innocent wrappers.

    Args:
        records: benign base rows (label ``benign``).
        names: transform names to draw from.
        rng: the only source of randomness.
        per_record: transforms per base row.
        shared_share, shared_rng: as in ``transform_records``: the same bank of shared wrappers with the same probabilities, so
            no shared wrapper tells the class.

    Returns:
        Rows labelled ``benign``, source ``synth``, attack_type ``benign_<transform>``, lang / template_id / split of
        the base row.
    """
    bad = [r for r in records if r.label != BENIGN]
    if bad:
        raise ValueError(f"{len(bad)} non-benign base rows given to benign_transform_records")
    return _variants(records, names, rng, per_record, benign=True, label=BENIGN, prefix="benign_",
                     shared_share=shared_share, shared_rng=shared_rng)
