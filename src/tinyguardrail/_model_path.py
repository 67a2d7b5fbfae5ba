"""Where the embedded default model lives, and which of its files a build ships.

``Guard.load()`` with no path looks, in order:

1. package data ``tinyguardrail/models/default/``: what an installed wheel carries. ``setup.py``'s build hook
   copies the repository's model there (plain files, no symlinks) and puts the same files in the sdist, using
   :func:`find_model_dir` and :func:`shipped_files` below, so the build and the runtime agree on which model ships;
2. the repository checkout (an editable install or a source tree): ``models/`` next to ``src/``. There
   ``models/default/`` wins if present (a directory or a symlink); otherwise the only ``models/<name>/`` holding
   a ``config.json``.

Only the standard library is used here: the build hook loads this file on its own, before anything is installed.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

CONFIG_NAME = "config.json"
PACKAGE_MODEL_DIR = ("models", "default")
"""Where, inside the ``tinyguardrail`` package, a wheel carries the shipped model."""
SHIPPED_EXTRAS = ("MODEL_CARD.md",)
"""Files shipped next to the ones ``config.json`` names, when the model directory has them."""


def _package_default() -> Path | None:
    try:
        candidate = resources.files("tinyguardrail").joinpath(*PACKAGE_MODEL_DIR)
    except (ModuleNotFoundError, TypeError):
        return None
    # An installed package is a plain directory (setuptools does not zip packages any more); a zipped one would
    # need resources.as_file() and a temporary copy, which we do not support: fail below with the search list.
    path = Path(str(candidate))
    return path if (path / CONFIG_NAME).is_file() else None


def repo_models_dir() -> Path:
    """``<checkout>/models``: this file is ``<checkout>/src/tinyguardrail/_model_path.py``."""
    return Path(__file__).resolve().parents[2] / "models"


def find_model_dir(root: Path) -> Path | None:
    """The model to ship from a ``models/`` folder: ``root/default`` if it holds a ``config.json``, else the only
    ``root/<name>/`` that does; None when there is none; ``FileNotFoundError`` when several compete."""
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


def shipped_files(model_dir: Path) -> list[str]:
    """Names of the files of ``model_dir`` that a build ships: ``config.json``, every file it lists under ``files``
    (the ONNX graphs and the tokenizer) and the model card. ``FileNotFoundError`` if a listed file is missing."""
    config = json.loads((model_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    listed = [name for name in (config.get("files") or {}).values() if name]
    missing = [name for name in listed if not (model_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir}: config.json lists {missing}, which are not there")
    extras = [name for name in SHIPPED_EXTRAS if (model_dir / name).is_file()]
    return sorted({CONFIG_NAME, *listed, *extras})


def default_model_dir() -> Path:
    """The directory of the embedded default model; ``FileNotFoundError`` (with the places searched) if none."""
    found = _package_default() or find_model_dir(repo_models_dir())
    if found is not None:
        return found
    raise FileNotFoundError(
        "no default model found: looked in package data tinyguardrail/models/default and in "
        f"{repo_models_dir()}; pass a model directory (Guard.load(path) / --model DIR)"
    )
