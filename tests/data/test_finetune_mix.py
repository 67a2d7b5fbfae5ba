"""``scripts/make_finetune_mix.py``: the addition of a continued-training mix, with and without ``--langs``."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz, write_jsonl_gz
from tinyguardrail.data.record import Record

REPO = Path(__file__).resolve().parents[2]


def _build(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    rows = [Record(f"bank {lang} {i}", "direct_injection", "bank", "bank_secret_extraction", lang, f"bank/{lang}/x/{i}")
            for lang in ("ca", "es", "mr") for i in range(6)]
    rows += [Record(f"other {i}", "benign", "tatoeba", "", "en", f"t/{i}") for i in range(10)]
    write_jsonl_gz(data / "train.jsonl.gz", rows)
    write_jsonl_gz(data / "validation.jsonl.gz", rows[:5])
    return data


def _mix(data: Path, out: Path, *args: str) -> list[str]:
    subprocess.run([sys.executable, str(REPO / "scripts/make_finetune_mix.py"), "--data", str(data), "--out", str(out),
                    "--sources", "bank", "--validation-rows", "3", *args], check=True, capture_output=True)
    return [r.text for r in read_jsonl_gz(out / "train.jsonl.gz")]


def test_langs_restricts_the_addition_and_the_rest_replays(tmp_path):
    data = _build(tmp_path)
    texts = _mix(data, tmp_path / "mix", "--langs", "ca,mr", "--addition", "12", "--replay", "4")
    added = [t for t in texts if t.startswith("bank ca") or t.startswith("bank mr")]
    assert len(added) == 12  # every ca / mr row, and only those, can fill the addition
    assert len(texts) == 16
    # the replay draws from everything else, Spanish bank rows included
    assert all(t.startswith(("other", "bank es")) for t in texts if t not in added)


def test_without_langs_the_addition_takes_any_language(tmp_path):
    data = _build(tmp_path)
    texts = _mix(data, tmp_path / "mix", "--addition", "18", "--replay", "0")
    assert sorted(texts) == sorted(f"bank {lang} {i}" for lang in ("ca", "es", "mr") for i in range(6))


def test_addition_file_draws_the_addition_from_other_rows_and_replays_the_rest(tmp_path):
    data = _build(tmp_path)
    extra = tmp_path / "add.jsonl.gz"  # a patch side (text, label, source), one of its rows also in this build
    with gzip.open(extra, "wt", encoding="utf-8") as f:
        for text, source in [("carrier 0", "agentsynth"), ("carrier 1", "agentsynth"), ("carrier 2", "agentsynth"),
                             ("other 0", "tatoeba")]:
            f.write(json.dumps({"text": text, "label": "benign", "source": source}) + "\n")
    texts = _mix(data, tmp_path / "mix", "--addition-file", str(extra), "--addition", "4", "--replay", "27")
    assert sorted(t for t in texts if t.startswith("carrier")) == ["carrier 0", "carrier 1", "carrier 2"]
    assert texts.count("other 0") == 1  # a row of the file is not replayed a second time
    assert len(texts) == 31 and len(set(texts)) == 31


def test_asking_for_more_rows_than_there_are_is_a_clear_error(tmp_path):
    data = _build(tmp_path)
    res = subprocess.run([sys.executable, str(REPO / "scripts/make_finetune_mix.py"), "--data", str(data), "--out",
                          str(tmp_path / "mix"), "--sources", "bank", "--addition", "19"], capture_output=True, text=True)
    assert res.returncode != 0 and "--addition 19: only 18 rows to draw from" in res.stderr
