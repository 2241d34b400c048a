"""Contract tests: a real OpenAI-compatible server (a package, so the server fixture can be
package-scoped and stop when these tests end rather than with the whole session)."""
