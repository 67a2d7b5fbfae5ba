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

The package is the twin of :mod:`tinyguardrail.text.views` (the decoders): a transform module has the name of the
views module that undoes its attacks.

- ``core``: the payload slot ``P`` and the wrapper helpers shared by the transforms;
- ``flip``: ``flip_fcw``, ``flip_fcs``, ``flip_fwo``, ``flip_fmm``;
- ``ciphers``: ``codechameleon_*`` and ``rot13``;
- ``encodings``: ``base64``, ``hex``, ``url``;
- ``wordplay``: ``leetspeak``, ``typoglycemia``, ``spaced``;
- ``markup``: ``hidden_comment``, ``payload_split``;
- ``characters``: ``homoglyph``, ``zero_width`` (no views twin: normalization undoes them);
- this module: the registry (``TRANSFORMS``, ``INVERSES``, ``BENIGN_SAFE_TRANSFORMS``), the record-level API and
  the public names of the modules above.
"""

from __future__ import annotations

import dataclasses
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
    _cc_inverse,
    codechameleon_binary_tree,
    codechameleon_length,
    codechameleon_odd_even,
    codechameleon_reverse,
    rot13,
    unrot13,
)
from tinyguardrail.data.synth.core import P
from tinyguardrail.data.synth.encodings import base64_, hex_, unbase64, unhex, unurl, url
from tinyguardrail.data.synth.flip import _unflip, flip_fcs, flip_fcw, flip_fmm, flip_fwo
from tinyguardrail.data.synth.markup import hidden_comment, payload_split, unhide_comment, unsplit_payload
from tinyguardrail.data.synth.wordplay import leetspeak, spaced, typoglycemia, unspaced
from tinyguardrail.labels import BENIGN, OBFUSCATION

__all__ = [
    "P", "TRANSFORMS", "INVERSES", "BENIGN_SAFE_TRANSFORMS", "Transform", "apply_transform", "transform_records",
    "benign_transform_records",
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

INVERSES: dict[str, Callable[[str], str]] = {
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
}
"""Transform name -> inverse recovering the hidden text (whitespace-normalized) from the transform's output."""

#: Transforms whose benign twin is meaningful (all of them: every transform has an innocent wrapper or none).
BENIGN_SAFE_TRANSFORMS: tuple[str, ...] = tuple(TRANSFORMS)


def apply_transform(name: str, text: str, rng: random.Random, *, benign: bool = False) -> str:
    """Apply transform ``name`` to ``text`` (attack wrapper unless ``benign``)."""
    try:
        fn = TRANSFORMS[name]
    except KeyError:
        raise KeyError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}") from None
    if not text.strip():
        raise ValueError("cannot transform empty text")
    return fn(text, rng, benign=benign)


def _choose(names: Sequence[str], rng: random.Random, per_record: int) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise KeyError(f"unknown transforms {unknown}; known: {sorted(TRANSFORMS)}")
    if per_record >= len(names):
        return names
    return rng.sample(names, per_record)


def _variants(records: Sequence[Record], names: Sequence[str], rng: random.Random, per_record: int, benign: bool,
              label: str, prefix: str) -> list[Record]:
    out = []
    for r in records:
        if not r.text.strip():
            continue
        for name in _choose(names, rng, per_record):
            text = apply_transform(name, r.text, rng, benign=benign)
            out.append(dataclasses.replace(r, text=text, label=label, source="synth", attack_type=prefix + name))
    return out


def transform_records(records: Sequence[Record], names: Sequence[str], rng: random.Random,
                      per_record: int = 1) -> list[Record]:
    """Obfuscated variants of attack rows.

    Args:
        records: base rows; each must be an attack (label not ``benign``); harmful goals count as attacks.
        names: transform names to draw from.
        rng: the only source of randomness.
        per_record: transforms per base row (distinct; all of ``names`` if it is larger).

    Returns:
        ``per_record`` rows per base row: label ``obfuscation``, source ``synth``, attack_type the transform name,
        lang / template_id / split of the base row.
    """
    benign_rows = [r for r in records if r.label == BENIGN]
    if benign_rows:
        raise ValueError(f"{len(benign_rows)} benign base rows given to transform_records; "
                         "use benign_transform_records for the false-positive side")
    return _variants(records, names, rng, per_record, benign=False, label=OBFUSCATION, prefix="")


def benign_transform_records(records: Sequence[Record], names: Sequence[str], rng: random.Random,
                             per_record: int = 1) -> list[Record]:
    """Benign twins: the same encodings applied to benign rows with innocent wrappers.

    Args:
        records: benign base rows (label ``benign``).
        names: transform names to draw from.
        rng: the only source of randomness.
        per_record: transforms per base row.

    Returns:
        Rows labelled ``benign``, source ``synth``, attack_type ``benign_<transform>``, lang / template_id / split of
        the base row.
    """
    bad = [r for r in records if r.label != BENIGN]
    if bad:
        raise ValueError(f"{len(bad)} non-benign base rows given to benign_transform_records")
    return _variants(records, names, rng, per_record, benign=True, label=BENIGN, prefix="benign_")
