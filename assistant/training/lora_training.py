"""LoRA supervised fine-tuning of the base model on chat examples, resumable, on CPU or GPU.

A plain torch loop rather than transformers' Trainer: the loop is short, its resume logic is
explicit (the batch order is a function of seed and step, so a resumed run sees exactly the
batches an uninterrupted one would), and it has no dependency on accelerate's CPU quirks.
The loss is computed on the assistant reply only: prompt tokens carry the label -100.
"""

from __future__ import annotations

import math
import random
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
from pydantic import BaseModel, Field
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from assistant.errors import InputError
from assistant.llm.manifest import (
    BaseModelInfo,
    ContinuedFrom,
    DataInfo,
    Hyperparameters,
    Manifest,
    base_model_id,
    base_model_info,
    read_manifest,
    sha256_file,
    write_manifest,
)
from assistant.llm.registry import WEIGHTS_FILE
from assistant.policy import TriagePolicy
from assistant.schemas import ChatExample, Task
from assistant.triage.examples import DEV_PERCENT, examples_hash

IGNORE = -100
STATE_FILE = "trainer_state.pt"


class TrainOptions(BaseModel):
    """What a training run needs besides the data and the hyper-parameters."""

    name: str
    task: Task
    base_folder: Path
    out_dir: Path
    checkpoint_dir: Path
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    log_every: int = 10
    resume: bool = True
    threads: int | None = None
    device: str | None = Field(
        default=None, description="cpu, cuda or cuda:N; default: the GPU when there is one."
    )
    dev_loss_examples: int = 64
    progress: bool = True
    init_from: Path | None = None
    policy: TriagePolicy | None = None


@dataclass(frozen=True)
class Encoded:
    """One example as token ids, with the prompt masked out of the labels."""

    input_ids: list[int]
    labels: list[int]


