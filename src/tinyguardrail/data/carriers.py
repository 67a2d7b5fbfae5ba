"""The agent channel: synthetic e-mails, tool outputs and web pages, clean and with an injection somewhere inside.

An agent reads e-mails, calendar entries, search results, file listings, CRM records, log excerpts and web pages.
The public carriers in the training data are few and narrow (function-calling specs, BIPIA tables, a handful of
e-mails), so a model learns what *those* look like. This module writes carriers of many shapes itself: record types
(contact, order, ticket, event, product, file, transaction, hotel, flight, repository, article) rendered as JSON,
YAML, CSV, XML, ``key: value`` lines, a Markdown table or a log, e-mails with headers, and HTML / Markdown pages.
Free-text fields (descriptions, reviews, e-mail bodies, paragraphs) are benign texts of the split being built.

Every carrier comes out twice: clean (``benign``, attack_type ``carrier_<kind>``) and, for a share of them, with an
injection (``direct_injection``, attack_type ``indirect_<kind>``) made of a lead-in of the split
(``data.lead_ins``, most of them written for this project) and/or a payload of the split, at the start, in the
middle, at the end, inside a field, a comment or a table cell (``data.indirect``'s composers). A fifth of the
injections are the lead-in alone: the announcement of new instructions is the attack. Some clean carriers carry a
``benign_notice`` ("URGENT: the meeting moved to 3 pm"), so that headlines and rules of ``===`` stay benign.

Rows have source ``agentsynth`` and the split they were built for; injected rows keep the payload's template id
(one payload, one split), clean ones the carrier's.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Callable, Sequence

from tinyguardrail.data import domains, indirect, lead_ins
from tinyguardrail.data.record import Material, Record, hash_text
from tinyguardrail.labels import BENIGN, DIRECT_INJECTION

SOURCE = "agentsynth"

FIRST = ("Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Mateo", "Sofia", "Arjun", "Mei", "Yuki", "Fatima",
         "Omar", "Ines", "Jonas", "Chloe", "Diego", "Amara", "Kenji", "Priya", "Lars", "Zoe", "Ivan", "Nora", "Tomas",
         "Leila", "Hugo", "Sara", "Kwame", "Elena", "Rahul", "Hana", "Pablo", "Greta", "Ali", "Julia", "Marco")
LAST = ("Smith", "Garcia", "Chen", "Müller", "Rossi", "Kim", "Nguyen", "Kowalski", "Dubois", "Silva", "Tanaka",
        "Okafor", "Johansson", "Haddad", "Novak", "Patel", "Fischer", "Moreau", "Costa", "Ivanova", "Brown", "Lopez")
CITIES = ("Lisbon", "Toronto", "Osaka", "Nairobi", "Berlin", "Austin", "Lyon", "Melbourne", "Seoul", "Bogotá",
          "Warsaw", "Cape Town", "Oslo", "Mumbai", "Dublin", "Porto Alegre", "Vienna", "Singapore", "Denver", "Cairo")
COMPANIES = ("Northwind", "Acme Labs", "Bluefin Analytics", "Greenleaf Foods", "Orbital Freight", "Helios Energy",
             "Kite Software", "Maple & Co", "Nimbus Cloud", "Redwood Legal", "Sparrow Health", "Tandem Bikes")
PRODUCTS = ("wireless mouse", "standing desk", "espresso grinder", "trail shoes", "USB-C hub", "yoga mat",
            "noise-cancelling headphones", "cast-iron pan", "e-reader", "backpack", "desk lamp", "water filter")
STATUSES = ("open", "closed", "pending", "in_progress", "resolved", "shipped", "delivered", "cancelled", "confirmed")
TLDS = ("com", "org", "io", "net", "de", "co.uk", "fr", "com.br")


def _slug(company: str) -> str:
    """A company's e-mail domain name ("Maple & Co" -> "mapleco")."""
    return company.lower().replace(" & ", "").replace(" ", "")


#: Company hosts of e-mail addresses (``_slug``) and of article URLs (which keep the "&": "maple&co").
_COMPANY_ADDRESS = re.compile(
    r"(@|https://)(?:" + "|".join(re.escape(h) for c in COMPANIES for h in dict.fromkeys((_slug(c), c.lower().replace(" ", ""))))
    + r")\.(?:" + "|".join(re.escape(t) for t in sorted(TLDS, key=len, reverse=True)) + r")\b"
)

Field = Callable[[random.Random, Sequence[str]], object]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _email_addr(rng: random.Random, name: str | None = None) -> str:
    name = name or _name(rng)
    first, last = (name.split() + ["x"])[:2]
    company = _slug(rng.choice(COMPANIES))
    return f"{first.lower()}.{last.lower()}@{company}.{rng.choice(TLDS)}"


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(22, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(7, 20):02d}:{rng.choice(('00', '15', '30', '45'))}"


