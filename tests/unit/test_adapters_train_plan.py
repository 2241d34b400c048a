"""The training loop's pure parts: batch order (what makes resuming exact), schedule, padding."""

from __future__ import annotations

import pytest
import torch

from assistant.errors import InputError
from assistant.training.lora_training import (
    IGNORE,
    Encoded,
    batch_indices,
    check_target_modules,
    collate,
    lr_factor,
)


def test_batch_order_is_a_function_of_seed_and_step() -> None:
    first = [batch_indices(step, 50, 8, seed=0) for step in range(12)]
    again = [batch_indices(step, 50, 8, seed=0) for step in range(12)]
    assert first == again
    assert first != [batch_indices(step, 50, 8, seed=1) for step in range(12)]


def test_each_epoch_sees_distinct_examples_in_a_new_order() -> None:
    epoch = [i for step in range(6) for i in batch_indices(step, 50, 8, seed=0)]
    assert len(epoch) == len(set(epoch)) == 48
    assert batch_indices(6, 50, 8, seed=0) != batch_indices(0, 50, 8, seed=0)


def test_the_schedule_warms_up_then_decays_to_a_tenth() -> None:
    assert lr_factor(0, warmup=10, total=100) == pytest.approx(0.1)
    assert lr_factor(9, warmup=10, total=100) == pytest.approx(1.0)
    assert lr_factor(10, warmup=10, total=100) == pytest.approx(1.0)
    assert lr_factor(100, warmup=10, total=100) == pytest.approx(0.1)


def test_a_continued_run_warms_up_again_then_rejoins_the_cosine() -> None:
    uninterrupted = lr_factor(60, warmup=10, total=100)
    assert lr_factor(50, warmup=10, total=100, start=50) == pytest.approx(
        0.1 * lr_factor(50, 10, 100)
    )
    assert lr_factor(60, warmup=10, total=100, start=50) == pytest.approx(uninterrupted)
    assert lr_factor(100, warmup=10, total=100, start=50) == pytest.approx(0.1)


def test_padding_is_never_learned() -> None:
    batch = collate([Encoded([1, 2, 3], [IGNORE, 2, 3]), Encoded([4], [4])], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 2, 3], [4, IGNORE, IGNORE]]
    assert torch.equal(batch["attention_mask"], torch.tensor([[1, 1, 1], [1, 0, 0]]))


class _Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q_proj = torch.nn.Linear(2, 2)
        self.up_proj = torch.nn.Linear(2, 2)
        self.norm = torch.nn.LayerNorm(2)


def test_target_modules_must_name_linear_layers_of_the_base() -> None:
    base = torch.nn.Sequential(_Block(), _Block())
    check_target_modules(base, ["q_proj", "up_proj"])
    with pytest.raises(InputError, match=r"No linear layer named gate_proj, norm.*q_proj, up_proj"):
        check_target_modules(base, ["q_proj", "gate_proj", "norm"])
