"""`assistant slack`: the Slack bot, over HTTP or Socket Mode."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.interfaces.cli.support import clear_errors, load_settings


@clear_errors
def slack_command(
    socket_mode: Annotated[
        bool,
        typer.Option(
            "--socket-mode",
            help="Connect out to Slack over a websocket (needs ASSISTANT_SLACK_APP_TOKEN) "
            "instead of serving HTTP: for workspaces without a public URL.",
        ),
    ] = False,
    host: Annotated[
        str | None, typer.Option(help="HTTP mode: address (default: ASSISTANT_SERVE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP mode: port (default: ASSISTANT_SLACK_PORT).")
    ] = None,
) -> None:
    """Run the Slack bot: answers mentions and direct messages in their thread, with
    sources, an escalate button and thumbs up/down. HTTP mode serves POST /slack/events."""
    # Imported here: the rest of the CLI starts without loading Bolt or the web stack.
    from assistant.interfaces.slack.app import build_app, require_slack_settings
    from assistant.interfaces.slack.bot import SlackBot
    from assistant.interfaces.slack.transports import http_app, run_socket_mode
    from assistant.service import Assistant

    settings = load_settings()
    # Missing tokens are reported before the model loads.
    require_slack_settings(settings, socket_mode=socket_mode)
    with Assistant.open(settings) as assistant, SlackBot.open(assistant, settings) as bot:
        app = build_app(bot, settings, socket_mode=socket_mode)
        if socket_mode and settings.slack_app_token is not None:
            run_socket_mode(app, settings.slack_app_token.get_secret_value())
            return
        import uvicorn

        # One process: the assistant owns the embedded store's folder and the loaded model.
        uvicorn.run(
            http_app(app), host=host or settings.serve_host, port=port or settings.slack_port
        )