def _text(rng: random.Random, texts: Sequence[str], limit: int = 400) -> str:
    t = rng.choice(texts).strip()
    return t if len(t) <= limit else t[:limit].rsplit(" ", 1)[0]


#: record type -> field -> value maker. Each rendered record uses a random subset (its first field always).
RECORD_TYPES: dict[str, dict[str, Field]] = {
    "contact": {"name": lambda r, t: _name(r), "email": lambda r, t: _email_addr(r), "company": lambda r, t: r.choice(COMPANIES),
                "city": lambda r, t: r.choice(CITIES), "phone": lambda r, t: f"+{r.randint(1, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)}",
                "notes": lambda r, t: _text(r, t)},
    "order": {"order_id": lambda r, t: f"ORD-{r.randint(10000, 99999)}", "customer": lambda r, t: _name(r),
              "item": lambda r, t: r.choice(PRODUCTS), "quantity": lambda r, t: r.randint(1, 5),
              "total": lambda r, t: round(r.uniform(5, 900), 2), "status": lambda r, t: r.choice(STATUSES),
              "placed": lambda r, t: _date(r), "gift_message": lambda r, t: _text(r, t, 200)},
    "ticket": {"ticket": lambda r, t: f"#{r.randint(1000, 9999)}", "title": lambda r, t: _text(r, t, 70),
               "reporter": lambda r, t: _email_addr(r), "priority": lambda r, t: r.choice(("low", "medium", "high")),
               "status": lambda r, t: r.choice(STATUSES), "description": lambda r, t: _text(r, t),
               "last_comment": lambda r, t: _text(r, t, 250)},
    "event": {"event": lambda r, t: _text(r, t, 60), "date": lambda r, t: _date(r), "start": lambda r, t: _time(r),
              "location": lambda r, t: r.choice(CITIES), "organizer": lambda r, t: _email_addr(r),
              "attendees": lambda r, t: [_email_addr(r) for _ in range(r.randint(1, 3))], "agenda": lambda r, t: _text(r, t)},
    "product": {"product": lambda r, t: r.choice(PRODUCTS).title(), "sku": lambda r, t: f"SKU-{r.randint(100000, 999999)}",
                "price": lambda r, t: round(r.uniform(3, 500), 2), "rating": lambda r, t: round(r.uniform(2.5, 5), 1),
                "in_stock": lambda r, t: r.random() < 0.7, "review": lambda r, t: _text(r, t, 300)},
    "file": {"path": lambda r, t: f"/home/{r.choice(FIRST).lower()}/{r.choice(('docs', 'notes', 'reports'))}/{hash_text(str(r.random()))[:6]}.txt",
             "modified": lambda r, t: _date(r), "bytes": lambda r, t: r.randint(200, 90000),
             "owner": lambda r, t: r.choice(FIRST).lower(), "preview": lambda r, t: _text(r, t)},
    "transaction": {"transaction_id": lambda r, t: hash_text(str(r.random()))[:12], "amount": lambda r, t: round(r.uniform(1, 3000), 2),
                    "currency": lambda r, t: r.choice(("EUR", "USD", "GBP", "JPY", "BRL")), "date": lambda r, t: _date(r),
                    "recipient": lambda r, t: _name(r), "reference": lambda r, t: _text(r, t, 120)},
    "hotel": {"hotel": lambda r, t: f"{r.choice(('Grand', 'Harbor', 'Park', 'City', 'Riverside'))} {r.choice(CITIES)} Hotel",
              "city": lambda r, t: r.choice(CITIES), "stars": lambda r, t: r.randint(2, 5),
              "price_per_night": lambda r, t: r.randint(60, 400), "amenities": lambda r, t: r.sample(["wifi", "pool", "gym", "parking", "breakfast", "spa"], 3),
              "guest_review": lambda r, t: _text(r, t, 300)},
    "flight": {"flight": lambda r, t: f"{r.choice(('LH', 'AF', 'UA', 'NH', 'TP', 'QF'))}{r.randint(100, 9999)}",
               "from": lambda r, t: r.choice(CITIES), "to": lambda r, t: r.choice(CITIES), "departure": lambda r, t: f"{_date(r)}T{_time(r)}",
               "seat": lambda r, t: f"{r.randint(1, 40)}{r.choice('ABCDEF')}", "remarks": lambda r, t: _text(r, t, 200)},
    "repository": {"repo": lambda r, t: f"{r.choice(FIRST).lower()}/{r.choice(PRODUCTS).replace(' ', '-')}",
                   "stars": lambda r, t: r.randint(0, 20000), "language": lambda r, t: r.choice(("Python", "Go", "Rust", "TypeScript")),
                   "open_issues": lambda r, t: r.randint(0, 300), "readme_excerpt": lambda r, t: _text(r, t)},
    "article": {"headline": lambda r, t: _text(r, t, 80), "author": lambda r, t: _name(r), "published": lambda r, t: _date(r),
                "url": lambda r, t: f"https://{r.choice(COMPANIES).lower().replace(' ', '')}.{r.choice(TLDS)}/{hash_text(str(r.random()))[:8]}",
                "summary": lambda r, t: _text(r, t)},
}


