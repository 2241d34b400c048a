"""Load and unload adapters in a running vLLM server, without a restart.

vLLM serves these routes only when started with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``
(``deploy/vllm/serve.sh`` does). The adapter path is read by the *server*, so it must be a
path on the server's machine.
"""

from __future__ import annotations

import httpx

from assistant.errors import InputError, ModelUnavailableError


def server_root(base_url: str) -> str:
    """`http://host:8000/v1` -> `http://host:8000`: the runtime-LoRA routes sit at the root."""
    root = base_url.rstrip("/")
    return root.removesuffix("/v1")


def load_adapter(
    base_url: str, name: str, path: str, *, api_key: str | None = None, timeout_s: float = 120
) -> None:
    """Make `name` servable on the server at `base_url`, from the folder `path` (server side)."""
    _post(base_url, "load_lora_adapter", {"lora_name": name, "lora_path": path}, api_key, timeout_s)


def unload_adapter(
    base_url: str, name: str, *, api_key: str | None = None, timeout_s: float = 60
) -> None:
    """Stop serving `name` on the server at `base_url`."""
    _post(base_url, "unload_lora_adapter", {"lora_name": name}, api_key, timeout_s)


def _post(
    base_url: str, route: str, body: dict[str, str], api_key: str | None, timeout_s: float
) -> None:
    url = f"{server_root(base_url)}/v1/{route}"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ModelUnavailableError(f"cannot reach the model server at {base_url}: {exc}") from exc
    if response.status_code == 200:
        return
    # FastAPI's own 404 means the route is missing; vLLM's 404 names a bad adapter path.
    if response.status_code == 404 and response.text == '{"detail":"Not Found"}':
        raise ModelUnavailableError(
            f"the server at {base_url} does not allow runtime adapter loading: start vLLM with "
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (deploy/vllm/serve.sh does)"
        )
    raise InputError(f"{route} refused ({response.status_code}): {response.text[:300]}")
