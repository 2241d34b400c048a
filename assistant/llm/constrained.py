"""Regex-constrained decoding for transformers' ``generate`` with xgrammar."""

from __future__ import annotations

import xgrammar as xgr
from transformers import LogitsProcessor, PreTrainedTokenizerBase


class RegexConstraint:
    """Compiles regexes against one tokenizer and makes logits processors for them.

    Building the tokenizer info is the slow part (~1 s), so make one per loaded model.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, vocab_size: int) -> None:
        eos = tokenizer.eos_token_id
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=[eos] if eos is not None else None
        )
        # The compiler caches compiled grammars, so repeated regexes compile once.
        self._compiler = xgr.GrammarCompiler(info)

    def processor(self, regex: str) -> LogitsProcessor:
        """A fresh processor for one ``generate`` call (xgrammar's processors are single-use)."""
        try:
            grammar = self._compiler.compile_regex(regex)
        except RuntimeError as exc:
            raise ValueError(
                f"Cannot compile regex {regex!r} for constrained decoding: {exc}"
            ) from exc
        processor: LogitsProcessor = xgr.contrib.hf.LogitsProcessor(grammar)
        return processor