def encode(
    example: ChatExample, tokenizer: PreTrainedTokenizerBase, max_length: int
) -> Encoded | None:
    """Token ids of ``example`` as the chat template renders it; labels only on the reply.

    The prompt is tokenised exactly as inference tokenises it (chat template with the
    generation prompt), and the reply with its end-of-turn token after it, so the model learns
    to stop. None if the whole does not fit in ``max_length`` (cutting would teach a truncated
    reply).
    """
    turns = [turn.model_dump() for turn in example.messages]
    prompt = tokenizer.apply_chat_template(turns[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(turns, tokenize=False)
    assert isinstance(prompt, str) and isinstance(full, str)
    if not full.startswith(prompt):
        raise ValueError("The chat template does not extend the prompt with the reply.")
    # The template ends the turn with "<|im_end|>\n": the newline is not part of the reply.
    reply = full[len(prompt) :].rstrip("\n")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    ids = [*prompt_ids, *reply_ids]
    if len(ids) > max_length:
        return None
    return Encoded(input_ids=ids, labels=[IGNORE] * len(prompt_ids) + list(reply_ids))


def collate(
    batch: Sequence[Encoded], pad_id: int, device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    """Right-padded tensors for a causal-LM forward with labels (on ``device``)."""
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    tensors = {"input_ids": ids, "labels": labels, "attention_mask": mask}
    return {key: value.to(device) for key, value in tensors.items()}


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> list[int]:
    """The example indices of batch ``step`` (0-based): a fresh seeded shuffle each epoch.

    A pure function of its arguments, which is what makes resuming exact.
    """
    per_epoch = max(1, n // batch_size)
    epoch, offset = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    start = offset * batch_size
    return [int(i) for i in order[start : start + batch_size]]


def lr_factor(step: int, warmup: int, total: int, start: int = 0) -> float:
    """Linear warm-up from ``start``, then cosine decay to 10% of the peak rate at ``total``.

    A run continued from a trained adapter (``start`` > 0) warms up again, because its
    optimizer starts without moment estimates, and then follows the same cosine as one
    uninterrupted run of ``total`` steps.
    """
    ramp = min(1.0, (step - start + 1) / warmup)
    progress = min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))
    return ramp * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def training_device(wanted: str | None) -> torch.device:
    """The device to train on: ``wanted``, else the first GPU when there is one, else the CPU."""
    if wanted is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError as exc:
        raise InputError(f"Unknown training device {wanted!r}: use cpu, cuda or cuda:N.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"Training device {wanted!r} asked for, but torch sees no CUDA GPU here.")
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"Training device {wanted!r} is not supported: use cpu, cuda or cuda:N.")
    return device


def check_target_modules(base: torch.nn.Module, wanted: Sequence[str]) -> None:
    linear = {
        name.rsplit(".", 1)[-1]
        for name, module in base.named_modules()
        if isinstance(module, torch.nn.Linear)
    }
    if unknown := sorted(set(wanted) - linear):
        raise InputError(
            f"No linear layer named {', '.join(unknown)} in the base model; "
            f"it has {', '.join(sorted(linear))}."
        )


def train_adapter(
    options: TrainOptions,
    hyper: Hyperparameters,
    train: Sequence[ChatExample],
    dev: Sequence[ChatExample],
) -> Manifest:
    """Train a LoRA adapter on ``train`` and save it (peft folder + manifest) in ``out_dir``.

    Resumes from the newest checkpoint in ``checkpoint_dir`` when ``options.resume`` is set.
    With ``options.init_from`` (a trained adapter of the same rank, modules and data) it starts
    from that adapter's weights at its ``steps_done``, so the batches go on where that run
    stopped and ``hyper.steps`` is the total over both runs; the optimizer state starts fresh.
    Interrupted (Ctrl-C or SIGTERM), it saves a checkpoint and still writes the adapter as far
    as it got, with ``steps_done`` in the manifest saying how far that is.
    """
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    device = training_device(options.device)
    _seed_everything(hyper.seed)
    tokenizer = AutoTokenizer.from_pretrained(options.base_folder)
    base = AutoModelForCausalLM.from_pretrained(options.base_folder, dtype=torch.float32)
    check_target_modules(base, hyper.target_modules)
    lora = LoraConfig(
        r=hyper.r,
        lora_alpha=hyper.alpha,
        lora_dropout=hyper.dropout,
        target_modules=list(hyper.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora).to(device)
    encoded = [e for e in (encode(x, tokenizer, hyper.max_length) for x in train) if e]
    if not encoded:
        raise ValueError("No training example fits in max_length; raise it.")
    # Hashed once (half a gigabyte of weights): the start check and the manifest both need it.
    base_info = base_model_info(options.base_folder, base_model_id(options.base_folder))
    data_sha256 = examples_hash(train)
    state = _TrainState()
    continued = None
    if options.init_from is not None:
        state, continued = _init_from(options.init_from, model, hyper, base_info, data_sha256)
    start = state.step
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=hyper.learning_rate, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        # The scheduler counts from 0 in this run, the plan in steps over both runs.
        optimizer,
        lambda s: lr_factor(start + s, hyper.warmup_steps, hyper.steps, start),
    )
    if options.resume and (last := latest_checkpoint(options.checkpoint_dir)) is not None:
        state = _load_checkpoint(last, model, optimizer, scheduler, device)

    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    started = time.monotonic() - state.seconds
    window: list[float] = []
    model.train()
    try:
        with _sigterm_as_interrupt(), _progress(options.progress) as progress:
            task_id = progress.add_task(
                options.name, total=hyper.steps, completed=state.step, loss=float("nan")
            )
            while state.step < hyper.steps:
                batch = [
                    encoded[i]
                    for i in batch_indices(state.step, len(encoded), hyper.batch_size, hyper.seed)
                ]
                loss = model(**collate(batch, pad_id, device)).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                window.append(float(loss.detach()))
                if state.step % options.log_every == 0 or state.step == hyper.steps:
                    state.curve.append((state.step, round(sum(window) / len(window), 4)))
                    window = []
                    if not progress.console.is_terminal:
                        # No live bar in a log file: a line per logged point instead.
                        elapsed = time.monotonic() - started
                        progress.console.print(
                            f"step {state.step}/{hyper.steps} loss {state.curve[-1][1]:.4f} "
                            f"elapsed {elapsed:.0f} s"
                        )
                progress.update(task_id, completed=state.step, loss=window_loss(state, window))
                if state.step % options.checkpoint_every == 0:
                    state.seconds = time.monotonic() - started
                    _save_checkpoint(options, model, optimizer, scheduler, state)
    except KeyboardInterrupt:
        interrupted = True
        state.seconds = time.monotonic() - started
        _save_checkpoint(options, model, optimizer, scheduler, state)
    else:
        interrupted = False
    state.seconds = time.monotonic() - started

    model.eval()
    dev_loss = None
    if not interrupted:
        # Skipped when interrupted: whoever stops a run wants it to stop now.
        dev_encoded = [e for e in (encode(x, tokenizer, hyper.max_length) for x in dev) if e]
        dev_loss = mean_loss(model, dev_encoded[: options.dev_loss_examples], pad_id, device)
    manifest = Manifest(
        name=options.name,
        task=options.task,
        base_model=base_info,
        data=DataInfo(
            sha256=data_sha256,
            train_examples=len(encoded),
            dev_examples=len(dev),
            dev_percent=DEV_PERCENT,
        ),
        policy=options.policy,
        hyperparameters=hyper,
        continued_from=continued,
        steps_done=state.step,
        train_seconds=round(state.seconds, 1),
        loss_curve=state.curve,
        dev_loss=None if dev_loss is None else round(dev_loss, 4),
        versions=_versions(),
        trained_on=_device_name(device),
    )
    save_adapter(model, options.out_dir, manifest)
    return manifest


def window_loss(state: _TrainState, window: list[float]) -> float:
    """The loss to show: the running window, else the last logged point."""
    if window:
        return sum(window) / len(window)
    return state.curve[-1][1] if state.curve else float("nan")


def mean_loss(
    model: PeftModel, examples: Sequence[Encoded], pad_id: int, device: torch.device
) -> float | None:
    """Mean reply-token loss over ``examples`` (teacher-forced), or None if there are none."""
    if not examples:
        return None
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), 16):
            batch = examples[start : start + 16]
            total += float(model(**collate(batch, pad_id, device)).loss) * len(batch)
            count += len(batch)
    return total / count


