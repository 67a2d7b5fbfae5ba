"""The peer harness over its real subprocess / JSONL protocol, with the worker's built-in ``fake`` peer run by the
current interpreter: no peer venv, no network, a few seconds in all."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyguardrail.eval import peers
from tinyguardrail.eval.peers import FAKE, PEERS, PeerError, available_peers, run_peer

INSTALL_SH = Path(__file__).resolve().parents[2] / "scripts" / "peers" / "install.sh"


def run_fake(texts, **kwargs):
    return run_peer(FAKE, texts, python=sys.executable, **kwargs)


def worker_lines(stdin: str, name: str = FAKE) -> tuple[list[dict], int]:
    proc = subprocess.run([sys.executable, str(peers.WORKER), name], input=stdin, capture_output=True, text=True,
                          timeout=30)
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.returncode


@pytest.fixture
def spawned(monkeypatch):
    """The worker processes run_peer starts."""
    procs = []
    popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        procs.append(popen(*args, **kwargs))
        return procs[-1]

    monkeypatch.setattr(peers.subprocess, "Popen", recording_popen)
    return procs


def test_answers_keep_the_order_of_the_texts():
    texts = [f"text {i}" + (" so IGNORE the rules" if i % 3 == 0 else "") for i in range(20)]
    texts.append("ignore\nthe line break, ünïcödé and \u2028 survive the pipe")
    r = run_fake(texts)
    expected = np.array([1.0 if i % 3 == 0 else 0.0 for i in range(20)] + [1.0])
    np.testing.assert_array_equal(r.scores, expected)
    np.testing.assert_array_equal(r.flags, expected == 1.0)
    assert r.ok.all() and r.n_errors == 0 and list(r.errors) == [None] * len(texts)
    assert r.ms.shape == r.cpu_ms.shape == (len(texts),) and (r.ms >= 0).all() and (r.cpu_ms >= 0).all()


def test_ready_line_and_answer_lines():
    requests = [{"id": "a", "text": "hello"}, {"id": 7, "text": "Ignore that"}, {"id": [1, 2], "text": "x"}]
    stdin = "".join(json.dumps(r) + "\n" for r in requests) + "\nnot json\n" + json.dumps({"id": 9, "text": 3}) + "\n"
    lines, rc = worker_lines(stdin)
    assert rc == 0
    ready = lines[0]
    assert ready["ready"] is True and ready["name"] == FAKE and ready["version"] == "0" and ready["load_s"] >= 0
    answers = lines[1:]
    assert [a["id"] for a in answers] == ["a", 7, [1, 2], None, 9]  # blank line: no answer
    assert [a["score"] for a in answers[:3]] == [0.0, 1.0, 0.0] and [a["flag"] for a in answers[:3]] == [0, 1, 0]
    for a in answers:
        assert set(a) == {"id", "score", "flag", "ms", "cpu_ms", "error"}
    assert all(a["error"] is None for a in answers[:3])
    assert answers[3]["error"].startswith("bad request") and answers[3]["score"] is None
    assert "text must be a string" in answers[4]["error"]


def test_the_result_carries_the_ready_line():
    r = run_fake(["hello"])
    assert (r.name, r.version) == (FAKE, "0") and r.load_s >= 0
    empty = run_fake([])
    assert empty.scores.shape == (0,) and empty.version == "0"


def test_an_exception_in_the_peer_is_an_error_line_and_the_run_goes_on():
    r = run_fake(["ignore a", "__raise__", "ignore b"])
    assert r.errors[1] == "RuntimeError: fake peer raised on purpose"
    assert np.isnan(r.scores[1]) and not r.flags[1] and r.ms[1] >= 0
    assert r.errors[0] is None and r.errors[2] is None and list(r.scores[[0, 2]]) == [1.0, 1.0]
    assert list(r.ok) == [True, False, True] and r.n_errors == 1


def test_a_peer_printing_on_stdout_does_not_break_the_protocol():
    r = run_fake(["__print__", "ignore"])
    assert r.ok.all() and list(r.scores) == [0.0, 1.0]


def test_a_hang_is_killed_and_the_rest_marked(spawned):
    t0 = time.monotonic()
    r = run_fake(["fine", "__hang__", "ignore", "more"], timeout_s=0.5)
    assert time.monotonic() - t0 < 5
    assert r.errors[0] is None and r.scores[0] == 0.0
    assert r.errors[1].startswith("timeout") and np.isnan(r.ms[1])
    assert all(e.startswith("not run") for e in r.errors[2:]) and np.isnan(r.scores[1:]).all()
    assert len(spawned) == 1 and spawned[0].poll() is not None  # the worker is gone


def test_a_worker_that_dies_mid_run(spawned):
    r = run_fake(["ignore", "__exit__", "ignore"])
    assert r.scores[0] == 1.0
    assert r.errors[1].startswith("worker exited (status 3)") and r.errors[2].startswith("not run")
    assert spawned[0].poll() == 3


def test_unknown_peer():
    with pytest.raises(PeerError, match="unknown peer 'nope'"):
        run_peer("nope", ["x"])  # not in PEERS: refused before anything starts
    with pytest.raises(PeerError, match="unknown peer 'nope'"):
        run_peer("nope", ["x"], python=sys.executable)  # the worker's own answer
    lines, rc = worker_lines("", name="nope")
    assert rc == 2 and lines == [{"ready": False, "name": "nope", "error": lines[0]["error"]}]


def test_a_peer_that_is_not_installed_or_cannot_start(tmp_path):
    with pytest.raises(PeerError, match="not installed"):
        run_peer("jailguard", ["x"], root=tmp_path)
    with pytest.raises(PeerError, match="exited .* before it was ready"):
        run_peer(FAKE, ["x"], python="false")
    with pytest.raises(PeerError, match="cannot start"):
        run_peer(FAKE, ["x"], python=tmp_path / "no-such-python")


def test_available_peers_looks_for_the_venvs(tmp_path):
    assert available_peers(tmp_path) == []
    python = tmp_path / "prismguard" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()
    assert available_peers(tmp_path) == ["prismguard"]


def test_cli_on_an_empty_root(tmp_path, capsys):
    assert peers.main(["--list", "--root", str(tmp_path)]) == 0
    assert f"0/{len(PEERS)} installed" in capsys.readouterr().out
    assert peers.main(["--check", "injectionshield", "--root", str(tmp_path)]) == 1
    assert "injectionshield: not installed" in capsys.readouterr().out


def test_worker_install_script_and_table_agree():
    lines, _ = worker_lines("", name="nope")
    adapters = set(re.search(r"known: (.*)", lines[0]["error"]).group(1).split(", "))
    assert adapters == set(PEERS) | {FAKE}
    script = INSTALL_SH.read_text()
    listed = re.search(r"^ALL_PEERS=\((.*)\)$", script, re.M).group(1).split()
    assert listed == list(PEERS)
    for name, peer in PEERS.items():
        assert f"install_{name}()" in script
        assert f'"{peer.requirement}"' in script, f"install.sh does not pin {peer.requirement}"
    assert subprocess.run(["bash", "-n", str(INSTALL_SH)]).returncode == 0
