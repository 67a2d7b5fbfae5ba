"""``tinyguardrail serve``: run the HTTP server with uvicorn (needs the ``[serve]`` extra).

Options map onto ``TINYGUARDRAIL_*`` variables (see ``server/settings.py``) so every uvicorn worker process
builds the same settings; the API key is read from ``TINYGUARDRAIL_API_KEY`` only, never from the command line
(where ``ps`` would show it). SIGINT / SIGTERM stop the server gracefully: no new connections, in-flight
requests get ``--graceful-timeout`` seconds to finish.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model directory (default: the embedded model)")
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes, each loading its own model (default 1)")
    parser.add_argument("--threads", type=int, metavar="N", help="ONNX Runtime threads per inference")
    parser.add_argument("--inference-workers", type=int, metavar="N",
                        help="inferences running concurrently per process (default 1)")
    parser.add_argument("--max-batch", type=int, metavar="N", help="most texts per batch request (default 64)")
    parser.add_argument("--max-text-chars", type=int, metavar="N", help="longest text in characters (default 100000)")
    parser.add_argument("--max-body-bytes", type=int, metavar="N", help="largest request body (default 2 MiB)")
    parser.add_argument("--timeout", type=float, metavar="S", help="inference deadline in seconds (default 10)")
    parser.add_argument("--log-prompts", action="store_true", help="log raw texts (default: length + sha256 only)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--graceful-timeout", type=float, default=10.0, metavar="S",
                        help="seconds in-flight requests get on shutdown (default 10)")


def run(args: argparse.Namespace) -> int:
    from tinyguardrail.server.settings import Settings

    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    overrides = {
        "model_path": str(args.model.resolve()) if args.model else None,
        "threads": args.threads,
        "inference_workers": args.inference_workers,
        "max_batch": args.max_batch,
        "max_text_chars": args.max_text_chars,
        "max_body_bytes": args.max_body_bytes,
        "timeout_s": args.timeout,
        "log_prompts": True if args.log_prompts else None,
    }
    for name, value in overrides.items():
        if value is not None:
            os.environ[Settings.env_name(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    settings = Settings.from_env()  # validate now: bad settings fail before uvicorn starts
    if settings.model_path is not None and not (settings.model_path / "config.json").is_file():
        raise FileNotFoundError(f"{settings.model_path} is not a model directory (no config.json)")
    try:
        import uvicorn
    except ImportError as exc:
        raise ImportError("the server needs the serve extra: pip install 'tinyguardrail[serve]'") from exc
    import logging

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
