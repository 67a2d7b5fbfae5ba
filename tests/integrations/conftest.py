"""Fixtures of the adapter tests: the tiny fake model of tests/runtime/_tg_fake_model.py ("ignore" -> direct
injection, "dan" / "jailbreak" -> jailbreak, everything else benign), and that model behind a real server."""

from __future__ import annotations

import _tg_fake_model as fake
import pytest

from tinyguardrail.runtime.guard import Guard

API_KEY = "k-123"


@pytest.fixture(scope="session")
def base_guard(tmp_path_factory) -> Guard:
    model_dir = fake.build_fake_model(tmp_path_factory.mktemp("integrations_fake") / "model", fp32_copies=False)
    return Guard.load(model_dir, threads=1, frontend=fake.standin_frontend())


def _serve(guard, **settings):
    """``create_app`` served by uvicorn on a free localhost port, in a thread: yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from tinyguardrail.server.app import create_app
    from tinyguardrail.server.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(**settings), guard=guard), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(base_guard):
    """The fake model behind a real server that requires ``API_KEY``."""
    yield from _serve(base_guard, api_key=API_KEY, max_batch=8)


@pytest.fixture(scope="session")
def open_server(base_guard):
    """The fake model behind a real server without an API key."""
    yield from _serve(base_guard, max_batch=8)
