"""`GET /`: the chat page for people trying the assistant (one HTML file, its script inline)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["page"])

# The page talks to this API and nothing else: the browser refuses any other fetch, script or
# style, so the page works offline and a citation URL cannot pull anything into it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "connect-src 'self'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


@cache
def chat_page() -> str:
    """The page's HTML, read once from the package data."""
    return (
        files("assistant.interfaces.api").joinpath("static/chat.html").read_text(encoding="utf-8")
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    """The chat page; it asks `POST /v1/chat` with the API key typed into it."""
    return HTMLResponse(chat_page(), headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})
