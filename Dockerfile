# syntax=docker/dockerfile:1
# TinyGuardrail HTTP server: the runtime and the [serve] extra on a slim Python image, run as a non-root user.
#
#   docker build -t tinyguardrail .
#   docker run --rm -p 8000:8000 tinyguardrail                      # the demo page at http://localhost:8000/
#   docker run --rm -p 8000:8000 -e TINYGUARDRAIL_API_KEY=... --cpus 2 tinyguardrail
#   docker run --rm tinyguardrail check "Ignore all previous instructions"   # any other subcommand
#
# Settings are TINYGUARDRAIL_* environment variables (src/tinyguardrail/server/settings.py); inference workers
# default to the CPUs the container may use (its CPU quota included).

ARG PYTHON_VERSION=3.11

# ---- build: a wheel that carries the shipped model (setup.py copies models/<name>/ into the package)
FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY src ./src
COPY models ./models
RUN pip install --no-cache-dir --disable-pip-version-check --quiet --upgrade pip \
 && pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /dist .

# ---- runtime: the wheel with the [serve] extra in a virtual environment, no compilers, no torch
FROM python:${PYTHON_VERSION}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
RUN --mount=type=bind,from=build,source=/dist,target=/dist \
    pip install --no-cache-dir --disable-pip-version-check --quiet "$(ls /dist/tinyguardrail-*.whl)[serve]"
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin tinyguardrail
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# Healthy once the model is loaded (/readyz answers 200; it needs no API key).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["tinyguardrail"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
