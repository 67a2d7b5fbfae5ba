"""Shared wrappers: everyday contexts around an encoded text, the same for attack and benign rows.

**Written apart from the evaluation's carriers.** The first bank (fifteenth session) paraphrased the everyday
carriers of the evaluation's independent transforms (``eval.attacks2025``: a sticky note, a note to self, an old
notebook, a group chat, a log excerpt, a mail with a subject), which build the OOD-dev obfuscated cells and the report
transform suite; it was withdrawn. This bank (sixteenth session, docs/ablations.md) uses other places encoded text
turns up (forms, surveys, reviews, spreadsheets, tickets, code review, commits, test fixtures, crash reports, file
metadata, OCR, translation files, structured fields) and was meant to avoid mail, chat, logs and notes (a review
found genres it still shares, e.g. the Indonesian meeting notes, a product review, an attachment preview: listed in
docs/ablations.md, "Residual themes"; this bank is what tinyguardrail-v0.14 was trained on, so it stays);
``tests/data/test_synth.py::test_shared_templates_do_not_paraphrase_the_evaluation_carriers`` checks every template
against the data tables of ``eval.attacks2025`` (at most one shared English content word, no theme word of its
carriers); it cannot see a translated paraphrase or a shared genre.

The transforms' own wrappers tell the class by design (an attack wrapper asks to decode and obey, a benign one to
decode for fun), so a model trained on them alone can learn the wrapper instead of the payload. The templates here
are label-neutral: they neither ask to act on the encoded text nor call it harmless; they put it where encoded text
turns up in ordinary work (the places above), at the start, in the middle or at the end, and about one in ten
templates is the bare ``{P}`` (no wrapper). About a quarter are in other languages (German, French, Spanish,
Russian, Chinese, Japanese, Arabic, Polish, Turkish, Indonesian; none of the languages the OOD-dev suite holds out).

``transform_records`` / ``benign_transform_records`` (``shared_share``) use this one bank with the same
probabilities for both classes, so no template here tells the class. ``shared_unwrap`` finds the payload again for
the inverses.
"""

from __future__ import annotations

import random

from tinyguardrail.data.synth.core import P, _wrap

_PLAIN = P

SHARED_TEMPLATES: tuple[str, ...] = (
    # no wrapper at all
    _PLAIN,
    _PLAIN,
    _PLAIN,
    _PLAIN,
    # forms, surveys, reviews, spreadsheets
    P + "\n\n^ the content of cell D14 in the shared budget spreadsheet",
    "Contact form submission #2291\nPhone: (left blank)\nCompany: Harlow & Sons\nMessage: " + P,
    P + "\n(survey response 218, free-text field 'Anything else?')",
    P + "\n\n— product review, 2 stars, verified purchase",
    "**Field:** gift card text\n\n" + P + "\n\n**Parcel:** 88412",
    # tickets, code review, repositories, tests
    "Ticket #4821, customer attachment, line 3:\n" + P + "\nPriority: normal. Assignee: unassigned.",
    "Review comment on src/parser.py, line 212: " + P,
    "Commit 9f3c2ab message:\n\n    " + P + "\n\nAuthor: R. Okafor, 2 files changed",
    "Line 88 of the import file:\n```\n" + P + "\n```\nThe other 412 lines look like normal CSV rows.",
    P + "\n-- pasted by user 4412 at 14:02",
    'assert roundtrip("' + P + '")  # fixture of test_roundtrip',
    "Crash report 7f2e, field user_comment:\n" + P + "\nApp version 3.8.1, Android 14",
    "Wiki page 'Onboarding', revision 57, the line added:\n" + P,
    "> " + P + "\n\nquoting this from further up the thread",
    # files and their metadata
    "EXIF ImageDescription of IMG_4471.jpg: " + P,
    "PDF properties, Keywords field: " + P,
    'msgid "welcome_banner"\nmsgstr "' + P + '"',
    "The OCR of page 2 of the scanned invoice came out as:\n" + P + "\nPage 3 is blank.",
    "Text from the screenshot you sent, typed out: " + P,
    "Attachment preview:\n\n" + P + "\n\n(1 attachment, 2 KB)",
    # structured fields
    '{"id": 5531, "channel": "web", "text": "' + P + '", "lang": null}',
    "| field | value |\n|---|---|\n| status | open |\n| body | " + P + " |",
    "name: quarterly inventory\nowner: facilities\nremarks: " + P,
    "<p>" + P + "</p>\n<p>Posted 3 hours ago</p>",
    # other languages
    "Feld „Bemerkung“ im Bestellformular: " + P,
    "Commentaire laissé dans le formulaire de contact : " + P,
    "Celda B7 de la hoja de cálculo del inventario: " + P,
    "Комментарий к коммиту 4e1a:\n" + P,
    "工单附件第3行：" + P,
    P + "\n\n（チケット #3310 に添付されていた文字列）",
    "تعليق في نموذج الاستبيان: " + P,
    "Komentarz do zgłoszenia nr 771: " + P,
    P + "\n\nÜrün yorumunda bu yazıyordu.",
    "Catatan rapat hari Senin: " + P + " — dicatat oleh Sari",
)
"""Label-neutral templates with the payload slot ``{P}`` (``core.P``); ``{P}`` alone is the bare encoding."""


def shared_wrap(encoded: str, rng: random.Random) -> str:
    """``encoded`` in a template of ``SHARED_TEMPLATES`` picked uniformly (one ``rng.choice``)."""
    return _wrap(rng.choice(SHARED_TEMPLATES), encoded)


def shared_unwrap(text: str) -> str | None:
    """The payload of the shared template that ``text`` starts and ends like (the longest such), or None (no such
    template; also for the bare ``{P}``, whose payload is the text itself)."""
    best: tuple[int, str] | None = None
    for t in dict.fromkeys(SHARED_TEMPLATES):
        prefix, suffix = t.split(P, 1)
        if not (prefix or suffix) or len(text) < len(prefix) + len(suffix):
            continue
        if text.startswith(prefix) and text.endswith(suffix):
            fixed = len(prefix) + len(suffix)
            if best is None or fixed > best[0]:
                best = (fixed, text[len(prefix) : len(text) - len(suffix)])
    return best[1] if best is not None else None
