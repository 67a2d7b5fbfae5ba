"""Build hooks: the wheel and the sdist carry the shipped model (all other metadata is in ``pyproject.toml``).

The repository keeps one copy of the model, under ``models/<name>/``. At build time:

- ``sdist`` adds that folder's shipped files (``config.json``, the files it lists, the model card) to the archive,
  so a wheel built from the sdist finds them the same way;
- ``build_py`` copies them, as plain files (a ``models/default`` symlink is followed), into the package as
  ``tinyguardrail/models/default/``, where ``Guard.load()`` looks first. Editable installs skip the copy: they
  read ``models/`` of the checkout directly.

Which folder ships and which files are in it is decided by ``src/tinyguardrail/_model_path.py`` (loaded here by
path, before anything is installed), so the build and the runtime cannot disagree. A build without a model fails.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent


def _model_path_module():
    spec = importlib.util.spec_from_file_location("_tinyguardrail_model_path", ROOT / "src/tinyguardrail/_model_path.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shipped_model() -> tuple[Path, list[str], tuple[str, ...]]:
    """(model directory, file names to ship, package-relative target folder)."""
    paths = _model_path_module()
    model_dir = paths.find_model_dir(ROOT / "models")
    if model_dir is None:
        raise SystemExit(f"no model to ship: {ROOT / 'models'} holds no <name>/config.json (see README, Rebuild)")
    return model_dir, paths.shipped_files(model_dir), paths.PACKAGE_MODEL_DIR


class BuildPyWithModel(build_py):
    """``build_py`` that also copies the shipped model into ``tinyguardrail/models/default/``."""

    def _model_target(self) -> Path:
        _, _, package_dir = shipped_model()
        return Path(self.build_lib, "tinyguardrail", *package_dir)

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        model_dir, names, _ = shipped_model()
        target = self._model_target()
        if target.exists():  # a previous build may have shipped another model
            shutil.rmtree(target)
        self.mkpath(str(target))
        for name in names:
            self.copy_file(str(model_dir / name), str(target / name), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            _, names, _ = shipped_model()
            outputs += [str(self._model_target() / name) for name in names]
        return outputs


class SdistWithModel(sdist):
    """``sdist`` that also puts the shipped model's files into the archive, under the same ``models/<name>/``."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        model_dir, names, _ = shipped_model()
        target = Path(base_dir) / model_dir.relative_to(ROOT)
        self.mkpath(str(target))
        for name in names:
            self.copy_file(str(model_dir / name), str(target / name), preserve_mode=False)


setup(cmdclass={"build_py": BuildPyWithModel, "sdist": SdistWithModel})
