"""OpenTelemetry spans of a turn: `turn`, `node.<name>`, `model.call` and `search`.

Tracing is on when `ASSISTANT_OTLP_ENDPOINT` is set. Off, no tracer exists: nodes are not
wrapped, the retriever is the store itself and no callback joins the model calls, so the off
path runs exactly the code it ran before tracing existed. The SDK is imported only when on.
LangChain's own tracing (LangSmith callbacks) is untouched: these spans come from a handler
added beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langgraph.errors import GraphInterrupt
from opentelemetry.trace import Span, StatusCode, Tracer, TracerProvider

from assistant.kinds import SearchMode
from assistant.schemas import RetrievedChunk
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.knowledge.search_tool import Retriever

R = TypeVar("R")

INSTRUMENTATION = "assistant"
TENANT = "assistant.tenant"
THREAD_ID = "assistant.thread_id"
VARIANT = "assistant.variant"


def open_tracer_provider(settings: Settings) -> TracerProvider | None:
    """A provider that exports to `settings.otlp_endpoint` in batches; None when unset.

    The caller owns it: `shutdown()` it at exit so the last spans are sent.
    """
    if settings.otlp_endpoint is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.otel_service_name})
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
    )
    return provider


@contextmanager
def turn_span(
    tracer: Tracer | None, thread_id: str, tenant: str | None, variant: str | None = None
) -> Iterator[Span | None]:
    """The root span of one turn (ask, resume or hand-over), with the experiment's `variant`
    of the thread when there is one; nothing when `tracer` is None."""
    if tracer is None:
        yield None
        return
    attributes = (
        {THREAD_ID: thread_id}
        | ({TENANT: tenant} if tenant else {})
        | ({VARIANT: variant} if variant else {})
    )
    with tracer.start_as_current_span("turn", attributes=attributes) as span:
        yield span


def traced_node(name: str, fn: Callable[[Any], R], tracer: Tracer) -> Callable[[Any], R]:
    """`fn` (a graph node) inside a `node.<name>` span. A hand-over's interrupt is how the
    graph pauses, not a failure: its span ends without an error status."""

    def run(state: Any) -> R:
        with tracer.start_as_current_span(
            f"node.{name}", record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                return fn(state)
            except GraphInterrupt:
                span.set_attribute("assistant.interrupted", True)
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                raise

    return run


class TracedRetriever:
    """A retriever whose every search is a `search` span (mode, k, tenant, results)."""

    def __init__(self, retriever: Retriever, tracer: Tracer) -> None:
        self.retriever = retriever
        self.tracer = tracer

    def search(self, query: str, *, tenant: str, k: int, mode: SearchMode) -> list[RetrievedChunk]:
        attributes = {"assistant.search.mode": mode, "assistant.search.k": k, TENANT: tenant}
        with self.tracer.start_as_current_span("search", attributes=attributes) as span:
            chunks = self.retriever.search(query, tenant=tenant, k=k, mode=mode)
            span.set_attribute("assistant.search.results", len(chunks))
            return chunks


class ModelCallSpans(BaseCallbackHandler):
    """A LangChain callback that makes a `model.call` span of each chat-model call, a child
    of the span current when the call starts (the node's), with the adapter and the tokens
    the backend reports (`gen_ai.usage.*`, OpenTelemetry's GenAI conventions)."""

    # Graph and node runs are spanned by `traced_node`; only model calls are wanted here.
    ignore_chain = True
    ignore_agent = True
    ignore_retriever = True
    ignore_retry = True

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._spans: dict[UUID, Span] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        params: dict[str, Any] = kwargs.get("invocation_params") or {}
        span = self.tracer.start_span("model.call")
        span.set_attribute("assistant.model_type", str(params.get("_type", "")))
        span.set_attribute("assistant.adapter", adapter_of(params) or "base")
        self._spans[run_id] = span

    def on_llm_end(
        self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        generation = response.generations[0][0] if response.generations else None
        usage = (
            getattr(generation.message, "usage_metadata", None)
            if isinstance(generation, ChatGeneration)
            else None
        )
        if usage:
            span.set_attribute("gen_ai.usage.input_tokens", usage["input_tokens"])
            span.set_attribute("gen_ai.usage.output_tokens", usage["output_tokens"])
        span.end()

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        span.record_exception(error)
        span.set_status(StatusCode.ERROR, type(error).__name__)
        span.end()


def adapter_of(params: dict[str, Any]) -> str | None:
    """The LoRA adapter a call asked for: the embedded model's `adapter` argument, or, on a
    model server, a `model` other than the served base (vLLM serves adapters by name)."""
    if params.get("adapter"):
        return str(params["adapter"])
    model, base = params.get("model"), params.get("model_name")
    return str(model) if model and base and model != base else None