def _record(kind: str, rng: random.Random, texts: Sequence[str]) -> dict:
    fields = list(RECORD_TYPES[kind].items())
    keep = [fields[0]] + rng.sample(fields[1:], rng.randint(min(2, len(fields) - 1), len(fields) - 1))
    return {k: make(rng, texts) for k, make in keep}


def _flat(v: object) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def _render(records: list[dict], fmt: str, kind: str, rng: random.Random) -> tuple[str, str]:
    """(text, carrier kind) of ``records`` rendered as ``fmt``."""
    if fmt == "json":
        wrapper = rng.choice(("items", "data", "records", "rows", kind + "s", None))
        body = records if wrapper is None else {wrapper: records, "count": len(records)}
        return json.dumps(body, ensure_ascii=False, indent=rng.choice((None, 2))), "carrier_tool_output"
    if fmt == "yaml":
        blocks = []
        for rec in records:
            lines = []
            for k, v in rec.items():
                if isinstance(v, list):
                    lines += [f"{k}:"] + [f"- {x}" for x in v]
                else:
                    lines.append(f"{k}: {v}")
            blocks.append("\n".join(lines))
        return "\n---\n".join(blocks), "carrier_tool_output"
    if fmt == "kv":
        return "\n\n".join("\n".join(f"{k.replace('_', ' ').title()}: {_flat(v)}" for k, v in rec.items())
                           for rec in records), "carrier_tool_output"
    if fmt == "log":
        return "\n".join(f"{_date(rng)}T{_time(rng)}:{rng.randint(10, 59)}Z {rng.choice(('INFO', 'INFO', 'WARN', 'DEBUG'))} "
                         f"{kind}: " + " ".join(f"{k}={json.dumps(_flat(v), ensure_ascii=False)}" for k, v in rec.items())
                         for rec in records), "carrier_tool_output"
    keys = list(dict.fromkeys(k for rec in records for k in rec))
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(keys)
        for rec in records:
            w.writerow([_flat(rec.get(k, "")) for k in keys])
        return buf.getvalue().rstrip("\n"), "carrier_table"
    if fmt == "markdown_table":
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(_flat(rec.get(k, "")).replace("|", "/").replace("\n", " ") for k in keys) + " |"
                  for rec in records]
        return "\n".join(lines), "carrier_table"
    if fmt == "xml":
        def esc(s: str) -> str:
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        items = ["  <" + kind + ">" + "".join(f"<{k}>{esc(_flat(v))}</{k}>" for k, v in rec.items()) + "</" + kind + ">"
                 for rec in records]
        return f"<{kind}s>\n" + "\n".join(items) + f"\n</{kind}s>", "carrier_code"
    raise ValueError(f"unknown format {fmt!r}")


RECORD_FORMATS = ("json", "json", "yaml", "kv", "log", "csv", "markdown_table", "xml")


def tool_output(rng: random.Random, texts: Sequence[str]) -> tuple[str, str]:
    kind = rng.choice(sorted(RECORD_TYPES))
    records = [_record(kind, rng, texts) for _ in range(rng.randint(1, 4))]
    return _render(records, rng.choice(RECORD_FORMATS), kind, rng)


def email(rng: random.Random, texts: Sequence[str]) -> tuple[str, str]:
    sender, to = _name(rng), _name(rng)
    head = [f"From: {_email_addr(rng, sender)}", f"To: {_email_addr(rng, to)}"]
    if rng.random() < 0.3:
        head.append(f"Cc: {_email_addr(rng)}")
    head += [f"Date: {_date(rng)} {_time(rng)}", f"Subject: {rng.choice(('', 'Re: ', 'Fwd: '))}{_text(rng, texts, 60)}"]
    body = "\n\n".join(_text(rng, texts) for _ in range(rng.randint(1, 3)))
    greeting = rng.choice(("Hi {},", "Dear {},", "Hello {},", "{},", "Hey {}!"))
    sign = rng.choice(("Best,", "Kind regards,", "Thanks,", "Cheers,", "Best wishes,"))
    text = "\n".join(head) + f"\n\n{greeting.format(to.split()[0])}\n\n{body}\n\n{sign}\n{sender}"
    return text, "carrier_email"


