"""The evaluation suites, built from a data build: the OOD-dev suite (for choosing), the OOD-report sets and the
independent 2025 transform suite (never used to choose anything), and the in-distribution test split.

Everything here is composed by this module's own code from rows and materials the builder held out
(``ood_dev`` and ``eval`` splits of ``tinyguardrail data build``): none of the training generators
(``data.synth``, ``data.indirect``, ``data.multilingual``, ``data.hard_negatives``) is used, so no wrapper, lead-in
or carrier of training reaches a suite through them. ``eval.leakcheck`` checks every suite row against training.

| suite | role | cells (scored PINT-style: mean over (cell, label) of accuracy) |
|---|---|---|
| ``ood_dev`` | thresholds, checkpoints, bases, data changes are chosen on it | ``source/<held-out source>`` attacks and benign text, ``pliny`` templates, ``lang/<held-out language>`` (attacks and benign), ``indirect/<carrier>`` (held-out carriers x held-out lead-ins x held-out payloads, and the same carriers clean), ``long_doc`` (4-8k-character documents, clean or with an injection past the first window), ``json_tool`` (an injection in one field of a JSON tool result, or none), ``obfuscated/<family>`` (the independent transforms on the dev half of the bases), ``overdefense`` (benign sentences of the held-out sources that use attack words innocently) |
| ``transforms`` | report | every independent transform x shape on the report half of the OOD-dev bases, and the same encodings of benign text |
| ``notinject``, ``wildguard``, ``bipia_test``, ``jbb_pair``, ``bastion``, ``garak_ml``, ``pint_example`` | report | the eval-only sets (BIPIA test carriers x test payloads composed here) |
| ``test`` | in-distribution reference | the test split as built |

A suite is a list of ``SuiteRow`` written to ``<data>/suites/<name>.jsonl.gz``; ``load_suites`` reads them back.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tinyguardrail.data.io import read_materials, read_split
from tinyguardrail.data.record import Material, Record
from tinyguardrail.eval import attacks2025

#: Suites used to choose (only this one) and to report.
DEV_SUITES = ("ood_dev",)
REPORT_SUITES = ("transforms", "notinject", "wildguard", "bipia_test", "jbb_pair", "bastion", "garak_ml", "pint_example")
ALL_SUITES = DEV_SUITES + REPORT_SUITES + ("test",)
#: Per-cell caps (rows), so that the whole evaluation of one model stays a few minutes on a laptop CPU.
CAP_BENIGN_PER_SOURCE_LANG = 120
CAP_ATTACK_PER_CELL = 400
CAP_TEST = 4000
MAX_BASE_CHARS = 400
LONG_DOC_CHARS = (4000, 8000)
#: The ``overdefense`` cell: at most this many sentences, of this many characters.
CAP_OVERDEFENSE = 400
OVERDEFENSE_CHARS = (40, 300)
#: Words an attack uses and benign text uses too, in English and in the held-out and documentation languages
#: (written for this module, independent of the training side's hard-negative vocabulary), for the ``overdefense``
#: cell: benign sentences of held-out sources that contain them are what a guard over-defends on (NotInject's kind).
OVERDEFENSE_WORDS = re.compile(
    r"\b(ignor\w*|disregard\w*|forget\w*|overrid\w*|bypass\w*|pretend\w*|role-?play\w*|act as|jailbreak\w*"
    r"|instruct\w*|system prompts?|prompts?|rules?|restrict\w*|reveal\w*|secrets?|password\w*|hack\w*|unlock\w*"
    r"|previous|persona|filters?|guidelines?|admin\w*|credential\w*|confidential\w*|inject\w*"
    r"|istruzion\w*|segret\w*|regol\w*|instru\w+|senha\w*|segred\w*|regras?|ignorar|esquec\w*|injeç\w*|iniezion\w*"
    r"|anweisung\w*|passwort\w*|geheim\w*|regeln?|instrucci\w*|contraseñ\w*|secret\w*|règles?|mot de passe)\b",
    re.IGNORECASE,
)
#: Sentences that quote or embed something (a quoted payload would be an attack inside benign prose), links and
#: markup are left out of the ``overdefense`` cell.
_QUOTED = re.compile(r"[\"“”«»„`{}<>|]|'\w|https?://|\]\(")
_SENTENCE_CUT = re.compile(r"(?<=[.!?。！？])\s+|\n+")


@dataclass(frozen=True, slots=True)
class SuiteRow:
    """One scored text: ``cell`` is the scoring group, ``label`` one of the four labels, ``origin`` where it came
    from (template id or composition recipe)."""

    text: str
    label: str
    cell: str
    source: str
    lang: str
    origin: str

    @property
    def is_attack(self) -> bool:
        return self.label != "benign"


def _key(*parts: object) -> float:
    """A stable uniform draw in [0, 1) from the parts (independent of Python's hash seed)."""
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def _row(r: Record, cell: str) -> SuiteRow:
    return SuiteRow(r.text, r.label, cell, r.source, r.lang, r.template_id)


def _cap(rows: Sequence, n: int, salt: str) -> list:
    """A deterministic subset of at most ``n`` rows."""
    return sorted(rows, key=lambda r: _key(salt, r.text))[:n] if len(rows) > n else list(rows)


# ------------------------------------------------------------------------------------------ composition helpers

_LONG_JOIN = "\n\n"
#: Ordinary tool-result shapes for the ``json_tool`` cell (search results, inbox, files), written for this module.
_TOOL_SHAPES = ("search", "inbox", "files")


def _boundary(text: str, rng: random.Random, after: int = 0) -> int:
    """A paragraph / line / sentence boundary at or after ``after`` (or the end)."""
    for rx in (r"\n\s*\n", r"\n", r"(?<=[.!?。！？])\s*"):
        cuts = [m.end() for m in re.finditer(rx, text) if after <= m.end() < len(text)]
        if cuts:
            return rng.choice(cuts)
    return len(text)


def _inject(carrier: str, injection: str, position: str, rng: random.Random) -> str:
    if position == "start":
        return injection + "\n\n" + carrier
    if position == "end":
        return carrier.rstrip() + "\n\n" + injection
    cut = _boundary(carrier, rng, after=len(carrier) // 4)
    return carrier[:cut].rstrip() + "\n" + injection + "\n" + carrier[cut:].lstrip()


def _injection(payload: Material, lead_ins: Sequence[Material], rng: random.Random) -> str:
    """A held-out lead-in (when one fits) + the payload; a third of them bare."""
    if lead_ins and rng.random() < 0.67:
        lead = rng.choice(lead_ins).text.strip()
        return lead + (" " if lead.endswith((":", ".", "!")) else ": ") + payload.text.strip()
    return payload.text.strip()


def _json_tool(items: Sequence[str], shape: str, rng: random.Random) -> str:
    """A JSON tool result holding ``items`` as the text field of its entries."""
    if shape == "search":
        body = {"query": rng.choice(["quarterly report", "team offsite", "api limits", "travel policy"]),
                "results": [{"title": t.split("\n", 1)[0][:60], "url": f"https://docs.example.com/{i}", "snippet": t}
                            for i, t in enumerate(items)]}
    elif shape == "inbox":
        body = {"messages": [{"id": 1000 + i, "from": f"user{i}@example.com", "subject": t.split("\n", 1)[0][:50],
                              "body": t} for i, t in enumerate(items)]}
    else:
        body = {"files": [{"name": f"notes_{i}.txt", "size": len(t), "content": t} for i, t in enumerate(items)]}
    return json.dumps(body, ensure_ascii=False, indent=rng.choice([None, 2]))


def compose_indirect(carriers: Sequence[Material], payloads: Sequence[Material], lead_ins: Sequence[Material],
                     n: int, rng: random.Random, cell_prefix: str = "indirect") -> list[SuiteRow]:
    """``n`` injected carriers (start / middle / end) and the same number of clean ones, one cell per carrier kind."""
    out: list[SuiteRow] = []
    if not carriers or not payloads:
        return out
    for c in rng.sample(list(carriers), min(n, len(carriers))):
        kind = c.kind.removeprefix("carrier_")
        p = rng.choice(payloads)
        position = rng.choice(("start", "middle", "end"))
        text = _inject(c.text, _injection(p, lead_ins, rng), position, rng)
        out.append(SuiteRow(text, "direct_injection", f"{cell_prefix}/{kind}", c.source, p.lang,
                            f"{c.template_id}+{p.template_id}@{position}"))
        out.append(SuiteRow(c.text, "benign", f"{cell_prefix}/{kind}", c.source, c.lang, c.template_id))
    return out


def long_documents(chunks: Sequence[Record], payloads: Sequence[Material], lead_ins: Sequence[Material],
                   rng: random.Random, n: int) -> list[SuiteRow]:
    """Up to ``n`` documents of 4-8k characters (consecutive held-out chunks of one source and locale), each clean
    and with an injection past the first 2,500 characters (beyond the model's first window)."""
    by_locale: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in chunks:
        by_locale[(r.source, r.lang)].append(r)
    pairs: list[tuple[SuiteRow, SuiteRow]] = []
    for (source, lang), rs in sorted(by_locale.items()):
        text, first = "", None
        for r in rs:
            text, first = (text + _LONG_JOIN + r.text if text else r.text), first or r.template_id
            if len(text) < LONG_DOC_CHARS[0]:
                continue
            doc, text = text[: LONG_DOC_CHARS[1]], ""
            p = rng.choice(payloads)
            cut = _boundary(doc, rng, after=2500)
            injected = doc[:cut] + "\n\n" + _injection(p, lead_ins, rng) + "\n\n" + doc[cut:]
            pairs.append((SuiteRow(doc, "benign", "long_doc", source, lang, first),
                          SuiteRow(injected, "direct_injection", "long_doc", source, lang, f"{first}+{p.template_id}")))
            first = None
    pairs.sort(key=lambda pair: _key("long_doc", pair[0].text))
    return [row for pair in pairs[:n] for row in pair]


def json_tool_results(texts: Sequence[str], payloads: Sequence[Material], lead_ins: Sequence[Material],
                      rng: random.Random, n: int) -> list[SuiteRow]:
    """JSON tool results of 2-4 held-out texts: clean, or with an injection appended to one field."""
    out: list[SuiteRow] = []
    pool = list(texts)
    for i in range(n):
        items = rng.sample(pool, min(len(pool), rng.randint(2, 4)))
        shape = rng.choice(_TOOL_SHAPES)
        out.append(SuiteRow(_json_tool(items, shape, rng), "benign", "json_tool", "composed", "en", f"json/{shape}/{i}"))
        p = rng.choice(payloads)
        j = rng.randrange(len(items))
        injected = list(items)
        injected[j] = injected[j].rstrip() + " " + _injection(p, lead_ins, rng)
        out.append(SuiteRow(_json_tool(injected, shape, rng), "direct_injection", "json_tool", "composed", p.lang,
                            f"json/{shape}/{i}+{p.template_id}"))
    return out


def overdefense_sentences(rows: Sequence[Record], n: int = CAP_OVERDEFENSE) -> list[SuiteRow]:
    """Up to ``n`` benign sentences cut from the held-out benign rows (security and prompt-engineering pages, command
    references, instructions, e-mails) that contain ``OVERDEFENSE_WORDS`` and quote nothing: a security page *about*
    prompt injection or a command that changes a password, which a guard should let through. List markers, headings'
    hashes and the closing full stop are cut off. Taken round robin over the sources (each in sorted order), so no one
    source is the cell."""
    by_src: dict[str, dict[str, Record]] = defaultdict(dict)
    for r in rows:
        if r.label != "benign":
            continue
        for piece in _SENTENCE_CUT.split(r.text):
            piece = piece.strip(" #>-*0123456789.\t")
            if (OVERDEFENSE_CHARS[0] <= len(piece) <= OVERDEFENSE_CHARS[1] and OVERDEFENSE_WORDS.search(piece)
                    and not _QUOTED.search(piece)):
                by_src[r.source].setdefault(piece, r)
    pools = {src: sorted(pieces) for src, pieces in sorted(by_src.items())}  # sorted order: a source with more than
    # its share gives its alphabetically first sentences (a seeded sample would be fairer; it would change the suite)
    out: list[SuiteRow] = []
    while len(out) < n and any(pools.values()):  # round robin over the sources
        for src, pool in pools.items():
            if pool and len(out) < n:
                piece = pool.pop(0)
                r = by_src[src][piece]
                out.append(SuiteRow(piece, "benign", "overdefense", r.source, r.lang, r.template_id))
    return out


# ------------------------------------------------------------------------------------------------- the suites


def transform_bases(rows: Sequence[Record], half: str) -> tuple[list[str], list[str]]:
    """(attack bases, benign bases) for the independent transforms: short OOD-dev rows, split into a ``dev`` and a
    ``report`` half by template group, so the transforms reported were not the ones chosen on."""
    want = 0 if half == "dev" else 1
    attacks, benign = [], []
    for r in rows:
        if len(r.text) > MAX_BASE_CHARS or int(_key("half", r.template_id) < 0.5) != 1 - want:
            continue
        if r.label in ("direct_injection", "jailbreak"):
            attacks.append(r.text)
        elif r.label == "benign" and len(r.text) >= 20:
            benign.append(r.text)
    return sorted(set(attacks)), sorted(set(benign))


def family(attack_type: str) -> str:
    """The transform family of an independent-suite row from its attack type (compositions ``outer(inner)`` are
    ``mixed``)."""
    transform = attack_type.removeprefix("benign_")
    if "(" in transform:
        return "mixed"
    for prefix, fam in (("flip_", "flip"), ("codechameleon_", "codechameleon")):
        if transform.startswith(prefix):
            return fam
    if transform in ("base64", "hex", "url", "rot13"):
        return "encoding"
    if transform in ("hidden_comment", "payload_split"):
        return "markup_split"
    return "character"


def _transform_rows(rows: Iterable[attacks2025.SuiteRow], cell: Callable[[attacks2025.SuiteRow], str]) -> list[SuiteRow]:
    return [SuiteRow(r.text, r.label, cell(r), "attacks2025", r.lang, f"{r.attack_type}/{r.shape}") for r in rows]


def indirect_parts(rows: Sequence[Record], by_kind: dict[str, list[Material]]) -> tuple[list[Material], list[Material]]:
    """(payloads, lead-ins) for the composed cells: English only, so that the ``indirect`` / ``long_doc`` /
    ``json_tool`` cells measure the channel and the ``lang`` cells the languages. Payloads: held-out payload blocks
    and the held-out sources' short standalone injections (TaskTracker's, pallms')."""
    payloads = {m.text: m for m in by_kind["payload"] if m.lang == "en"}
    for r in rows:
        if r.label == "direct_injection" and r.lang == "en" and len(r.text) <= MAX_BASE_CHARS:
            payloads.setdefault(r.text, Material(r.text, "payload", r.source, r.lang, r.template_id, r.split))
    lead_ins = [m for m in by_kind["lead_in"] if m.lang == "en"]
    return sorted(payloads.values(), key=lambda m: (m.template_id, m.text)), lead_ins


def ood_dev_suite(rows: Sequence[Record], mats: Sequence[Material], held_langs: frozenset[str], seed: int) -> list[SuiteRow]:
    rng = random.Random(f"{seed}:ood_dev")
    out: list[SuiteRow] = []
    attacks: dict[str, list[Record]] = defaultdict(list)
    benign: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in rows:
        if r.label == "benign":
            benign[(r.source, r.lang)].append(r)
            continue
        if r.lang in held_langs:
            cell = f"lang/{r.lang}"
        elif r.template_id.startswith("pyrit/pliny/"):
            cell = "pliny"
        else:
            cell = f"source/{r.source}"
        attacks[cell].append(r)
    for cell, rs in sorted(attacks.items()):
        out += [_row(r, cell) for r in _cap(rs, CAP_ATTACK_PER_CELL, cell)]
    for (src, lang), rs in sorted(benign.items()):
        cell = f"lang/{lang}" if lang in held_langs else f"source/{src}"
        out += [_row(r, cell) for r in _cap(rs, CAP_BENIGN_PER_SOURCE_LANG, f"{src}/{lang}")]
    by_kind: dict[str, list[Material]] = defaultdict(list)
    for m in mats:
        by_kind[m.kind].append(m)
    carriers = [m for k, ms in sorted(by_kind.items()) if k.startswith("carrier_") for m in ms]
    payloads, lead_ins = indirect_parts(rows, by_kind)
    out += compose_indirect(carriers, payloads, lead_ins, 300, rng)
    doc_chunks = [r for r in rows if r.label == "benign" and r.source in ("owasp_llm_top10", "brex_prompt_engineering")]
    out += long_documents(doc_chunks, payloads, lead_ins, rng, n=80)
    tool_texts = [m.text for m in carriers if m.source == "agentdojo_environments" and len(m.text) < 1200]
    out += json_tool_results(tool_texts, payloads, lead_ins, rng, n=120) if tool_texts else []
    out += overdefense_sentences(rows)
    att, ben = transform_bases(rows, "dev")
    suite = attacks2025.build_suite(att, ben, seed=seed, per_cell=4)
    out += _transform_rows(suite, lambda r: f"obfuscated/{family(r.attack_type)}")
    return out


def report_suites(eval_rows: Sequence[Record], eval_mats: Sequence[Material], ood_rows: Sequence[Record],
                  seed: int) -> dict[str, list[SuiteRow]]:
    rng = random.Random(f"{seed}:report")
    by_src: dict[str, list[Record]] = defaultdict(list)
    for r in eval_rows:
        by_src[r.source].append(r)
    out: dict[str, list[SuiteRow]] = {}
    out["notinject"] = [_row(r, f"{r.attack_type}/{r.lang}") for r in by_src["notinject"]]
    out["wildguard"] = [_row(r, "wildguard_benign") for r in by_src["piguard_eval_sets"] if r.label == "benign"]
    bipia_attack_strings = [_row(r, f"attack_string/{r.attack_type}") for r in by_src["piguard_eval_sets"] if r.label != "benign"]
    carriers = [m for m in eval_mats if m.source == "bipia" and m.kind.startswith("carrier_")]
    payloads = [m for m in eval_mats if m.source == "bipia" and m.kind == "payload"]
    out["bipia_test"] = bipia_attack_strings + compose_indirect(carriers, payloads, (), len(carriers), rng, "bipia")
    out["jbb_pair"] = [_row(r, "pair") for r in eval_rows if r.attack_type.startswith("jbb_holdout_")]
    out["bastion"] = [SuiteRow(r.text, r.label, f"{r.template_id.split('/')[1]}/{r.lang}", r.source, r.lang,
                               r.template_id) for r in by_src["bastioncorpus"]]
    out["garak_ml"] = [_row(r, f"{r.attack_type}/{r.lang}") for r in by_src["garak_multilingual"]]
    out["pint_example"] = [_row(r, r.attack_type) for r in by_src["pint_example"]]
    att, ben = transform_bases(ood_rows, "report")
    suite = attacks2025.build_suite(att, ben, seed=seed + 1, per_cell=25)
    out["transforms"] = _transform_rows(suite, lambda r: f"{r.transform}/{r.shape}")
    return out


def build_suites(data_dir: Path, seed: int = 0) -> dict[str, list[SuiteRow]]:
    """Every suite from a built data directory (deterministic for a build and a seed)."""
    data_dir = Path(data_dir)
    stats = json.loads((data_dir / "stats.json").read_text(encoding="utf-8"))
    held_langs = frozenset(stats.get("config", {}).get("ood_dev", {}).get("languages", ()))
    mats = read_materials(data_dir)
    ood_rows = read_split(data_dir, "ood_dev")
    suites = {"ood_dev": ood_dev_suite(ood_rows, [m for m in mats if m.split == "ood_dev"], held_langs, seed)}
    suites |= report_suites(read_split(data_dir, "eval"), [m for m in mats if m.split == "eval"], ood_rows, seed)
    test = read_split(data_dir, "test")
    suites["test"] = [_row(r, f"{r.label}/{r.attack_type}") for r in _cap(test, CAP_TEST, "test")]
    return {name: suites[name] for name in ALL_SUITES}


def write_suites(suites: dict[str, list[SuiteRow]], out_dir: Path) -> dict[str, str]:
    """Write each suite as gzipped JSON Lines; returns name -> sha256 of its rows (the suite's identity)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, rows in suites.items():
        payload = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in rows).encode("utf-8", "surrogatepass")
        with open(out_dir / f"{name}.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(payload)
        digests[name] = hashlib.sha256(payload).hexdigest()[:16]
    (out_dir / "manifest.json").write_text(json.dumps(
        {name: {"rows": len(rows), "sha": digests[name]} for name, rows in suites.items()}, indent=2) + "\n")
    return digests


def read_suite(path: Path) -> list[SuiteRow]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [SuiteRow(**json.loads(line)) for line in f if line.strip()]


def load_suites(suite_dir: Path, names: Iterable[str] = ALL_SUITES) -> dict[str, list[SuiteRow]]:
    return {name: read_suite(Path(suite_dir) / f"{name}.jsonl.gz") for name in names}


def run(args: argparse.Namespace) -> int:
    suites = build_suites(args.data, args.seed)
    out = args.out or args.data / "suites"
    write_suites(suites, out)
    for name, rows in suites.items():
        n_att = sum(r.is_attack for r in rows)
        print(f"{name:<14} {len(rows):>6} rows  {n_att:>5} attacks  {len({r.cell for r in rows}):>3} cells")
    print(f"wrote {out}")
    return 0
