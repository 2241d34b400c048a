"""The answerability reader of `reader_experiment.py`: a cross-encoder that reads a question
with one chunk (an experiment: it did not beat the judge's heads on CPU, adapters/README.md).

The judge's hand features (cosines, word coverage) tell a chunk that is *about* the question;
a reader reads the question and the chunk together and says whether the chunk *answers* it.
It is the packaged MiniLM with a one-logit classification head, adapted by a small LoRA on its
top layers (peft), trained on the judge's own searches (`judge_data.py`): a gold chunk among
the retrieved answers; every other chunk, every chunk of an UNANSWERABLE task and every chunk
of a search with its gold taken out does not.

Why only the top layers: on two CPU cores a full fine-tune at these lengths costs > 9 s a
step. The frozen lower layers are run once per pair and their output cached, so a training step
runs only the adapted layers, forward and backward (`train_reader`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from assistant.errors import InputError


class ReaderRecipe(BaseModel):
    """How a reader is trained; saved in its manifest."""

    rank: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    targets: list[str] = Field(default_factory=lambda: ["query", "key", "value", "dense"])
    trained_layers: int = Field(1, ge=1, description="How many top encoder layers carry LoRA.")
    max_length: int = Field(192, ge=32)
    context_words: int = Field(24, ge=0, description="Last words of the earlier turn kept.")
    epochs: int = Field(2, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(5e-4, gt=0)
    seed: int = 0


@dataclass(frozen=True)
class ReaderPair:
    """One question (with its earlier turn) and one chunk, and whether the chunk answers it."""

    conversation: str
    question: str
    context: str
    chunk: str
    answers: bool


def question_text(question: str, context: str, context_words: int) -> str:
    """The reader's first segment: the question, after the end of the earlier turn (follow-ups
    lean on it); only its last words, so the chunk keeps most of the length."""
    earlier = context.split()[-context_words:] if context_words else []
    return f"{' '.join(earlier)} | {question}" if earlier else question


def reader_pairs(examples: Sequence[Any]) -> list[ReaderPair]:
    """The (question, chunk) pairs of judge examples (`JudgeExample`), each pair once: the
    non-gold chunks of an answerable search come back in its gold-removed twin."""
    seen: set[tuple[str, str, str]] = set()
    pairs = []
    for example in examples:
        for text, label in zip(example.chunk_texts, example.chunk_labels, strict=True):
            key = (example.question, example.context, text)
            if key in seen:
                continue
            seen.add(key)
            pairs.append(
                ReaderPair(
                    example.conversation, example.question, example.context, text, bool(label)
                )
            )
    return pairs


def _lora_config(recipe: ReaderRecipe, layers: int) -> Any:
    from peft import LoraConfig, TaskType

    return LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=recipe.rank,
        lora_alpha=recipe.alpha,
        lora_dropout=0.05,
        target_modules=recipe.targets,
        layers_to_transform=list(range(layers - recipe.trained_layers, layers)),
        layers_pattern="layer",
        # The pooler was never trained for this (the embedder mean-pools), so it trains whole.
        modules_to_save=["classifier", "pooler"],
    )


def load_base(base: Path) -> tuple[Any, Any]:
    """(tokenizer, one-logit classifier) from the packaged embedder folder, local files only."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=1, local_files_only=True
    )
    return tokenizer, model


