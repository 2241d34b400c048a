"""LoRA adapters on the embedded model: load on first use, switch per call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from peft import PeftModel
from transformers import PreTrainedModel

from assistant.llm.errors import UnknownModelError
from assistant.llm.registry import AdapterRegistry


class AdapterSwitch:
    """Holds the base model and the adapters loaded on it so far.

    The first adapter wraps the base model in a ``PeftModel``; later ones are added to it.
    Callers are expected to serialise use (the active adapter is model state).
    """

    def __init__(self, base: PreTrainedModel, registry: AdapterRegistry | None) -> None:
        self.model: PreTrainedModel | PeftModel = base
        self.registry = registry

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
        found = self.registry.folders() if self.registry else {}
        if name not in found:
            where = f"Adapters in {self.registry.folder}" if self.registry else "Adapters"
            raise UnknownModelError(
                f"Unknown adapter {name!r}. {where}: {', '.join(found) or 'none'}. "
                "Set ASSISTANT_ADAPTERS_DIR to the folder that holds it."
            )
        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(found[name]), adapter_name=name)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(found[name]), adapter_name=name)
        self.model.eval()
