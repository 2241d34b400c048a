"""Helpers of the contract tests: the server under test, a random adapter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Server:
    """The server under test and what it serves."""

    base_url: str  # ends in /v1
    model_name: str
    adapters: tuple[str, ...]  # served names of the adapters loaded at start
    lora_path: str  # an adapter folder the server can read, for runtime loading
    log: Path | None = None  # the server's output, when the tests started it

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")


def make_random_adapter(base_folder: Path, folder: Path, seed: int = 0) -> Path:
    """Save a random r=8 LoRA on q/k/v/o of the model in ``base_folder`` to ``folder``.

    Random (not zero) B matrices, so the adapter really changes the output.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_folder)
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    get_peft_model(base, config).save_pretrained(str(folder))
    return folder


def served_adapters(base_url: str, model_name: str) -> tuple[str, ...]:
    """The names ``/v1/models`` lists with ``model_name`` as their parent."""
    models = httpx.get(f"{base_url}/models", timeout=30).raise_for_status().json()
    return tuple(m["id"] for m in models["data"] if m.get("parent") == model_name)