def save_adapter(model: PeftModel, out_dir: Path, manifest: Manifest) -> None:
    """Write the peft folder (adapter_config.json + adapter_model.safetensors) and manifest.

    The config's ``base_model_name_or_path`` is set to the base's id, not this machine's cache
    path: the folder is shipped, and vLLM takes the base from its own ``--model``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for config in model.peft_config.values():
        config.base_model_name_or_path = manifest.base_model.id
    _save_weights(model, out_dir)
    _halve_weights(out_dir / WEIGHTS_FILE)
    # peft writes a template model card; the adapters are documented in adapters/README.md.
    (out_dir / "README.md").unlink(missing_ok=True)
    write_manifest(out_dir, manifest)


# --- checkpoints ------------------------------------------------------------------------


@dataclass
class _TrainState:
    step: int = 0
    seconds: float = 0.0
    curve: list[tuple[int, float]] = field(default_factory=list)


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest complete checkpoint folder (``step-NNNNNN``), or None."""
    if not checkpoint_dir.is_dir():
        return None
    done = [p for p in checkpoint_dir.glob("step-*") if (p / STATE_FILE).is_file()]
    return max(done, key=lambda p: p.name, default=None)


def _init_from(
    folder: Path,
    model: PeftModel,
    hyper: Hyperparameters,
    base: BaseModelInfo,
    data_sha256: str,
) -> tuple[_TrainState, ContinuedFrom]:
    """Load the adapter in ``folder`` into ``model``; its progress is the start state."""
    manifest = read_manifest(folder)
    if manifest.base_model.weights_sha256 != base.weights_sha256:
        raise InputError(f"Cannot continue {folder}: it was trained on another base model.")
    mismatched = [
        key
        for key in ("r", "alpha", "target_modules", "batch_size", "seed", "max_length")
        if getattr(manifest.hyperparameters, key) != getattr(hyper, key)
    ]
    if mismatched:
        raise InputError(
            f"Cannot continue {folder}: it was trained with other {', '.join(mismatched)}."
        )
    if manifest.data.sha256 != data_sha256:
        raise InputError(f"Cannot continue {folder}: it was trained on other data.")
    if manifest.steps_done >= hyper.steps:
        raise InputError(
            f"{folder} already has {manifest.steps_done} steps; ask for more than that."
        )
    weights_file = folder / WEIGHTS_FILE
    set_peft_model_state_dict(model, load_file(str(weights_file)))
    state = _TrainState(
        step=manifest.steps_done,
        seconds=manifest.train_seconds,
        curve=list(manifest.loss_curve),
    )
    origin = ContinuedFrom(
        steps_done=manifest.steps_done,
        weights_sha256=sha256_file(weights_file),
        created=manifest.created,
    )
    return state, origin


