"""Readiness: the store and the model backend both answer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import httpx
from pydantic import SecretStr

from assistant.errors import AssistantError
from assistant.interfaces.api.app_state import ApiRuntime
from assistant.interfaces.api.http_models import Check, Readiness
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.gateway import is_openai_model

if TYPE_CHECKING:
    from langchain_openai.chat_models.base import BaseChatOpenAI

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 3.0


async def warm_up(runtime: ApiRuntime) -> None:
    """Load the embedded model's weights before the first question needs them.

    Readiness stays false until this is done; a failure is kept for `/readyz` to report.
    """
    model = runtime.assistant.model
    if isinstance(model, EmbeddedChatModel):
        try:
            await runtime.call(model.load)
        except AssistantError as exc:
            runtime.model_error = str(exc)
            log.error("the embedded model failed to load: %s", exc)
    runtime.model_ready.set()


async def readiness(runtime: ApiRuntime) -> Readiness:
    """Both checks, with what failed. What failed is logged when it changes (probes come
    every few seconds), since an unauthenticated `/readyz` does not show it."""
    checks = [await check_store(runtime), await check_model(runtime)]
    failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok) or None
    if failed != runtime.readiness_logged:
        if failed:
            log.warning("not ready: %s", failed)
        elif runtime.readiness_logged:
            log.info("ready again")
        runtime.readiness_logged = failed
    return Readiness(ready=failed is None, checks=checks)


async def check_store(runtime: ApiRuntime) -> Check:
    store = runtime.assistant.store
    probe = store.engine.exists
    try:
        # Not under the exclusive lock: a long generation would hold the probe hostage, and
        # this read-only call does not change the client's state.
        with anyio.fail_after(CHECK_TIMEOUT_S):
            exists = await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
    except TimeoutError:
        return Check(name="store", ok=False, detail=f"no answer in {CHECK_TIMEOUT_S:g} s")
    except Exception as exc:  # a connection error, a 401: all mean "not usable"
        return Check(name="store", ok=False, detail=f"{type(exc).__name__}: {exc}")
    if not exists:
        return Check(name="store", ok=False, detail=f"collection {store.collection!r} missing")
    return Check(name="store", ok=True, detail=f"collection {store.collection!r}")


async def check_model(runtime: ApiRuntime) -> Check:
    model = runtime.assistant.model
    if is_openai_model(model):
        return await _check_server(model, runtime.assistant.adapters)
    if isinstance(model, EmbeddedChatModel):
        if runtime.model_error:
            return Check(name="model", ok=False, detail=runtime.model_error)
        if not runtime.model_ready.is_set():
            return Check(name="model", ok=False, detail="the embedded model is loading")
        return Check(name="model", ok=True, detail="embedded model loaded")
    # Any other chat model (a test double) lives in this process and is always there.
    return Check(name="model", ok=True, detail=type(model).__name__)


async def _check_server(model: BaseChatOpenAI, adapters: list[str]) -> Check:
    """The server answers `/models` and serves the base model and each adapter the turn uses
    (a server started without `--lora-modules triage=...` would fail every turn)."""
    base = (model.openai_api_base or "https://api.openai.com/v1").rstrip("/")
    url = f"{base}/models"
    secret = model.openai_api_key
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else ""
    try:
        async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S) as client:
            response = await client.get(url, headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as exc:
        detail = f"cannot reach the model server at {url}: {type(exc).__name__}: {exc}"
        return Check(name="model", ok=False, detail=detail)
    if response.status_code != 200:
        detail = f"the model server at {url} answered {response.status_code}"
        return Check(name="model", ok=False, detail=detail)
    try:
        served = {str(entry["id"]) for entry in response.json()["data"]}
    except (ValueError, KeyError, TypeError):
        detail = f"the model server at {url} answered something other than a model list"
        return Check(name="model", ok=False, detail=detail)
    missing = [name for name in [model.model_name, *adapters] if name not in served]
    if missing:
        detail = (
            f"the model server at {base} does not serve {', '.join(map(repr, missing))} "
            f"(it serves {', '.join(sorted(served)) or 'nothing'}); start it with "
            "--served-model-name and --lora-modules NAME=PATH (deploy/vllm/serve.sh does)"
        )
        return Check(name="model", ok=False, detail=detail)
    return Check(name="model", ok=True, detail=f"model server at {base}")
