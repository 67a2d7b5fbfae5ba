"""AgentDojo task-suite environments: the benign emails, calendar events, cloud-drive files, Slack messages, web
pages, bank transactions and travel listings that AgentDojo's tools return to an agent (synthetic, English).

Text (one tool output per row, rendered the way an agent would read it):
- emails (workspace inbox, travel inbox): ``From/To/Cc/Date/Subject`` headers + body -> attack_type
  ``carrier_email`` and ``carrier_email`` materials;
- calendar events, hotels / restaurants / car-rental companies / flights, bank transactions, Slack channel and
  direct-message transcripts, web pages, cloud-drive and banking files (chunked to 200-1500 characters), the user
  profile -> attack_type ``carrier_tool_output`` and ``carrier_tool_output`` materials. Structured records are
  rendered as YAML (AgentDojo's own tool-result format);
- the default agent system prompt (``system_messages.yaml``) -> attack_type ``system_prompt`` (a record only).

Labels: all ``benign``.

Traps handled:
- Injection slots: environment files contain placeholders such as ``{calendar_introductory_meeting_injection}``.
  They are filled with the benign ``default`` of the suite's ``*_injection_vectors.yaml`` (as AgentDojo does for
  its benign runs: substitution into the raw YAML, then parsing), never left as literal ``{...}``. Some defaults are
  deliberately scam-like but injection-free ("Your data will be deleted soon! Click here ..."); they stay benign,
  which is what a guard must pass.
- ``workspace_environment.yaml`` uses a custom ``!include`` tag; the three flattened include files
  (``workspace_include_{inbox,calendar,cloud_drive}.yaml``) are read directly instead.
- Fictional PII (names, IBANs, passwords) is kept: it is part of realistic tool output.

Templates: ``agentdojo_environments/<suite>/<kind>/<id>`` (one per email / event / file / listing; a file's chunks
share it). ``split`` is None.
"""

from __future__ import annotations

import datetime as _dt
import logging
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tinyguardrail.data.chunking import chunk_text
from tinyguardrail.data.record import Material, Record

NAME = "benign/agentdojo_environments"
EVAL_ONLY = False
SOURCE = "agentdojo_environments"

SUITES = ("banking", "slack", "travel", "workspace")
WORKSPACE_INCLUDES = ("inbox", "calendar", "cloud_drive")

log = logging.getLogger(__name__)
_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


def _defaults(folder: pathlib.Path, suite: str) -> dict[str, str]:
    path = folder / f"{suite}_injection_vectors.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {k: str((v or {}).get("default") or "") for k, v in data.items()}


