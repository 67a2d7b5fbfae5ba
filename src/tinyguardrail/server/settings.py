"""Server settings: a pydantic model filled from ``TINYGUARDRAIL_*`` environment variables.

| variable                           | field             | default      | meaning                                         |
|------------------------------------|-------------------|--------------|-------------------------------------------------|
| ``TINYGUARDRAIL_MODEL``            | model_path        | embedded     | model directory                                 |
| ``TINYGUARDRAIL_THREADS``          | threads           | ORT default  | ONNX Runtime intra-op threads per inference     |
| ``TINYGUARDRAIL_INFERENCE_WORKERS``| inference_workers | 1            | inferences running at once (threads x workers <= cores) |
| ``TINYGUARDRAIL_MAX_TEXT_CHARS``   | max_text_chars    | 100000       | longest text (413 above)                        |
| ``TINYGUARDRAIL_MAX_BATCH``        | max_batch         | 64           | most texts per batch request (413 above)        |
| ``TINYGUARDRAIL_MAX_BODY_BYTES``   | max_body_bytes    | 2097152      | largest request body (413 above)                |
| ``TINYGUARDRAIL_API_KEY``          | api_key           | none         | when set, /v1/* needs ``Authorization: Bearer`` or ``X-API-Key`` |
| ``TINYGUARDRAIL_LOG_PROMPTS``      | log_prompts       | false        | log raw texts (default: only length + sha256 prefix) |
| ``TINYGUARDRAIL_TIMEOUT_S``        | timeout_s         | 10           | inference deadline per request (503 after)      |
| ``TINYGUARDRAIL_CORS_ORIGINS``     | cors_origins      | none         | comma-separated allowed origins (no CORS if empty) |
| ``TINYGUARDRAIL_DOCS``             | docs              | true         | serve /docs and /openapi.json                   |

Empty variables count as unset. Invalid values raise ``ValueError`` naming the variable, at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "TINYGUARDRAIL_"
#: field -> environment variable (without the prefix) where the two differ
_ENV_NAMES = {"model_path": "MODEL"}


class Settings(BaseModel):
    """HTTP server settings (see the module docstring for the environment variables)."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    model_path: Path | None = Field(None, description="model directory; None = the embedded default model")
    threads: int | None = Field(None, ge=1, description="ONNX Runtime intra-op threads per inference")
    inference_workers: int = Field(1, ge=1, le=64, description="inferences running concurrently")
    max_text_chars: int = Field(100_000, ge=1, description="longest accepted text, in characters")
    max_batch: int = Field(64, ge=1, description="most texts in one batch request")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=64, description="largest accepted request body, in bytes")
    api_key: SecretStr | None = Field(None, description="required API key for /v1/*; None = open")
    log_prompts: bool = Field(False, description="log raw texts (default: length and sha256 prefix only)")
    timeout_s: float = Field(10.0, gt=0, description="inference deadline per request; 503 after it")
    cors_origins: tuple[str, ...] = Field((), description="allowed CORS origins; empty = no CORS headers")
    docs: bool = Field(True, description="serve /docs and /openapi.json")

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