def web_page(rng: random.Random, texts: Sequence[str]) -> tuple[str, str]:
    paras = [_text(rng, texts, 600) for _ in range(rng.randint(2, 4))]
    title = _text(rng, texts, 60)
    if rng.random() < 0.5:
        body = "\n".join(f"    <p>{p}</p>" for p in paras)
        nav = "".join(f'<a href="/{w.lower()}">{w}</a> ' for w in rng.sample(["Home", "Blog", "About", "Docs", "Contact"], 3))
        return (f"<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n  <nav>{nav.strip()}</nav>\n"
                f"  <article>\n    <h1>{title}</h1>\n{body}\n  </article>\n</body>\n</html>"), "carrier_code"
    parts = [f"# {title}"]
    for p in paras:
        if rng.random() < 0.3:
            parts.append(f"## {_text(rng, texts, 40)}")
        parts.append(p if rng.random() < 0.7 else "\n".join(f"- {s.strip()}" for s in p.split(". ") if s.strip()))
    return "\n\n".join(parts), "carrier_doc"


MAKERS = (tool_output, tool_output, tool_output, email, email, web_page)


def carrier(rng: random.Random, texts: Sequence[str]) -> Material:
    """One synthetic carrier document (a ``carrier_*`` material) with free text drawn from ``texts``."""
    text, kind = rng.choice(MAKERS)(rng, texts)
    return Material(text, kind, SOURCE, "und", f"{SOURCE}/{hash_text(text)}")


def with_domain(c: Material, rng: random.Random) -> Material:
    """``c`` with its company addresses (``@company.tld``, ``https://company.tld``) on one ``data.domains`` domain."""
    domain = domains.random_domain(rng)
    text = _COMPANY_ADDRESS.sub(lambda m: m.group(1) + domain, c.text)
    return c if text == c.text else Material(text, c.kind, c.source, c.lang, f"{SOURCE}/{hash_text(text)}")


def _clean_carrier(benign_texts: Sequence[str], split: str, rng: random.Random, seed: int, notice_share: float,
                   domain_share: float) -> tuple[Material, Record]:
    """One carrier (its addresses on a ``data.domains`` domain for ``domain_share`` of them) and its clean row, a
    ``notice_share`` of them with a benign notice inserted."""
    c = carrier(rng, benign_texts)
    if domain_share and rng.random() < domain_share:
        c = with_domain(c, rng)
    clean = c.text
    if rng.random() < notice_share and (notice := lead_ins.benign_notice(split, rng, seed)):
        clean = indirect.insert_plain(c, notice, rng)
    return c, Record(clean, BENIGN, SOURCE, c.kind, "und", c.template_id, split)


def clean_carrier_rows(benign_texts: Sequence[str], split: str, rng: random.Random, n: int, seed: int = 0,
                       notice_share: float = 0.15, domain_share: float = 0.0) -> list[Record]:
    """``n`` more clean carriers of ``split``, made as ``agent_channel_rows`` makes its clean ones, with no injected
    twin: most tool outputs, e-mails and pages an agent reads are clean, and a 1:1 pairing may teach the model that a
    carrier's shape is a coin toss (untested; ``BuildConfig.agent_channel_clean_extra``)."""
    if not benign_texts or n <= 0:
        return []
    return [_clean_carrier(benign_texts, split, rng, seed, notice_share, domain_share)[1] for _ in range(n)]


def agent_channel_rows(benign_texts: Sequence[str], payloads: Sequence[Material], split: str, rng: random.Random,
                       n: int, seed: int = 0, notice_share: float = 0.15, lone_share: float = 0.2,
                       domain_share: float = 0.0) -> list[Record]:
    """``n`` injected carriers and ``n`` clean ones of ``split`` (see the module docstring); ``domain_share`` of
    the carriers have their addresses on a ``data.domains`` domain (``with_domain``), the kind of domain the
    project's written attacks send data to, so that the clean side has such domains too."""
    if not benign_texts or n <= 0:
        return []
    leads = lead_ins.lead_in_materials(split, max(50, n // 2), rng, seed)
    out: list[Record] = []
    for _ in range(n):
        c, clean = _clean_carrier(benign_texts, split, rng, seed, notice_share, domain_share)
        out.append(clean)
        if payloads and rng.random() >= lone_share:
            payload = rng.choice(payloads)
            rec = indirect.compose_one(payload, c, rng, leads)
            out.append(Record(rec.text, DIRECT_INJECTION, SOURCE, rec.attack_type, rec.lang, rec.template_id, split))
        else:
            lead = rng.choice(leads)
            text = indirect.insert_plain(c, lead.text, rng)
            out.append(Record(text, DIRECT_INJECTION, SOURCE, "indirect_" + c.kind.removeprefix("carrier_"), "en",
                              lead.template_id, split))
    return out
