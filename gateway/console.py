"""The command office's web page, served at the root like /docs: ``GET /console`` and its files under
``/console/assets/`` — hand-written HTML, CSS and JavaScript committed in ``gateway/console/`` (no CDN,
no build step, no third-party script). The page signs in with the staff token flow and reads the API
under /api/v1 like any other client; it holds no data of its own.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FILES = Path(__file__).parent / "console"
# Only the page's own files, and the API on the same origin: no inline script, no other host.
CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    b"font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class _ConsolePolicy:
    """Adds the console's Content-Security-Policy and keeps its files fresh after an upgrade."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", CSP),
                                      (b"cache-control", b"no-cache")]
            await send(message)

        await self.app(scope, receive, with_headers)


def serve_console(app: FastAPI) -> None:
    app.mount("/console/assets", _ConsolePolicy(StaticFiles(directory=FILES)), name="console-assets")

    async def page() -> FileResponse:
        return FileResponse(FILES / "index.html", media_type="text/html; charset=utf-8",
                            headers={"content-security-policy": CSP.decode(), "cache-control": "no-cache"})

    app.add_api_route("/console", page, methods=["GET"], include_in_schema=False)
