"""Shared wrappers: everyday contexts around an encoded text, the same for attack and benign rows.

**Not for training as is**: several templates paraphrase the everyday carriers of the evaluation's independent
transforms (``eval.attacks2025``: a sticky note, a note to self, an old notebook, a group chat, a log excerpt, a
mail with a subject), which build the OOD-dev obfuscated cells and the report transform suite (docs/ablations.md,
fifteenth session). Rewrite them away from those themes before a build uses them.

The transforms' own wrappers tell the class by design (an attack wrapper asks to decode and obey, a benign one to
decode for fun), so a model trained on them alone can learn the wrapper instead of the payload. The templates here
are label-neutral: they neither ask to act on the encoded text nor call it harmless; they put it where encoded text
turns up in ordinary messages (a forwarded mail, a chat log, a log file, a ticket, a code-review comment, a note to
self, a quoted line, a JSON or Markdown field), at the start, in the middle or at the end, and about one in ten
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
    # forwarded mail, chat and messages
    "---------- Forwarded message ---------\nFrom: Lena Brandt <lena.brandt@kestrelmail.net>\nDate: Tue, 4 Mar\n"
    "Subject: (no subject)\n\n" + P,
    "[09:14] <mika> " + P + "\n[09:15] <dana> where did that come from?\n[09:16] <mika> it was in the channel "
    "topic this morning",
    P + "\n\nSent from my phone",
    "SMS from an unknown number, 21:47: " + P,
    "> " + P + "\n\nquoting this from further up the thread",
    "Tom wrote:\n| " + P + "\n\nAnna replied: I saw the same thing on my side.",
    # logs, tickets, code review
    "Saw this in a log file this morning:\n\n" + P + "\n\nIt shows up about twice an hour.",
    "2026-03-11 10:22:41 INFO worker-3 received body=" + P,
    "Ticket #4821, customer attachment, line 3:\n" + P + "\nPriority: normal. Assignee: unassigned.",
    "Review comment on src/parser.py, line 212: " + P,
    "Commit 9f3c2ab message:\n\n    " + P + "\n\nAuthor: R. Okafor, 2 files changed",
    "Line 88 of the import file:\n```\n" + P + "\n```\nThe other 412 lines look like normal CSV rows.",
    P + "\n-- pasted by user 4412 at 14:02",
    # notes, clipboard, to-dos
    "note to self: " + P,
    "Copying this here so it doesn't get lost:\n" + P,
    P + "\n\n^ that was in my clipboard history this morning",
    "- [ ] " + P + "\n- [x] water the plants\n- [ ] call the garage about the tyres",
    "My flatmate left this on a sticky note on the fridge: " + P,
    "Text from the screenshot you sent, typed out: " + P,
    P + "\n\n(found in the back of an old notebook)",
    # structured fields
    '{"id": 5531, "channel": "web", "text": "' + P + '", "lang": null}',
    "| field | value |\n|---|---|\n| status | open |\n| body | " + P + " |",
    "**From:** front desk\n\n**Message:**\n\n" + P + "\n\n**Status:** unread",
    "title: weekly sync\nowner: ops\nnotes: " + P,
    "<p>" + P + "</p>\n<p>Posted 3 hours ago</p>",
    "Attachment preview:\n\n" + P + "\n\n(1 attachment, 2 KB)",
    # other languages
    "Weitergeleitete Nachricht von Jörg, gestern Abend:\n\n" + P,
    "J'ai trouvé ça dans les journaux du serveur ce matin : " + P,
    "Nota para mí: " + P + " (revisar el lunes)",
    "Нашёл это в логах сегодня утром:\n" + P + "\nПовторяется каждые полчаса.",
    "群里有人发了这个：" + P,
    P + "\n\n（チケット #3310 に添付されていた文字列）",
    "وجدت هذا في ملف السجل: " + P,
    "Komentarz do zgłoszenia nr 771: " + P,
    P + "\n\nBunu dün gelen bir e-postada gördüm.",
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
