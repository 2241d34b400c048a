"""The server backend: an OpenAI-compatible endpoint (vLLM) through langchain-openai."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import BaseChatOpenAI

from assistant.errors import ModelUnavailableError
from assistant.llm.errors import UnknownModelError
from assistant.settings import Settings


def build_openai_chat_model(settings: Settings) -> ChatOpenAI:
    """``ChatOpenAI`` for ``settings.base_url``, serving ``settings.model_name``.

    Retries (``settings.max_retries``, exponential backoff on connection errors, 429 and 5xx)
    and the per-request timeout are the openai SDK's own.
    """
    return ChatOpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key,
        model=settings.model_name,
        temperature=settings.temperature,
        max_tokens=settings.max_new_tokens,
        timeout=settings.request_timeout_s,
        max_retries=settings.max_retries,
        # vLLM speaks Chat Completions; never let langchain switch to the Responses API.
        use_responses_api=False,
    )


def check_reachable(model: BaseChatOpenAI) -> None:
    """``ModelUnavailableError`` naming the server unless it answers ``/v1/models``.

    A turn calls the server only where it generates (an extractive answer, zero-shot triage
    and the fitted heads need none), so a one-shot command checks it first: a server that is
    down is an error, not a silent decline.
    """
    with server_errors(model):
        model.root_client.models.list()


@contextmanager
def server_errors(model: BaseChatOpenAI, requested: str | None = None) -> Iterator[None]:
    """Turn the openai SDK's errors, raised after its own retries, into actionable ones.

    ``requested`` is the served name asked for (an adapter), if not the model's own.
    """
    url = model.openai_api_base or "the default OpenAI endpoint"
    name = requested or model.model_name
    try:
        yield
    except openai.APITimeoutError as exc:  # a server that is up but too slow
        attempts = (model.max_retries or 0) + 1
        raise ModelUnavailableError(
            f"Cannot reach the model server at {url} in time: no answer within "
            f"{model.request_timeout} s (ASSISTANT_REQUEST_TIMEOUT_S) in {attempts} attempt(s). "
            "It is overloaded or stalled: check its logs, or raise the timeout."
        ) from exc
    except openai.APIConnectionError as exc:
        raise ModelUnavailableError(
            f"Cannot reach the model server at {url} ({exc}). Start the server (vLLM), or fix "
            "ASSISTANT_BASE_URL, or use ASSISTANT_BACKEND=embedded."
        ) from exc
    except openai.NotFoundError as exc:
        raise UnknownModelError(
            f"The model server at {url} does not serve a model named {name!r} ({exc.message}). "
            "List the served names at /v1/models; adapters need --lora-modules NAME=PATH."
        ) from exc
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise ModelUnavailableError(
            f"The model server at {url} refused the API key ({exc.message}). Set ASSISTANT_API_KEY."
        ) from exc
    except openai.InternalServerError as exc:
        raise ModelUnavailableError(
            f"The model server at {url} failed ({exc.status_code}: {exc.message}) after "
            "retries. Check its logs."
        ) from exc
