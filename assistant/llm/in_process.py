"""The loaded embedded model: generation, streaming and option scoring with transformers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessorList,
    PreTrainedModel,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from assistant.errors import ModelUnavailableError
from assistant.llm.constrained import RegexConstraint
from assistant.llm.lora import AdapterSwitch
from assistant.llm.registry import AdapterRegistry
from assistant.llm.scoring import score_options
from assistant.llm.stop import cut_at_stop, cut_stream_at_stop

ChatTurn = dict[str, str]


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]


@dataclass(frozen=True)
class Sampling:
    """How one call decodes."""

    max_new_tokens: int
    temperature: float = 0.0
    regex: str | None = None
    stop: Sequence[str] = ()


class TransformersEngine:
    """A model folder loaded in this process, with its tokenizer and adapters.

    One call runs at a time (a lock): the active adapter is model state, and on a small CPU
    concurrent forwards only slow each other down.
    """

    def __init__(
        self, folder: Path, adapters_dir: Path | None, torch_threads: int | None = None
    ) -> None:
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
            base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        except Exception as exc:  # any failure here means the folder is unusable as a model
            raise ModelUnavailableError(
                f"Cannot load the model in {folder}: {exc}. Point ASSISTANT_MODEL_PATH at a "
                "complete Hugging Face model folder, or unset it to use the packaged model."
            ) from exc
        base.eval()
        self.name = folder.name
        self.adapters = AdapterSwitch(base, AdapterRegistry(adapters_dir) if adapters_dir else None)
        self._vocab_size = int(base.config.vocab_size)
        self._regex: RegexConstraint | None = None
        self._lock = threading.Lock()

    def prompt_ids(self, chat: Sequence[ChatTurn]) -> torch.Tensor:
        """Token ids of ``chat`` rendered by the model's chat template, ready for a reply."""
        text = self.tokenizer.apply_chat_template(
            list(chat), tokenize=False, add_generation_prompt=True
        )
        ids: torch.Tensor = self.tokenizer(
            text, return_tensors="pt", add_special_tokens=False
        ).input_ids
        return ids

    def generate(
        self, chat: Sequence[ChatTurn], sampling: Sampling, adapter: str | None = None
    ) -> Generation:
        """Generate one reply to ``chat``."""
        ids = self.prompt_ids(chat)
        with self._lock, torch.inference_mode(), self.adapters.use(adapter) as model:
            out = _generate(model, input_ids=ids, **self._generate_kwargs(sampling))
        new = out[0, ids.shape[1] :]
        decoded = self.tokenizer.decode(new, skip_special_tokens=True)
        assert isinstance(decoded, str)
        text = cut_at_stop(decoded, sampling.stop)
        ended = bool(len(new)) and int(new[-1]) == self.tokenizer.eos_token_id
        stopped = ended or len(new) < sampling.max_new_tokens
        return Generation(
            text=text,
            prompt_tokens=int(ids.shape[1]),
            completion_tokens=len(new),
            finish_reason="stop" if stopped else "length",
        )

    def stream(
        self, chat: Sequence[ChatTurn], sampling: Sampling, adapter: str | None = None
    ) -> Iterator[str]:
        """Yield the reply to ``chat`` as text pieces while it is generated.

        ``generate`` runs in a worker thread feeding a streamer; closing this iterator early
        stops the generation. The engine stays locked until the iterator ends or is closed.
        """
        ids = self.prompt_ids(chat)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancel = threading.Event()
        failures: list[BaseException] = []
        kwargs = self._generate_kwargs(sampling)
        kwargs["stopping_criteria"] = StoppingCriteriaList([_Cancelled(cancel)])

        def work() -> None:
            try:
                # inference_mode is per thread, so it is entered here, not by the caller; the
                # adapter is switched under it too, as in `generate`: adapters loaded there
                # hold inference tensors, which switching outside it fails on.
                with torch.inference_mode(), self.adapters.use(adapter) as model:
                    _generate(model, input_ids=ids, streamer=streamer, **kwargs)
            except BaseException as exc:
                failures.append(exc)
                streamer.end()  # unblock the reader below

        with self._lock:
            worker = threading.Thread(target=work, name="embedded-generate", daemon=True)
            worker.start()
            try:
                yield from cut_stream_at_stop(streamer, sampling.stop)
            finally:
                cancel.set()
                worker.join()
        if failures:
            raise failures[0]

    def score(
        self, chat: Sequence[ChatTurn], options: Sequence[str], adapter: str | None = None
    ) -> list[float]:
        """Length-normalised log-likelihood of each option as the whole reply to ``chat``."""
        ids = self.prompt_ids(chat)
        with self._lock, torch.inference_mode(), self.adapters.use(adapter) as model:
            return score_options(model, self.tokenizer, ids, options)

    def _generate_kwargs(self, sampling: Sampling) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "do_sample": sampling.temperature > 0,
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
        }
        if sampling.temperature > 0:
            kwargs["temperature"] = sampling.temperature
        if sampling.regex is not None:
            kwargs["logits_processor"] = LogitsProcessorList(
                [self._regex_constraint().processor(sampling.regex)]
            )
        if sampling.stop:
            # Halt generation at a stop string; the text is trimmed afterwards.
            kwargs["stop_strings"] = list(sampling.stop)
            kwargs["tokenizer"] = self.tokenizer
        return kwargs

    def _regex_constraint(self) -> RegexConstraint:
        if self._regex is None:
            self._regex = RegexConstraint(self.tokenizer, self._vocab_size)
        return self._regex


def _generate(model: PreTrainedModel, **kwargs: Any) -> torch.Tensor:
    # Causal LMs (and a PeftModel around one) have GenerationMixin's generate, which
    # PreTrainedModel does not declare; with these settings it returns the ids tensor.
    generate = cast(Callable[..., torch.Tensor], model.generate)
    return generate(**kwargs)


class _Cancelled(StoppingCriteria):
    """Stops ``generate`` once the stream's reader has gone away."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> Any:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)
