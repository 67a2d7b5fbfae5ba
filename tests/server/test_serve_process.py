"""One real server process: ``tinyguardrail serve`` on a free localhost port, over HTTP, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import _tg_fake_model as fake
import httpx
import pytest

from tinyguardrail.server.cli_serve import add_arguments

API_KEY = "process-test-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_process(tmp_path):
    port = _free_port()
    serve_args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "1", "--log-level", "info"]
    from tinyguardrail.text.detectors import DETECTOR_NAMES

    model = fake.build_fake_model(tmp_path / "model", tuple(DETECTOR_NAMES), fp32_copies=False)
    cmd = [sys.executable, "-m", "tinyguardrail.cli", *serve_args, "--model", str(model)]
    env = {**os.environ, "TINYGUARDRAIL_API_KEY": API_KEY}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not become ready in 60 s")
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        r = httpx.post(f"{base}/v1/check", json={"text": "hello world"}, headers=headers, timeout=10)
        assert r.status_code == 200 and r.json()["is_safe"] is True
        assert httpx.post(f"{base}/v1/check", json={"text": "hello"}, timeout=10).status_code == 401
        bits = httpx.post(f"{base}/v1/bits", json={"texts": ["hello world"]}, headers=headers, timeout=10)
        assert bits.status_code == 200 and isinstance(bits.json()[0], int)
        assert "tinyguardrail_requests_total" in httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        proc.send_signal(signal.SIGTERM)  # graceful shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = proc.stdout.read()
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM (or 0 on older uvicorn)
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output


def test_serve_arguments():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "9000", "--workers", "2", "--model", "/m"])
    assert args.port == 9000 and args.workers == 2 and str(args.model) == "/m" and args.host == "127.0.0.1"


def test_serve_rejects_a_non_model_directory(tmp_path, monkeypatch):
    from tinyguardrail.cli import main

    for name in ("TINYGUARDRAIL_MODEL", "TINYGUARDRAIL_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # cli_serve writes TINYGUARDRAIL_* into the environment
    assert main(["serve", "--model", str(tmp_path), "--port", "1"]) == 2
