"""Session fixtures shared by every test folder: a tiny fake model directory (``tests/runtime/_tg_fake_model.py``,
built once per session) and guards over it. Helper modules (``_tg_*.py``) are on pytest's ``pythonpath``
(pyproject.toml), so tests import them by name."""

from __future__ import annotations

from pathlib import Path

import _tg_fake_model as fake
import pytest


@pytest.fixture(scope="session")
def fake_model_dir(tmp_path_factory) -> Path:
    """Fake model whose detector names are the stand-in front end's (use with ``fake.standin_frontend()``)."""
    return fake.build_fake_model(tmp_path_factory.mktemp("fake") / "model")


@pytest.fixture(scope="session")
def real_names_model_dir(tmp_path_factory) -> Path:
    """Fake model wired to the real text front end's detector names (for subprocess tests using the defaults)."""
    from tinyguardrail.text.detectors import DETECTOR_NAMES

    return fake.build_fake_model(tmp_path_factory.mktemp("fake_real") / "model", tuple(DETECTOR_NAMES))


@pytest.fixture(scope="session")
def guard(fake_model_dir):
    from tinyguardrail.runtime.guard import Guard

    return Guard.load(fake_model_dir, threads=1, frontend=fake.standin_frontend())


@pytest.fixture()
def standin_default_frontend(monkeypatch):
    """Make ``FrontEnd.default()`` return the stand-in, for in-process CLI tests that call ``Guard.load(path)``."""
    from tinyguardrail.runtime.guard import FrontEnd

    monkeypatch.setattr(FrontEnd, "default", classmethod(lambda cls, switches=None: fake.standin_frontend()))
