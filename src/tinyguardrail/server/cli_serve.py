"""``tinyguardrail serve``: run the HTTP server with uvicorn (needs the ``[serve]`` extra).

Options map onto ``TINYGUARDRAIL_*`` variables (see ``server/settings.py``) so every uvicorn worker process
builds the same settings; the API key is read from ``TINYGUARDRAIL_API_KEY`` only, never from the command line
(where ``ps`` would show it). Bad values are refused before anything starts, with one line on standard error.
SIGINT / SIGTERM stop the server gracefully: no new connections, in-flight requests get ``--graceful-timeout``
seconds to finish.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

SERVE_MODULES = ("fastapi", "pydantic", "uvicorn", "prometheus_client")


def _number(kind: Callable[[str], float], low: float, high: float | None = None, what: str = "a number"):
    """An argparse ``type`` accepting ``kind`` values in ``[low, high]``, with a one-line error otherwise."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {bounds}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


PORT = _number(int, 0, 65535, "a port number")
POSITIVE = _number(int, 1, None, "an integer")
SECONDS = _number(float, 0.0, None, "a number of seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=PORT, default=8000, help="TCP port, 0-65535 (default 8000)")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model directory (default: the embedded model)")
    parser.add_argument("--workers", type=POSITIVE, default=1, metavar="N",
                        help="uvicorn worker processes, each loading its own model (default 1)")
    parser.add_argument("--inference-workers", type=POSITIVE, metavar="N",
                        help="batches running at once per process (default: the CPUs available, shared out "
                             "among the --workers processes)")
    parser.add_argument("--threads", type=POSITIVE, metavar="N", help="ONNX Runtime threads per batch (default 1)")
    parser.add_argument("--batch-wait-ms", type=_number(float, 0.0, 50.0, "a number of milliseconds"), metavar="MS",
                        help="longest a micro-batch waits for more requests (default 2; 0 never waits)")
    parser.add_argument("--max-batch", type=POSITIVE, metavar="N", help="most texts per batch request (default 64)")
    parser.add_argument("--max-text-chars", type=POSITIVE, metavar="N", help="longest text in characters (default 100000)")
    parser.add_argument("--max-body-bytes", type=_number(int, 64, None, "an integer"), metavar="N",
                        help="largest request body (default 2 MiB)")
    parser.add_argument("--timeout", type=_number(float, 0.001, None, "a number of seconds"), metavar="S",
                        help="deadline per request, queueing included (default 10)")
    parser.add_argument("--log-prompts", action="store_true",
                        help="log raw texts (default: lengths and a per-process HMAC reference only)")
    parser.add_argument("--no-demo", action="store_true", help="do not serve the demo page at /")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--graceful-timeout", type=SECONDS, default=10.0, metavar="S",
                        help="seconds in-flight requests get on shutdown (default 10)")


def _require_serve_extra() -> None:
    missing = [name for name in SERVE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"the server needs the serve extra ({', '.join(missing)} missing): "
                          "pip install 'tinyguardrail[serve]'")


def run(args: argparse.Namespace) -> int:
    _require_serve_extra()
    from tinyguardrail.server.settings import Settings, available_cpus

    inference_workers = args.inference_workers
    if inference_workers is None and args.workers > 1 and not os.environ.get(Settings.env_name("inference_workers")):
        inference_workers = max(1, available_cpus() // args.workers)  # the processes share the CPUs
    overrides = {
        "model_path": str(args.model.resolve()) if args.model else None,
        "threads": args.threads,
        "inference_workers": inference_workers,
        "batch_wait_ms": args.batch_wait_ms,
        "max_batch": args.max_batch,
        "max_text_chars": args.max_text_chars,
        "max_body_bytes": args.max_body_bytes,
        "timeout_s": args.timeout,
        "log_prompts": True if args.log_prompts else None,
        "demo": False if args.no_demo else None,
    }
    for name, value in overrides.items():
        if value is not None:
            os.environ[Settings.env_name(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    settings = Settings.from_env()  # validate now: bad settings fail before uvicorn starts
    if settings.model_path is not None and not (settings.model_path / "config.json").is_file():
        raise FileNotFoundError(f"{settings.model_path} is not a model directory (no config.json)")
    if settings.model_path is None:
        from tinyguardrail._model_path import default_model_dir

        default_model_dir()  # no embedded model: say so now, in one line, not in a start-up traceback
    import logging

    import uvicorn

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "tinyguardrail.server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        timeout_graceful_shutdown=args.graceful_timeout,
        server_header=False,
    )
    return 0
