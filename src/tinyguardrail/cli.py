"""TinyGuardrail: a small, fast prompt-injection and jailbreak guard (command line).

Each entry names a module that defines ``add_arguments(parser)`` and ``run(args) -> int``; the module keeps
its heavy imports (torch, onnxruntime, fastapi) inside functions so ``--help`` stays fast and torch-free.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("tinyguardrail.runtime.cli_check", "classify text (argument, file or stdin) with the shipped model"),
    "scan": ("tinyguardrail.runtime.scan", "classify every text of a JSONL/CSV/Parquet corpus (local processes or Ray)"),
    "serve": ("tinyguardrail.server.cli_serve", "run the HTTP server (needs the [serve] extra)"),
    "data build": ("tinyguardrail.data.build", "build the unified train/validation/test/eval sets and stats report"),
    "train": ("tinyguardrail.train.cli_train", "train a model from a config file (needs the [train] extra)"),
    "export": ("tinyguardrail.export.cli_export", "export a checkpoint to INT8 ONNX (needs the [train] extra)"),
    "recover": ("tinyguardrail.export.recover",
                "rebuild a PyTorch checkpoint from an exported model folder, to train on from it ([train] extra)"),
    "eval": ("tinyguardrail.eval.cli_eval", "evaluate a model on the evaluation suites and write reports"),
    "candidate": ("tinyguardrail.eval.candidate",
                  "export, calibrate and score a checkpoint on the OOD-dev suite (recipe choices; [train] extra)"),
    "bench": ("tinyguardrail.eval.bench", "measure latency, throughput and memory of the runtime"),
    "text-bench": ("tinyguardrail.eval.text_bench", "measure normalize + views + detectors cost per input"),
    "text-report": ("tinyguardrail.eval.detector_report", "write the pattern-detector firing-rate report"),
    "model-info": ("tinyguardrail.model.info", "print parameter count and INT8 size of a model config"),
}


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on standard error (what is wrong and where to look), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: the package version and the embedded model's name (looked up only when asked)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and the embedded model, then exit")

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        print(f"{parser.prog} {version_line()}")
        parser.exit(0)


def version_line() -> str:
    """``0.17.0 (model tinyguardrail-v0.17)``: the package version and the embedded default model's name."""
    import json

    from tinyguardrail import __version__
    from tinyguardrail._model_path import CONFIG_NAME, default_model_dir

    try:
        model = json.loads((default_model_dir() / CONFIG_NAME).read_text(encoding="utf-8")).get("name", "?")
    except (OSError, ValueError):
        return f"{__version__} (no embedded model found)"
    return f"{__version__} (model {model})"


def _selected(argv: list[str]) -> str | None:
    """The subcommand named by ``argv`` (so only its module is imported), or None."""
    words = [a for a in argv if not a.startswith("-")][:2]
    for n in (2, 1):
        if " ".join(words[:n]) in COMMANDS:
            return " ".join(words[:n])
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. Only the module of the selected subcommand is imported (``--help`` of the
    top level imports none), so ``check`` never pays for torch or FastAPI."""
    selected = _selected(sys.argv[1:] if argv is None else argv)
    parser = _Parser(prog="tinyguardrail", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, (module_name, help_text) in COMMANDS.items():
        words = name.split()
        target = sub
        if len(words) == 2:  # "data build" -> group "data", action "build"
            if words[0] not in groups:
                group_parser = sub.add_parser(words[0], help=f"{words[0]} commands")
                groups[words[0]] = group_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
            target = groups[words[0]]
        p = target.add_parser(words[-1], help=help_text, description=help_text)
        if name != selected:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            p.set_defaults(_run=_missing(name))
            continue
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _missing(name: str):
    def run(_args: argparse.Namespace) -> int:
        print(f"tinyguardrail: '{name}' is not available in this build", file=sys.stderr)
        return 2

    return run


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, FileNotFoundError, ImportError) as exc:  # user errors: one clear line, no traceback
        print(f"tinyguardrail: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
