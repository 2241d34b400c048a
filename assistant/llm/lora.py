"""LoRA adapters on the embedded model: find them by name, load on first use, switch per call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from peft import PeftModel
from transformers import PreTrainedModel

from assistant.llm.errors import UnknownModelError

# Where the adapters trained in this repository are shipped (``adapters/`` at the top of the
# repo, installed as ``assistant/adapters``). Python files there are ignored: an adapter is any
# subfolder holding an ``adapter_config.json``.
SHIPPED_ADAPTERS_DIR = Path(__file__).parent.parent / "adapters"


def available_adapters(adapters_dir: Path | None) -> dict[str, Path]:
    """Adapter name -> folder, for every subfolder of ``adapters_dir`` that peft can load."""
    if adapters_dir is None or not adapters_dir.is_dir():
        return {}
    return {
        sub.name: sub
        for sub in sorted(adapters_dir.iterdir())
        if (sub / "adapter_config.json").is_file()
    }


class AdapterSwitch:
    """Holds the base model and the adapters loaded on it so far.

    The first adapter wraps the base model in a ``PeftModel``; later ones are added to it.
    Callers are expected to serialise use (the active adapter is model state).
    """

    def __init__(self, base: PreTrainedModel, adapters_dir: Path | None) -> None:
        self.model: PreTrainedModel | PeftModel = base
        self.adapters_dir = adapters_dir

    @contextmanager
    def use(self, name: str | None) -> Iterator[PreTrainedModel]:
        """Yield the model with adapter ``name`` active, or with every adapter off if None.

        The model is typed as the base class: a ``PeftModel`` forwards ``generate`` and calls
        to it.
        """
        if name is None:
            if isinstance(self.model, PeftModel):
                with self.model.disable_adapter():
                    yield cast(PreTrainedModel, self.model)
            else:
                yield self.model
            return
        self._ensure_loaded(name)
        assert isinstance(self.model, PeftModel)
        self.model.set_adapter(name)
        yield cast(PreTrainedModel, self.model)

    def _ensure_loaded(self, name: str) -> None:
        if isinstance(self.model, PeftModel) and name in self.model.peft_config:
            return
        found = available_adapters(self.adapters_dir)
        if name not in found:
            listed = ", ".join(found) or "none"
            raise UnknownModelError(
                f"Unknown adapter {name!r}. Adapters in {self.adapters_dir}: {listed}. "
                "Set ASSISTANT_ADAPTERS_DIR to the folder that holds it."
            )
        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(found[name]), adapter_name=name)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(found[name]), adapter_name=name)
        self.model.eval()
