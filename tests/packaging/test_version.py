"""One version, written once (``tinyguardrail/_version.py``), and the command line's ``--version`` and usage errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import tinyguardrail
from tinyguardrail import _version
from tinyguardrail.cli import main, version_line

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tinyguardrail._version.__version__"}
    assert tinyguardrail.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", _version.__version__)


def test_version_names_the_embedded_model(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == f"tinyguardrail {version_line()}"
    assert re.fullmatch(rf"tinyguardrail {re.escape(_version.__version__)} \(model [\w.-]+\)", out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "99999"], "--port: 99999 is out of range"),
        (["serve", "--port", "http"], "'http' is not a port number"),
        (["serve", "--workers", "0"], "--workers: 0 is out of range"),
        (["serve", "--timeout", "-1"], "--timeout: -1 is out of range"),
        (["check", "--json", "--bits", "x"], "not allowed with argument"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err, err