class CrossEncoderReader:
    """A trained reader: scores each chunk against a question (a logit: > 0 answers)."""

    def __init__(self, tokenizer: Any, model: Any, recipe: ReaderRecipe) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.recipe = recipe

    def scores(self, question: str, context: str, chunks: Sequence[str]) -> np.ndarray:
        if not chunks:
            return np.zeros(0)
        import torch

        first = question_text(question, context, self.recipe.context_words)
        # Longest first, not only the passage: at short lengths (the sentence reader's 64
        # tokens) a long question alone fills the budget and "only_second" fails.
        batch = self.tokenizer(
            [first] * len(chunks),
            list(chunks),
            truncation="longest_first",
            max_length=self.recipe.max_length,
            padding=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            logits = self.model(**batch).logits[:, 0]
        return logits.float().numpy().astype(np.float64)


def train_reader(
    pairs: Sequence[ReaderPair],
    base: Path,
    recipe: ReaderRecipe,
    log: Callable[[str], None] = print,
) -> tuple[CrossEncoderReader, float]:
    """A reader trained on `pairs`, and its seconds per training step."""
    import torch
    from peft import get_peft_model

    if not any(p.answers for p in pairs) or all(p.answers for p in pairs):
        raise InputError("the reader needs pairs that answer and pairs that do not")
    torch.manual_seed(recipe.seed)
    random.seed(recipe.seed)
    tokenizer, base_model = load_base(base)
    layers = base_model.config.num_hidden_layers
    model = get_peft_model(base_model, _lora_config(recipe, layers))
    bert = model.base_model.model.bert
    frozen = layers - recipe.trained_layers

    cached = _lower_layers(tokenizer, bert, pairs, recipe, frozen)
    labels = torch.tensor([float(p.answers) for p in pairs])
    positives = float(labels.sum())
    # Answering chunks are ~1 in 8: weigh them up so the logit is not pushed to "never".
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor((len(pairs) - positives) / positives)
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=recipe.learning_rate, weight_decay=0.01)
    order = list(range(len(pairs)))
    steps = recipe.epochs * ((len(order) + recipe.batch_size - 1) // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=recipe.learning_rate, total_steps=steps, pct_start=0.1
    )
    # Dropout stays off: on CPU the attention dropout takes a path that doubles a step's time,
    # and two epochs of a small adapter do not need it (weight decay regularises).
    model.eval()
    started, step = time.perf_counter(), 0
    for epoch in range(recipe.epochs):
        random.shuffle(order)
        total = 0.0
        for start in range(0, len(order), recipe.batch_size):
            index = order[start : start + recipe.batch_size]
            logits = _upper_forward(model, bert, [cached[i] for i in index], frozen)
            loss = loss_fn(logits, labels[index])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            total += loss.item() * len(index)
            step += 1
        log(f"reader epoch {epoch + 1}/{recipe.epochs}: loss {total / len(order):.4f}")
    per_step = (time.perf_counter() - started) / max(step, 1)
    return CrossEncoderReader(tokenizer, model, recipe), per_step


def _lower_layers(
    tokenizer: Any, bert: Any, pairs: Sequence[ReaderPair], recipe: ReaderRecipe, frozen: int
) -> list[tuple[Any, Any]]:
    """Each pair's (hidden states after the frozen layers, token mask), unpadded."""
    import torch

    out: list[tuple[Any, Any]] = [None] * len(pairs)  # type: ignore[list-item]
    by_length = sorted(range(len(pairs)), key=lambda i: len(pairs[i].chunk))
    bert.eval()
    with torch.inference_mode():
        for start in range(0, len(by_length), 64):
            index = by_length[start : start + 64]
            batch = tokenizer(
                [
                    question_text(pairs[i].question, pairs[i].context, recipe.context_words)
                    for i in index
                ],
                [pairs[i].chunk for i in index],
                truncation="longest_first",
                max_length=recipe.max_length,
                padding=True,
                return_tensors="pt",
            )
            hidden = bert.embeddings(
                input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"]
            )
            mask = _mask(bert, batch["attention_mask"], hidden)
            for layer in bert.encoder.layer[:frozen]:
                hidden = layer(hidden, attention_mask=mask)
                hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            lengths = batch["attention_mask"].sum(dim=1)
            for row, i in enumerate(index):
                n = int(lengths[row])
                out[i] = (hidden[row, :n].clone(), batch["attention_mask"][row, :n].clone())
    return out


def _mask(bert: Any, attention_mask: Any, hidden: Any) -> Any:
    masks = bert._create_attention_masks(
        attention_mask=attention_mask,
        encoder_attention_mask=None,
        embedding_output=hidden,
        encoder_hidden_states=None,
        cache=None,
        position_ids=None,
    )
    return masks[0]


def _upper_forward(model: Any, bert: Any, items: Sequence[tuple[Any, Any]], frozen: int) -> Any:
    """The classifier's logits from cached lower-layer states: the adapted layers, the pooler
    and the head, as the full model computes them."""
    import torch

    width = max(len(h) for h, _ in items)
    hidden = torch.zeros(len(items), width, items[0][0].shape[-1])
    attention = torch.zeros(len(items), width, dtype=torch.long)
    for row, (h, m) in enumerate(items):
        hidden[row, : len(h)] = h
        attention[row, : len(m)] = m
    mask = _mask(bert, attention, hidden)
    for layer in bert.encoder.layer[frozen:]:
        hidden = layer(hidden, attention_mask=mask)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    pooled = bert.pooler(hidden)
    classifier_model = model.base_model.model
    pooled = classifier_model.dropout(pooled)
    return classifier_model.classifier(pooled)[:, 0]
