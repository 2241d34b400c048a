"""Constrained choice on the embedded model: rank options by their likelihood as the reply."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

# Options scored per forward pass. Each one holds its own copy of the prompt's KV cache and
# full-vocabulary logits for its tokens: all 13 candidate sentences of a long prompt at once
# took `assistant ask` from 1.3 to 2.5 GB; four at a time keeps the cost of a turn flat.
OPTIONS_PER_PASS = 4


def score_options(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: torch.Tensor,
    options: Sequence[str],
) -> list[float]:
    """Mean log-probability per token of each option, followed by end-of-turn, after the prompt.

    The end-of-turn token is scored so that an option must be the whole reply ("yes" is not
    favoured just because "yes, but..." is likely). Averaging per token keeps long options from
    losing merely for being long. The prompt runs once; the options run in small batches on
    copies of its KV cache. Call under ``torch.inference_mode()``.
    """
    eos = tokenizer.eos_token_id
    tails = [[*tokenizer(o, add_special_tokens=False)["input_ids"], eos] for o in options]
    # Only the last prompt position predicts an option's first token.
    prompt = model(input_ids=prompt_ids, use_cache=True, logits_to_keep=1)
    first = torch.log_softmax(prompt.logits[0, -1].float(), dim=-1)
    scores = []
    for start in range(0, len(tails), OPTIONS_PER_PASS):
        group = tails[start : start + OPTIONS_PER_PASS]
        cache = copy.deepcopy(prompt.past_key_values)
        cache.batch_repeat_interleave(len(group))
        width = max(len(t) for t in group)
        # Right padding is harmless: with causal attention no real token attends to the pads
        # after it, and the pads' own logits are never read.
        batch = torch.tensor([t + [eos] * (width - len(t)) for t in group], dtype=torch.long)
        logits = model(input_ids=batch, past_key_values=cache, use_cache=True).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        for i, tail in enumerate(group):
            total = first[tail[0]].item()
            total += sum(logprobs[i, j - 1, tail[j]].item() for j in range(1, len(tail)))
            scores.append(total / len(tail))
    return scores
