"""`assistant mcp`: the MCP server over stdio (for a local client) or streamable HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from assistant.interfaces.cli.support import clear_errors, load_settings


@clear_errors
def mcp_command(
    transport: Annotated[
        Literal["stdio", "http"],
        typer.Option(help="`stdio` (a client starts this command) or `http` (streamable HTTP)."),
    ] = "stdio",
    host: Annotated[
        str | None, typer.Option(help="HTTP: address to listen on (default: ASSISTANT_SERVE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP: port to listen on (default: ASSISTANT_MCP_PORT).")
    ] = None,
) -> None:
    """Serve the knowledge base to MCP clients: tools search_knowledge_base, ask and triage.
    Over stdio the tenant is ASSISTANT_TENANT; over HTTP with API keys, the key's."""
    # Imported here: the rest of the CLI starts without the model, store and MCP stacks.
    from assistant.interfaces.mcp.server import build_mcp_server
    from assistant.service import Assistant

    settings = load_settings()
    if transport == "stdio":
        with Assistant.open(settings) as assistant:
            build_mcp_server(assistant).run("stdio")
        return

    import uvicorn

    from assistant.interfaces.api.auth import warn_if_open
    from assistant.interfaces.api.exposure import check_exposure
    from assistant.interfaces.mcp.http_app import build_http_app

    listen_on = host or settings.serve_host
    # The API's rule: no keys on a public address is refused, an open server is logged.
    check_exposure(settings, listen_on)
    warn_if_open(settings)
    with Assistant.open(settings) as assistant:
        app = build_http_app(build_mcp_server(assistant), settings)
        # No proxy headers: X-Forwarded-For counts only from ASSISTANT_SERVE_TRUSTED_PROXIES.
        uvicorn.run(
            app,
            host=listen_on,
            port=port or settings.mcp_port,
            proxy_headers=False,
            log_level="warning",
        )