def _save_checkpoint(
    options: TrainOptions,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: _TrainState,
) -> None:
    target = options.checkpoint_dir / f"step-{state.step:06d}"
    if (target / STATE_FILE).is_file():
        return
    tmp = options.checkpoint_dir / f".{target.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _save_weights(model, tmp)
    torch.save(
        {
            "step": state.step,
            "seconds": state.seconds,
            "curve": state.curve,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        },
        tmp / STATE_FILE,
    )
    # Renamed only when complete, so a kill mid-save never leaves a checkpoint that looks whole.
    tmp.rename(target)
    old = sorted(p for p in options.checkpoint_dir.glob("step-*") if p != target)
    for stale in old[: max(0, len(old) - options.keep_checkpoints + 1)]:
        shutil.rmtree(stale, ignore_errors=True)


def _load_checkpoint(
    folder: Path,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
) -> _TrainState:
    weights = load_file(str(folder / WEIGHTS_FILE))
    set_peft_model_state_dict(model, weights)
    # A checkpoint written on a GPU resumes on a CPU and the other way round.
    saved: dict[str, Any] = torch.load(folder / STATE_FILE, weights_only=False, map_location=device)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    curve = [(int(s), float(v)) for s, v in saved["curve"]]
    return _TrainState(step=int(saved["step"]), seconds=float(saved["seconds"]), curve=curve)


# --- helpers ----------------------------------------------------------------------------


def _save_weights(model: PeftModel, folder: Path) -> None:
    # The embeddings are not trained, and peft would otherwise try to reach the hub to find
    # out whether they were resized (no network here, nor in CI).
    model.save_pretrained(str(folder), safe_serialization=True, save_embedding_layers=False)


def _halve_weights(weights_file: Path) -> None:
    # The shipped folder is committed: float16 halves it, and both vLLM and peft cast the
    # weights to the model's dtype on load. Checkpoints stay float32 so a resume is exact.
    tensors = load_file(str(weights_file))
    save_file(
        {name: tensor.to(torch.float16) for name, tensor in tensors.items()},
        str(weights_file),
        metadata={"format": "pt"},
    )


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while training, so `kill PID` checkpoints before exiting."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous: Callable[[int, FrameType | None], Any] | int | None = signal.signal(
            signal.SIGTERM, handler
        )
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
    with progress:
        yield progress


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def _versions() -> dict[str, str]:
    import peft
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }
