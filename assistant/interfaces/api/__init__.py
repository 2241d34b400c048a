"""The HTTP API (`assistant serve`): a thin FastAPI layer over `assistant.service.Assistant`.

`assistant.interfaces.api.app.create_app` builds the app;
`assistant.interfaces.cli.serve_commands.serve_command` runs it.
Nothing is imported here, so the CLI loads the web stack only when it serves.
"""
