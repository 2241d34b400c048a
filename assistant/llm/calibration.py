"""Constrained choices corrected for a small model's bias towards some labels."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from assistant.llm.gateway import choice_scores, choose


class CalibratedChooser:
    """Chooses among fixed options, each score corrected by its score on a content-free input.

    A 135M model prefers some labels whatever the input. Subtracting each label's score on a
    content-free prompt (contextual calibration, Zhao et al. 2021) removes that prior; on the
    decide step it raised agreement with the dev labels from 6/30 to 17/30. Backends that do
    not return scores (a server that constrains the choice itself) choose plainly.

    With a `default`, another option must beat it by `margin` (in calibrated score) to win:
    where mistakes cost unequally, the cheap mistake is the one to lean towards.
    """

    def __init__(
        self,
        model: BaseChatModel,
        options: Sequence[str],
        content_free: Sequence[BaseMessage],
        *,
        default: str | None = None,
        margin: float = 0.0,
        adapter: str | None = None,
    ) -> None:
        if default is not None and default not in options:
            raise ValueError(f"default {default!r} is not one of {list(options)}")
        self.default = default
        self.margin = margin
        self.model = model
        self.options = list(options)
        self.content_free = list(content_free)
        self.adapter = adapter
        self._prior: dict[str, float] | None = None

    def choose(self, messages: Sequence[BaseMessage]) -> str:
        scores = choice_scores(self.model, messages, self.options, adapter=self.adapter)
        if scores is None:
            return choose(self.model, messages, self.options, adapter=self.adapter)
        prior = self.prior()
        calibrated = {option: scores[option] - prior[option] for option in self.options}
        best = max(self.options, key=calibrated.__getitem__)
        if self.default is not None and calibrated[best] - calibrated[self.default] <= self.margin:
            return self.default
        return best

    def prior(self) -> dict[str, float]:
        """The options' scores on the content-free prompt, computed once."""
        if self._prior is None:
            scores = choice_scores(
                self.model, self.content_free, self.options, adapter=self.adapter
            )
            self._prior = scores or dict.fromkeys(self.options, 0.0)
        return self._prior
