"""Where the embedded default model lives.

``Guard.load()`` with no path looks, in order:

1. package data ``tinyguardrail/models/default/`` (what an installed wheel carries; see the packaging note in
   the runtime docs: the build copies ``models/<name>/`` there);
2. the repository checkout: ``models/`` next to ``src/``. There ``models/default/`` wins if present (a directory
   or a symlink); otherwise the only ``models/<name>/`` holding a ``config.json``.

Nothing here touches the network or imports anything heavy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONFIG_NAME = "config.json"


def _package_default() -> Path | None:
    try:
        candidate = resources.files("tinyguardrail").joinpath("models", "default")
    except (ModuleNotFoundError, TypeError):
        return None
    # An installed package is a plain directory (setuptools does not zip packages any more); a zipped one would
    # need resources.as_file() and a temporary copy, which we do not support: fail below with the search list.
    path = Path(str(candidate))
    return path if (path / CONFIG_NAME).is_file() else None


def repo_models_dir() -> Path:
    """``<checkout>/models``: this file is ``<checkout>/src/tinyguardrail/_model_path.py``."""
    return Path(__file__).resolve().parents[2] / "models"


def _repo_default() -> Path | None:
    root = repo_models_dir()
    if not root.is_dir():
        return None
    if (root / "default" / CONFIG_NAME).is_file():
        return root / "default"
    candidates = sorted(p for p in root.iterdir() if (p / CONFIG_NAME).is_file())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise FileNotFoundError(
            f"several models in {root} ({names}) and no models/default: pass a path to Guard.load() "
            "or make models/default a symlink to the one to ship"
        )
    return None


def default_model_dir() -> Path:
    """The directory of the embedded default model; ``FileNotFoundError`` (with the places searched) if none."""
    for finder in (_package_default, _repo_default):
        found = finder()
        if found is not None:
            return found
    raise FileNotFoundError(
        "no default model found: looked in package data tinyguardrail/models/default and in "
        f"{repo_models_dir()}; pass a model directory (Guard.load(path) / --model DIR)"
    )