def _fill(raw: str, defaults: dict[str, str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: defaults.get(m.group(1), m.group(0)), raw)


def _load_filled(path: pathlib.Path, defaults: dict[str, str]) -> Any:
    raw = path.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(_fill(raw, defaults))
    except yaml.YAMLError:  # a default that breaks the YAML: parse first, then fill the strings
        data = yaml.safe_load(raw)
        return _fill_strings(data, {k: v.replace("\\n", "\n").replace("\\t", "\t") for k, v in defaults.items()})


def _fill_strings(x: Any, defaults: dict[str, str]) -> Any:
    if isinstance(x, str):
        return _fill(x, defaults)
    if isinstance(x, list):
        return [_fill_strings(v, defaults) for v in x]
    if isinstance(x, dict):
        return {k: _fill_strings(v, defaults) for k, v in x.items()}
    return x


def _plain(x: Any) -> Any:
    """YAML-safe plain structure (dates as ISO strings)."""
    if isinstance(x, (_dt.date, _dt.datetime)):
        return x.isoformat(sep=" ") if isinstance(x, _dt.datetime) else x.isoformat()
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    return x


def _yaml(x: Any) -> str:
    return yaml.safe_dump(_plain(x), sort_keys=False, allow_unicode=True, width=100).strip()


def _email(e: dict) -> str:
    lines = [f"From: {e.get('sender', '')}", f"To: {', '.join(e.get('recipients') or [])}"]
    if e.get("cc"):
        lines.append(f"Cc: {', '.join(e['cc'])}")
    if e.get("timestamp"):
        lines.append(f"Date: {_plain(e['timestamp'])}")
    lines.append(f"Subject: {e.get('subject', '')}")
    return "\n".join(lines) + "\n\n" + str(e.get("body") or "").strip()


def _items(root: pathlib.Path) -> Iterator[tuple[str, str, str]]:
    """(text, kind, template_id) for every tool output of every suite."""
    folder = pathlib.Path(root) / NAME
    for suite in SUITES:
        defaults = _defaults(folder, suite)
        if suite == "workspace":
            paths = {inc: folder / f"workspace_include_{inc}.yaml" for inc in WORKSPACE_INCLUDES}
            env = {inc: _load_filled(p, defaults) for inc, p in paths.items() if p.exists()}
        else:
            path = folder / f"{suite}_environment.yaml"
            env = (_load_filled(path, defaults) if path.exists() else None) or {}
        if not env:
            log.warning("%s: no environment files for suite %s", SOURCE, suite)
            continue
        tid = f"{SOURCE}/{suite}"

        for i, e in enumerate((env.get("inbox") or {}).get("initial_emails") or []):
            yield _email(e), "carrier_email", f"{tid}/email/{e.get('id_', i)}"
        for i, ev in enumerate((env.get("calendar") or {}).get("initial_events") or []):
            yield _yaml(ev), "carrier_tool_output", f"{tid}/event/{ev.get('id_', i)}"
        for i, fl in enumerate((env.get("cloud_drive") or {}).get("initial_files") or []):
            ftid = f"{tid}/file/{fl.get('id_', i)}"
            for chunk in chunk_text(str(fl.get("content") or "")):
                yield f"{fl.get('filename', '')}\n\n{chunk}", "carrier_tool_output", ftid

        bank = env.get("bank_account") or {}
        for key in ("transactions", "scheduled_transactions"):
            if bank.get(key):
                yield _yaml({key: bank[key]}), "carrier_tool_output", f"{tid}/{key}"
        for fname, content in ((env.get("filesystem") or {}).get("files") or {}).items():
            for chunk in chunk_text(str(content or "")):
                yield chunk, "carrier_tool_output", f"{tid}/file/{fname}"

        slack = env.get("slack") or {}
        for channel, msgs in (slack.get("channel_inbox") or {}).items():
            text = "\n".join(f"{m.get('sender')}: {m.get('body')}" for m in msgs or [])
            if text.strip():
                yield f"#{channel}\n{text}", "carrier_tool_output", f"{tid}/channel/{channel}"
        for user, msgs in (slack.get("user_inbox") or {}).items():
            text = "\n".join(f"{m.get('sender')}: {m.get('body')}" for m in msgs or [])
            if text.strip():
                yield text, "carrier_tool_output", f"{tid}/dm/{user}"
        for url, content in ((env.get("web") or {}).get("web_content") or {}).items():
            for chunk in chunk_text(str(content or "")):
                yield chunk, "carrier_tool_output", f"{tid}/web/{url}"

        for group, list_key in (
            ("hotels", "hotel_list"),
            ("restaurants", "restaurant_list"),
            ("car_rental", "company_list"),
        ):
            for i, item in enumerate((env.get(group) or {}).get(list_key) or []):
                yield _yaml(item), "carrier_tool_output", f"{tid}/{group}/{item.get('name', i)}"
        flights = (env.get("flights") or {}).get("flight_list") or []
        if flights:
            yield _yaml(flights), "carrier_tool_output", f"{tid}/flights"
        if env.get("user"):
            yield _yaml(env["user"]), "carrier_tool_output", f"{tid}/user"


def load(root: pathlib.Path) -> Iterator[Record]:
    seen: set[str] = set()
    for text, kind, template_id in _items(root):
        text = text.strip()
        if len(text) < 20 or text in seen:
            continue
        seen.add(text)
        yield Record(text, "benign", SOURCE, kind, "en", template_id)
    sysmsg = pathlib.Path(root) / NAME / "system_messages.yaml"
    if sysmsg.exists():
        for key, text in (yaml.safe_load(sysmsg.read_text(encoding="utf-8")) or {}).items():
            if isinstance(text, str) and text.strip():
                yield Record(text.strip(), "benign", SOURCE, "system_prompt", "en", f"{SOURCE}/system/{key}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    seen: set[str] = set()
    for text, kind, template_id in _items(root):
        text = text.strip()
        if len(text) < 20 or text in seen:
            continue
        seen.add(text)
        yield Material(text, kind, SOURCE, "en", template_id)
