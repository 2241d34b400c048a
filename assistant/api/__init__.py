"""The HTTP API (`assistant serve`): a thin FastAPI layer over `assistant.service.Assistant`.

`assistant.api.app.create_app` builds the app; `assistant.api.command.serve_command` runs it.
Nothing is imported here, so the CLI loads the web stack only when it serves.
"""
