"""Server settings: a pydantic model filled from ``TINYGUARDRAIL_*`` environment variables.

| variable                           | field             | default      | meaning                                         |
|------------------------------------|-------------------|--------------|-------------------------------------------------|
| ``TINYGUARDRAIL_MODEL``            | model_path        | embedded     | model directory                                 |
| ``TINYGUARDRAIL_INFERENCE_WORKERS``| inference_workers | CPUs         | batches running at once (threads); default: the CPUs this process may use |
| ``TINYGUARDRAIL_THREADS``          | threads           | 1            | ONNX Runtime intra-op threads per batch (workers x threads <= CPUs) |
| ``TINYGUARDRAIL_BATCH_WAIT_MS``    | batch_wait_ms     | 2            | longest a batch waits for more requests (0: never waits) |
| ``TINYGUARDRAIL_BATCH_MAX_TEXTS``  | batch_max_texts   | 64           | most texts gathered into one inference call     |
| ``TINYGUARDRAIL_BATCH_MAX_CHARS``  | batch_max_chars   | 20000        | most characters gathered into one inference call |
| ``TINYGUARDRAIL_MAX_QUEUE``        | max_queue         | 1024         | requests waiting for a worker before 503 ``overloaded`` |
| ``TINYGUARDRAIL_MAX_TEXT_CHARS``   | max_text_chars    | 100000       | longest text (413 above)                        |
| ``TINYGUARDRAIL_MAX_BATCH``        | max_batch         | 64           | most texts per batch request (413 above)        |
| ``TINYGUARDRAIL_MAX_BODY_BYTES``   | max_body_bytes    | 2097152      | largest request body (413 above)                |
| ``TINYGUARDRAIL_API_KEY``          | api_key           | none         | when set, /v1/* needs ``Authorization: Bearer`` or ``X-API-Key`` |
| ``TINYGUARDRAIL_LOG_PROMPTS``      | log_prompts       | false        | log raw texts (default: lengths and a per-process HMAC reference) |
| ``TINYGUARDRAIL_TIMEOUT_S``        | timeout_s         | 10           | deadline per request, queueing included (503 after) |
| ``TINYGUARDRAIL_CORS_ORIGINS``     | cors_origins      | none         | comma-separated allowed origins (no CORS if empty) |
| ``TINYGUARDRAIL_DOCS``             | docs              | true         | serve /docs and /openapi.json                   |
| ``TINYGUARDRAIL_DEMO``             | demo              | true         | serve the demo page at /                        |

Empty variables count as unset. Invalid values raise ``ValueError`` naming the variable, at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from tinyguardrail.forkmap import available_cpus

ENV_PREFIX = "TINYGUARDRAIL_"
#: field -> environment variable (without the prefix) where the two differ
_ENV_NAMES = {"model_path": "MODEL"}


class Settings(BaseModel):
    """HTTP server settings (see the module docstring for the environment variables)."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    model_path: Path | None = Field(None, description="model directory; None = the embedded default model")
    inference_workers: int | None = Field(None, ge=1, le=256,
                                          description="batches running at once; None = the CPUs available")
    threads: int = Field(1, ge=1, le=256, description="ONNX Runtime intra-op threads per batch")
    batch_wait_ms: float = Field(2.0, ge=0, le=50, description="longest a batch waits for more requests, in ms")
    batch_max_texts: int = Field(64, ge=1, le=4096, description="most texts in one inference call")
    batch_max_chars: int = Field(20_000, ge=1, description="most characters in one inference call")
    max_queue: int = Field(1024, ge=1, description="requests waiting for a worker before 503 overloaded")
    max_text_chars: int = Field(100_000, ge=1, description="longest accepted text, in characters")
    max_batch: int = Field(64, ge=1, description="most texts in one batch request")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=64, description="largest accepted request body, in bytes")
    api_key: SecretStr | None = Field(None, description="required API key for /v1/*; None = open")
    log_prompts: bool = Field(False, description="log raw texts (default: lengths and an HMAC reference only)")
    timeout_s: float = Field(10.0, gt=0, description="deadline per request, queueing included; 503 after it")
    cors_origins: tuple[str, ...] = Field((), description="allowed CORS origins; empty = no CORS headers")
    docs: bool = Field(True, description="serve /docs and /openapi.json")
    demo: bool = Field(True, description="serve the demo page at /")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value):
        if isinstance(value, str):
            return tuple(o.strip() for o in value.split(",") if o.strip())
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value):
        return None if value == "" else value

    @property
    def workers(self) -> int:
        """``inference_workers``, or the CPUs available when unset."""
        return self.inference_workers or available_cpus()

    @classmethod
    def env_name(cls, field: str) -> str:
        return ENV_PREFIX + _ENV_NAMES.get(field, field.upper())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Read ``TINYGUARDRAIL_*`` variables (``os.environ`` by default); keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for field in cls.model_fields:
            raw = environ.get(cls.env_name(field))
            if raw is not None and raw.strip() != "":
                values[field] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{cls.env_name(str(e['loc'][0])) if e['loc'] else '?'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"invalid server settings: {problems}") from None
