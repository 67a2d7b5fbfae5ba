"""Tatoeba test set of LASER: short everyday sentences in 112 languages, each paired with an English translation
("Maria sagte, sie wisse nicht, wo Tom sei.").

Files: ``tatoeba.<xxx>-eng.<xxx>.txt`` and ``tatoeba.<xxx>-eng.eng.txt`` (line *i* of one translates line *i* of
the other; up to 1,000 pairs per language; 88,877 non-English lines).

Rows (all ``benign`` / attack_type ``none``: ordinary conversational text that keeps the model from flagging
non-English text per se):
- the NON-ENGLISH side of every pair: at most ``MAX_PER_LANG`` distinct sentences per language (every file has
  at most 1,000 lines, so today the cap only guards against future, larger files);
- a SAMPLE of the English sides: the 112 English files repeat one another heavily (88,877 lines, 69k distinct,
  many "Tom needs water" variants), so only ``ENGLISH_SAMPLE`` distinct English sentences are kept, chosen by
  stable hash rank.
Selection is deterministic (hash ranks, no RNG). Exact duplicates within a language are dropped.

Templates: a pair's sentence and its English translation share ``tatoeba_laser/<xxx>/<line>`` so a translation
never lands in another split than its original.

Language: the file's ISO 639-3 code mapped to ISO 639-1 where one exists (``deu`` -> ``de``, ``cmn`` -> ``zh``,
``pes`` -> ``fa``, ``zsm`` -> ``ms``, ``lvs`` -> ``lv``, ``swh`` -> ``sw``, ``nob`` -> ``nb`` ...: ``ISO3_TO_ISO1``);
languages without a two-letter code keep the three-letter one (``yue``, ``wuu``, ``gsw``, ``ber``, ``kab``,
``lfn``, ``tzl`` ...). ``split`` is None.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

from tinyguardrail.data.chunking import cap_by_rank, norm_key
from tinyguardrail.data.record import Record

NAME = "benign/tatoeba_laser"
EVAL_ONLY = False
SOURCE = "tatoeba_laser"

#: At most this many distinct sentences per non-English language.
MAX_PER_LANG = 1500
#: Distinct English sentences sampled from all the ``.eng`` sides together.
ENGLISH_SAMPLE = 1500

ISO3_TO_ISO1 = {
    "afr": "af", "amh": "am", "ara": "ar", "aze": "az", "bel": "be", "ben": "bn", "bos": "bs", "bre": "br",
    "bul": "bg", "cat": "ca", "ces": "cs", "cha": "ch", "cmn": "zh", "cor": "kw", "cym": "cy", "dan": "da",
    "deu": "de", "ell": "el", "eng": "en", "epo": "eo", "est": "et", "eus": "eu", "fao": "fo", "fin": "fi",
    "fra": "fr", "fry": "fy", "gla": "gd", "gle": "ga", "glg": "gl", "heb": "he", "hin": "hi", "hrv": "hr",
    "hun": "hu", "hye": "hy", "ido": "io", "ile": "ie", "ina": "ia", "ind": "id", "isl": "is", "ita": "it",
    "jav": "jv", "jpn": "ja", "kat": "ka", "kaz": "kk", "khm": "km", "kor": "ko", "kur": "ku", "lat": "la",
    "lit": "lt", "lvs": "lv", "mal": "ml", "mar": "mr", "mkd": "mk", "mon": "mn", "nld": "nl", "nno": "nn",
    "nob": "nb", "oci": "oc", "pes": "fa", "pol": "pl", "por": "pt", "ron": "ro", "rus": "ru", "slk": "sk",
    "slv": "sl", "spa": "es", "sqi": "sq", "srp": "sr", "swe": "sv", "swh": "sw", "tam": "ta", "tat": "tt",
    "tel": "te", "tgl": "tl", "tha": "th", "tuk": "tk", "tur": "tr", "uig": "ug", "ukr": "uk", "urd": "ur",
    "uzb": "uz", "vie": "vi", "xho": "xh", "yid": "yi", "zsm": "ms",
}  # fmt: skip

_FILE_RE = re.compile(r"^tatoeba\.(?P<xxx>[a-z]{3})-eng\.(?P<side>[a-z]{3})(?:\.txt)?$")


def iso1(code: str) -> str:
    """ISO 639-1 code for an ISO 639-3 code when one exists, else the 3-letter code itself."""
    return ISO3_TO_ISO1.get(code, code)


def _lines(path: pathlib.Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    pairs: dict[str, dict[str, pathlib.Path]] = {}
    for path in sorted(folder.iterdir()):
        m = _FILE_RE.match(path.name)
        if m:
            pairs.setdefault(m.group("xxx"), {})[m.group("side")] = path

    english: list[tuple[str, str]] = []
    seen_en: set[str] = set()
    for xxx in sorted(pairs):
        sides = pairs[xxx]
        tid_prefix = f"{SOURCE}/{xxx}"
        if xxx in sides:
            rows, seen = [], set()
            for i, text in enumerate(_lines(sides[xxx])):
                if text and norm_key(text) not in seen:
                    seen.add(norm_key(text))
                    rows.append((text, f"{tid_prefix}/{i}"))
            for text, tid in cap_by_rank(rows, MAX_PER_LANG, key=lambda r: r[0]):
                yield Record(text, "benign", SOURCE, "none", iso1(xxx), tid)
        if "eng" in sides:
            for i, text in enumerate(_lines(sides["eng"])):
                if text and norm_key(text) not in seen_en:
                    seen_en.add(norm_key(text))
                    english.append((text, f"{tid_prefix}/{i}"))
    for text, tid in cap_by_rank(english, ENGLISH_SAMPLE, key=lambda r: r[0]):
        yield Record(text, "benign", SOURCE, "none", "en", tid)
