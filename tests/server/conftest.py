"""Fixtures: the fake model (tests/runtime/_tg_fake_model.py) behind an app built by ``create_app``."""

from __future__ import annotations

from pathlib import Path

import _tg_fake_model as fake
import pytest

API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def server_model_dir(tmp_path_factory) -> Path:
    return fake.build_fake_model(tmp_path_factory.mktemp("server_fake") / "model", fp32_copies=False)


@pytest.fixture(scope="session")
def server_guard(server_model_dir):
    from tinyguardrail.runtime.guard import Guard

    return Guard.load(server_model_dir, threads=1, frontend=fake.standin_frontend())


@pytest.fixture()
def make_client(server_guard):
    """``make_client(**settings) -> TestClient`` (entered, so the lifespan has run); closed after the test."""
    from fastapi.testclient import TestClient

    from tinyguardrail.server.app import create_app
    from tinyguardrail.server.settings import Settings

    clients = []

    def make(guard=None, **settings):
        client = TestClient(create_app(Settings(**settings), guard=guard or server_guard))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture()
def client(make_client):
    return make_client(max_batch=4, max_text_chars=200, max_body_bytes=4096)
