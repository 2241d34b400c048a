"""The ways in: the CLI, the HTTP API, the Slack bot, batch triage and the MCP server."""
