"""`assistant serve`: the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.interfaces.cli.support import clear_errors, load_settings


@clear_errors
def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: ASSISTANT_SERVE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: ASSISTANT_SERVE_PORT).")
    ] = None,
) -> None:
    """Serve the HTTP API: chat (streaming), OpenAI-compatible chat completions, triage,
    documents, threads and feedback. OpenAPI docs at /docs."""
    # Imported here: the rest of the CLI starts without loading the web stack.
    import uvicorn

    from assistant.interfaces.api.app import create_app
    from assistant.interfaces.api.exposure import check_exposure
    from assistant.service import Assistant

    settings = load_settings()
    listen_on = host or settings.serve_host
    # Before anything is opened: an API without keys on a public address is refused.
    check_exposure(settings, listen_on)
    # Opened before the server starts, so a store in use or a missing model is one clear
    # error line rather than a failed uvicorn start-up.
    with Assistant.open(settings) as assistant:
        app = create_app(settings, assistant=assistant)
        # One process: the assistant owns the embedded store's folder and the loaded model.
        # No proxy headers: uvicorn would believe X-Forwarded-For from 127.0.0.1 by default;
        # the API believes it from ASSISTANT_SERVE_TRUSTED_PROXIES only.
        uvicorn.run(app, host=listen_on, port=port or settings.serve_port, proxy_headers=False)
