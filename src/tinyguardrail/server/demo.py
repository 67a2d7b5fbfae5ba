"""The demo page at ``/``: static HTML, CSS and JavaScript shipped in the package (``server/static/``).

No build step and no external assets: the page talks to this server only (``POST v1/check?explain=true``), under a
Content-Security-Policy that allows nothing else. ``TINYGUARDRAIL_DEMO=false`` turns it off.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import Response

from tinyguardrail.server.errors import ApiError

ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def read_asset(name: str) -> bytes:
    """The bytes of ``server/static/<name>`` from the installed package."""
    return resources.files("tinyguardrail.server").joinpath("static", name).read_bytes()


def add_demo_routes(app: FastAPI) -> None:
    """Serve ``/`` (the page) and ``/static/<asset>``; the assets are read once, here."""
    assets = {name: read_asset(name) for name in ASSETS}

    def asset(name: str) -> Response:
        return Response(assets[name], media_type=ASSETS[name], headers=SECURITY_HEADERS)

    async def index() -> Response:
        return asset("index.html")

    async def static(name: str) -> Response:
        if name not in assets:
            raise ApiError(404, "not_found", "Not Found")
        return asset(name)

    app.add_api_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/static/{name}", static, methods=["GET", "HEAD"], include_in_schema=False)
