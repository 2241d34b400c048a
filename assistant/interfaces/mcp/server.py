"""The assistant as a Model Context Protocol server (`assistant mcp`), on the official SDK.

Three tools: `search_knowledge_base`, `ask` (an answer with its citations) and `triage`.
Every search and answer is scoped to one tenant: over stdio, the server's own
(`ASSISTANT_TENANT`); over streamable HTTP with API keys configured
(`ASSISTANT_SERVE_API_KEYS`), the tenant of the request's key (`Authorization: Bearer KEY` or
`X-API-Key`), as in the HTTP API. A tool never takes a tenant from its arguments, and a
`thread_id` names a thread of the caller's tenant only (the API's threads of that tenant).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from assistant.errors import AssistantError
from assistant.interfaces.api.auth import key_in_headers, tenant_for_key
from assistant.interfaces.api.http_models import THREAD_ID_PATTERN
from assistant.interfaces.api.problems import ApiError
from assistant.kinds import SearchMode
from assistant.schemas import Answer, RetrievedChunk, TriageResult
from assistant.service import Assistant, check_question
from assistant.turn.citations import source_name

R = TypeVar("R")

INSTRUCTIONS = (
    "A customer-support knowledge base. `search_knowledge_base` returns passages; `ask` "
    "answers a question with numbered citations ([n] in the text, `citations` beside it) and "
    "keeps a conversation per `thread_id`; `triage` reads a ticket's category, priority and "
    "whether it needs a human."
)


class SearchResults(BaseModel):
    chunks: list[RetrievedChunk] = Field(description="Best first; `score` is the mode's own.")


def request_tenant(assistant: Assistant, headers: Mapping[str, str] | None) -> str:
    """The tenant of a tool call: the server's over stdio (no headers) or when no API keys are
    configured; otherwise the tenant of the HTTP request's key (a `ToolError` without one)."""
    settings = assistant.settings
    if headers is None:
        return settings.tenant
    try:
        return tenant_for_key(settings, key_in_headers(headers))
    except ApiError as exc:
        raise ToolError(exc.message) from None


def build_mcp_server(assistant: Assistant) -> MCPServer:
    """An MCP server whose tools call `assistant` as the HTTP API does: one call at a time
    where the assistant's parts require it (`Assistant.needs_exclusive_use`)."""
    # WARNING: the SDK logs every request at INFO, to stderr, which an MCP client shows.
    server: MCPServer = MCPServer(
        "hybrid-assistant", instructions=INSTRUCTIONS, log_level="WARNING"
    )
    lock: AbstractContextManager[Any] = (
        threading.Lock() if assistant.needs_exclusive_use else nullcontext()
    )
    settings = assistant.settings

    def run(fn: Callable[[], R]) -> R:
        # Sync tools run in the SDK's worker threads; assistant errors become tool errors,
        # whose message the calling model reads.
        try:
            with lock:
                return fn()
        except AssistantError as exc:
            raise ToolError(str(exc)) from None

    @server.tool()
    def search_knowledge_base(
        query: str,
        ctx: Context,
        k: Annotated[int, Field(ge=1, le=100, description="How many passages.")] = settings.top_k,
        mode: Annotated[SearchMode, Field(description="hybrid, dense or sparse.")] = (
            settings.search_mode
        ),
    ) -> SearchResults:
        """Search the support knowledge base; returns the most relevant passages."""
        tenant = request_tenant(assistant, ctx.headers)

        def search() -> list[RetrievedChunk]:
            text = check_question(query, settings.max_question_chars)
            chunks = assistant.store.search(text, tenant=tenant, k=k, mode=mode)
            # A file ingested from the server's disk is named as citations name it: by the
            # file's name, never the server's folder.
            return [c.model_copy(update={"source": source_name(c.source)}) for c in chunks]

        return SearchResults(chunks=run(search))

    @server.tool()
    def ask(
        question: str,
        ctx: Context,
        thread_id: Annotated[
            str | None,
            Field(
                pattern=THREAD_ID_PATTERN,
                description="Continue this conversation; unset starts one (its id is in the "
                "answer).",
            ),
        ] = None,
    ) -> Answer:
        """Answer a customer's question from the knowledge base, with numbered citations."""
        tenant = request_tenant(assistant, ctx.headers)
        # Threads are the tenant's own (the assistant keys them by tenant and checks the owner
        # under the thread's lock): another tenant's thread of this id is another thread.
        return run(lambda: assistant.ask(question, thread_id=thread_id, tenant=tenant))

    @server.tool()
    def triage(text: str, ctx: Context) -> TriageResult:
        """Read a support ticket: its category, priority and whether it needs a human."""
        request_tenant(assistant, ctx.headers)  # triage reads no knowledge base: auth only
        # The engine `/v1/triage` and the turn use: the settings' engine, policy and adapter.
        return run(lambda: assistant.triage(check_question(text, settings.max_question_chars)))

    return server
