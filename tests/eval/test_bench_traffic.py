"""``tinyguardrail bench --mix traffic`` on a fixture data root and the fake model: the traffic-mix loader, the
prompts / long-text latency split, the fast-graph floor and the JSON / Markdown shape (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _tg_bench_data import write_prompt_sources

from tinyguardrail.cli import main
from tinyguardrail.eval.bench import (
    TRAFFIC_MAX_CHARS,
    FastFloor,
    length_stats,
    load_traffic_mix,
    median_of_runs,
    split_latency,
)

HELPERS = Path(__file__).parents[1] / "runtime"  # _tg_fake_model.py, for the bench worker processes


def _traffic_root(root: Path) -> Path:
    """A small data root with five traffic sources (and the three prompts-mix ones, for ``--mix both``)."""
    write_prompt_sources(root)
    (root / "bench" / "piguard_eval_sets").mkdir(parents=True)
    (root / "bench" / "piguard_eval_sets" / "wildguard.json").write_text(
        json.dumps([{"prompt": f"what is the weather in city {i}", "label": 0} for i in range(12)]))
    (root / "benign" / "tatoeba_laser").mkdir(parents=True)
    (root / "benign" / "tatoeba_laser" / "tatoeba.ita-eng.ita.txt").write_text("Ciao mondo.\nVado a casa.\n")
    (root / "benign" / "tatoeba_laser" / "tatoeba.ita-eng.eng.txt").write_text("Hello world.\nI go home.\n")
    (root / "benign" / "prompt_engineering_guide").mkdir(parents=True)
    docs = [{"text": "stub"}, {"text": "the quick brown fox " * 75}, {"text": "please tell me about the weather " * 700}]
    (root / "benign" / "prompt_engineering_guide" / "peg_docs.jsonl").write_text(
        "\n".join(json.dumps(d) for d in docs) + "\n")
    (root / "benign" / "bfcl_function_calling").mkdir(parents=True)
    rows = [{"id": i, "function": [{"name": f"tool_{i}", "parameters": {}}]} for i in range(4)]
    (root / "benign" / "bfcl_function_calling" / "BFCL_v4_simple.json").write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def test_traffic_mix_is_deterministic_and_follows_the_shares(tmp_path):
    root = _traffic_root(tmp_path)
    texts, counts = load_traffic_mix(root, 20, seed=3)
    assert len(texts) == 20 and sum(counts.values()) == 20
    # shares .18 / .12 / .05 / .05 / .07 / .05 of the sources present, largest remainders -> exact counts
    assert counts == {"s-labs": 7, "wildguard": 4, "notinject": 2, "tatoeba": 2, "prompt-engineering-guide": 3,
                      "bfcl": 2}
    assert load_traffic_mix(root, 20, seed=3) == (texts, counts)
    assert load_traffic_mix(root, 20, seed=4)[0] != texts
    assert "Hello world." not in texts  # only the non-English side of a Tatoeba pair


def test_traffic_mix_length_split_and_cap(tmp_path):
    texts, counts = load_traffic_mix(_traffic_root(tmp_path), 20, seed=3)
    # the two long guide pages (the stub under DOC_MIN_CHARS is left out) are the only texts over 1,000 characters
    long = [t for t in texts if len(t) > 1000]
    assert len(long) == counts["prompt-engineering-guide"] == 3
    assert max(len(t) for t in texts) == TRAFFIC_MAX_CHARS
    assert "stub" not in texts
    stats = length_stats(texts)
    assert stats["chars_max"] == TRAFFIC_MAX_CHARS and stats["share_over_1000"] == 0.15
    assert stats["chars_p5"] <= stats["chars_p50"] <= stats["chars_p95"] <= stats["chars_max"]


def test_traffic_mix_needs_data(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_traffic_mix(tmp_path / "nothing", 5, 0)


def test_split_latency_on_known_numbers():
    times = [float(i) for i in range(1, 11)] + [10.0, 40.0]
    lengths = [100] * 9 + [1000] + [2000, 4000]  # exactly 1,000 characters still counts as a prompt
    out = split_latency(times, lengths)
    p, lg = out["prompts"], out["long"]
    assert p["n"] == 10 and lg["n"] == 2
    assert p["p50"] == pytest.approx(5.5) and p["p95"] == pytest.approx(9.55) and p["p99"] == pytest.approx(9.91)
    assert p["mean"] == pytest.approx(5.5)
    assert lg["per_1k_p50"] == pytest.approx(7.5) and lg["per_1k_p95"] == pytest.approx(9.75)  # 5 and 10 ms / 1k
    assert lg["p50"] == pytest.approx(25.0) and lg["chars_mean"] == pytest.approx(3000.0)
    assert split_latency([1.0], [50])["long"] == {"n": 0}
    with pytest.raises(ValueError):
        split_latency([1.0], [])


def test_median_of_runs_is_per_figure():
    runs = [{"a": {"p50": 1.0, "n": 3}, "b": 5.0}, {"a": {"p50": 3.0, "n": 3}, "b": 1.0},
            {"a": {"p50": 2.0, "n": 3}, "b": 2.0}]
    assert median_of_runs(runs) == {"a": {"p50": 2.0, "n": 3}, "b": 2.0}


def test_floor_reads_a_text_once_in_max_len_chunks(fake_model_dir):
    floor = FastFloor(fake_model_dir, threads=1)
    assert floor.body == 14  # max_len 16 less [CLS] and [SEP]
    assert floor.run("hello world") == 1
    assert floor.run("hello world " * 20) == 3  # 40 tokens in chunks of 14, no overlap
    assert floor.run("") == 1
    assert floor.files == {"fast": "fast.onnx", "tokenizer": "tokenizer.json"}  # the fake graph takes char_ids


def test_bench_mix_both_json_and_markdown(fake_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(HELPERS))  # the workers import the stand-in front end from here
    root = _traffic_root(tmp_path / "data")
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    assert main(["bench", "--mix", "both", "--model", str(fake_model_dir), "--data-root", str(root),
                 "--n-latency", "6", "--n-throughput", "8", "--n-traffic-latency", "20", "--n-traffic-throughput",
                 "8", "--batch-size", "4", "--warmup", "1", "--repeats", "1", "--no-cuda",
                 "--frontend", "_tg_fake_model:standin_frontend", "--json", str(out_json), "--md", str(out_md)]) == 0
    report = json.loads(out_json.read_text())
    assert report["mix"] == "both"
    assert [r["config"] for r in report["results"]] == ["shipped", "shipped, no early exit", "fp32"]
    assert "split" not in report["results"][0]  # the prompts mix keeps its old shape
    tr = report["traffic"]
    assert [r["config"] for r in tr["results"]] == ["shipped", "shipped, no early exit", "fp32"]
    assert tr["texts"]["sources"] == load_traffic_mix(root, 20, 0)[1]
    assert {"chars_p50", "chars_p95", "chars_p99", "chars_max", "share_over_4000"} <= set(tr["texts"])
    for r in [*tr["results"], tr["floor"]]:
        sp = r["split"]
        assert sp["prompts"]["n"] + sp["long"]["n"] == 20
        assert {"p50", "p95", "p99"} <= set(sp["prompts"]) and {"per_1k_p50", "per_1k_p95", "p50"} <= set(sp["long"])
        assert len(sp["runs"]) == 1 and r["peak_rss_mb"] > 10
    assert tr["floor"]["config"].startswith("floor") and tr["floor"]["chunks"] >= 20
    assert "throughput_texts_per_s" in tr["results"][0] and "throughput_texts_per_s" not in tr["floor"]
    md = out_md.read_text()
    assert md.count("| configuration |") == 2
    assert "| configuration | provider | p50 ms |" in md  # today's table first
    assert "## Realistic traffic" in md and "| floor: fast graph once |" in md
    header = next(line for line in md.splitlines() if line.startswith("| configuration | prompts p50"))
    assert header.count("|") == 9


def test_bench_traffic_only_and_usage_errors(fake_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(HELPERS))
    root = _traffic_root(tmp_path / "data")
    out_md = tmp_path / "t.md"
    assert main(["bench", "--mix", "traffic", "--model", str(fake_model_dir), "--data-root", str(root),
                 "--n-traffic-latency", "5", "--n-traffic-throughput", "5", "--warmup", "1", "--repeats", "1",
                 "--no-baselines", "--no-cuda", "--frontend", "_tg_fake_model:standin_frontend",
                 "--md", str(out_md)]) == 0
    md = out_md.read_text()
    assert md.count("| configuration |") == 1 and "## Realistic traffic" in md
    texts = tmp_path / "t.txt"
    texts.write_text("hello\n")
    assert main(["bench", "--mix", "traffic", "--model", str(fake_model_dir), "--texts", str(texts)]) == 2
    assert main(["bench", "--mix", "traffic", "--model", str(fake_model_dir), "--n-traffic-latency", "0"]) == 2
