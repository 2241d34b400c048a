"""`assistant adapters ...`: build data, train, list and evaluate the LoRA adapters.

Mount with ``app.add_typer(adapters_app, name="adapters")``; ``triage_command`` is a plain
command function to mount as ``assistant triage`` with ``app.command("triage")(...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.errors import AssistantError
from assistant.interfaces.cli.support import clear_errors, load_settings

if TYPE_CHECKING:
    from assistant.evaluation.datasets import Fold
    from assistant.interaction_log import LoggedRow
    from assistant.kinds import Task
    from assistant.knowledge.embedder import Embedder
    from assistant.llm.manifest import BaseModelInfo
    from assistant.policy import TriagePolicy
    from assistant.schemas import ChatExample
    from assistant.settings import Settings
    from assistant.training.labelled import LabelFields
    from assistant.training.logged_judgements import LoggedJudgements
    from assistant.triage.examples import LabelledText
    from assistant.turn.heads import LinearHead

adapters_app = typer.Typer(
    help="LoRA adapters: train, list, evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DEFAULT_DATA_DIR = Path("../shared/data")

DataDir = Annotated[
    Path,
    typer.Option(help="Folder with banking77_train.jsonl and support_qa_dev.jsonl."),
]
HoldOut = Annotated[
    str | None,
    typer.Option(
        help="I/K: leave out the conversations of fold I of K of every --tasks file, to score "
        "them later with `assistant eval answers --fold I/K`."
    ),
]
Logs = Annotated[
    list[Path] | None,
    typer.Option(
        "--log",
        "--from-log",
        help="Interaction log (JSONL or SQLite, e.g. DATA_DIR/interactions.jsonl); its labelled "
        "turns join the data (see build-data); repeatable.",
    ),
]

FromFile = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="Your own labelled tickets (.csv with a header, or .jsonl) instead of BANKING77; "
        "name the columns with --text-field and --label-field.",
    ),
]
TextField = Annotated[str, typer.Option(help="Column/field of --from with the message.")]
LabelField = Annotated[str, typer.Option(help="Column/field of --from with the category.")]
LabelMap = Annotated[
    list[str] | None,
    typer.Option(help="FROM=TO: rename a label of --from, e.g. oos=out_of_scope; repeatable."),
]
OutOfScopeFrom = Annotated[
    list[Path] | None,
    typer.Option(
        help="A file whose rows labelled --out-of-scope-label (CLINC150's `oos` rows) become "
        "`out_of_scope` examples; the policy needs that category; repeatable."
    ),
]
OutOfScopeLabel = Annotated[
    str, typer.Option(help="The label of the out-of-scope rows in --out-of-scope-from.")
]
PolicyFile = Annotated[
    Path | None,
    typer.Option(
        help="Triage policy YAML: categories, priorities, hand-over (default: "
        "ASSISTANT_TRIAGE_POLICY, else the shipped BANKING77 policy)."
    ),
]


def _examples(
    task: Task,
    data_dir: Path,
    logs: list[Path] | None,
    source: Path | None,
    fields: LabelFields,
    policy_file: Path | None,
    out_of_scope: list[Path] | None = None,
    out_of_scope_label: str = "oos",
) -> list[ChatExample]:
    """The examples of ``task`` from --from (or BANKING77), labelled by the policy."""
    from assistant.training.flywheel import build_examples

    policy, rows = _labelled_rows(
        data_dir, source, fields, policy_file, out_of_scope, out_of_scope_label
    )
    return build_examples(task, data_dir, logs or [], rows=rows, policy=policy)


def _labelled_rows(
    data_dir: Path,
    source: Path | None,
    fields: LabelFields,
    policy_file: Path | None,
    out_of_scope: list[Path] | None,
    out_of_scope_label: str,
) -> tuple[TriagePolicy, list[LabelledText] | None]:
    """The policy, and the rows of --from (plus out-of-scope rows) checked against it; None
    for the shipped BANKING77 data under the shipped policy, read as it always was."""
    from assistant.policy import load_policy
    from assistant.training.labelled import read_labelled

    chosen = policy_file or load_settings().triage_policy
    policy = load_policy(chosen)
    if source is None and chosen is None and not out_of_scope:
        return policy, None
    path = source or data_dir / "banking77_train.jsonl"
    rows = read_labelled(
        path,
        fields,
        policy,
        out_of_scope=out_of_scope or [],
        out_of_scope_label=out_of_scope_label,
    )
    return policy, rows


def _fields(text_field: str, label_field: str, label_map: list[str] | None) -> LabelFields:
    from assistant.training.labelled import LabelFields, parse_label_map

    return LabelFields(
        text=text_field, label=label_field, label_map=parse_label_map(label_map or [])
    )


def _read_logs(paths: list[Path], console: Console, *, strict: bool) -> list[LoggedRow]:
    """The rows of every log in `paths`; malformed lines listed (or, `strict`, an error)."""
    from assistant.interaction_log import read_log

    rows = []
    for path in paths:
        contents = read_log(path, strict=strict)
        rows.extend(contents.rows)
        if contents.skipped:
            # Skipped, never dropped: the log is not touched, the line can be fixed and re-read.
            console.print(
                f"[yellow]skipped {len(contents.skipped)} malformed line(s)[/] of {path}:",
                soft_wrap=True,
            )
            for reason in contents.skipped:
                console.print(f"  {escape(reason)}", soft_wrap=True)
    return rows


def _fold(text: str | None) -> Fold | None:
    from assistant.evaluation.datasets import Fold

    return Fold.parse(text) if text is not None else None


def _base_info(settings: Settings) -> BaseModelInfo:
    """Fingerprint of the base model in use (hashes ~0.5 GB: a second or two)."""
    from assistant.llm.manifest import base_model_id, base_model_info
    from assistant.llm.packaged import resolve_model_folder

    folder = resolve_model_folder(settings)
    return base_model_info(folder, base_model_id(folder))


def _task(name: str) -> Task:
    """The task an adapter name trains: `triage` and `escalation`, or a name starting with one."""
    for task in ("triage", "escalation"):
        if name == task or name.startswith(task + "-"):
            return task
    raise typer.BadParameter(
        f"{name!r}: name must be triage or escalation (or start with 'triage-')."
    )


@adapters_app.command("data")
@clear_errors
def data_command(
    name: Annotated[str, typer.Argument(help="triage or escalation.")],
    out: Annotated[Path, typer.Option(help="Folder for NAME.train.jsonl and NAME.dev.jsonl.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    log: Logs = None,
    source: FromFile = None,
    text_field: TextField = "text",
    label_field: LabelField = "label",
    label_map: LabelMap = None,
    policy: PolicyFile = None,
    out_of_scope_from: OutOfScopeFrom = None,
    out_of_scope_label: OutOfScopeLabel = "oos",
) -> None:
    """Write NAME's chat examples as JSONL, split into train and the dev hold-out."""
    from assistant.triage.examples import split, write_examples

    fields = _fields(text_field, label_field, label_map)
    train, dev = split(
        _examples(
            _task(name),
            data_dir,
            log,
            source,
            fields,
            policy,
            out_of_scope_from,
            out_of_scope_label,
        )
    )
    write_examples(train, out / f"{name}.train.jsonl")
    write_examples(dev, out / f"{name}.dev.jsonl")
    Console().print(f"{len(train)} train and {len(dev)} dev examples in {out}")


@adapters_app.command("build-data")
@clear_errors
def build_data_command(
    from_log: Annotated[
        list[Path],
        typer.Option(
            "--from-log",
            help="Interaction log (JSONL or SQLite, e.g. DATA_DIR/interactions.jsonl, or a "
            "review.jsonl with labels added); repeatable.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(help="Folder for triage/escalation .train/.dev.jsonl and review.jsonl."),
    ],
    strict: Annotated[
        bool, typer.Option(help="Stop at a malformed log line instead of skipping it.")
    ] = False,
) -> None:
    """Turn the interaction log's hard cases (thumbs down, hand-overs, removed or unsupported
    citations) into the next training examples; unlabelled ones go to review.jsonl."""
    from assistant.training.flywheel import flywheel_set
    from assistant.triage.examples import split, write_examples

    console = Console()
    rows = _read_logs(from_log, console, strict=strict)
    result = flywheel_set(rows)
    table = Table("case", "turns", title=f"{len(rows)} log rows")
    for case, count in sorted(result.cases.items()):
        table.add_row(case, str(count))
    console.print(table)
    for task, examples in (("triage", result.triage), ("escalation", result.escalation)):
        train, dev = split(examples)
        write_examples(train, out / f"{task}.train.jsonl")
        write_examples(dev, out / f"{task}.dev.jsonl")
        console.print(f"{task}: {len(train)} train and {len(dev)} dev examples")
    review = out / "review.jsonl"
    review.write_text(
        "".join(record.model_dump_json(exclude_none=True) + "\n" for record in result.review),
        encoding="utf-8",
    )
    console.print(f"{len(result.review)} hard case(s) to review in {review}", soft_wrap=True)


@adapters_app.command("train")
@clear_errors
def train_command(
    name: Annotated[str, typer.Argument(help="triage or escalation (or triage-xyz, ...).")],
    steps: Annotated[int, typer.Option(min=1)] = 600,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 5e-4,
    rank: Annotated[int, typer.Option(min=1)] = 8,
    alpha: Annotated[int, typer.Option(min=1)] = 16,
    target_module: Annotated[
        list[str] | None,
        typer.Option(
            help="A layer to adapt, repeatable (default: q_proj k_proj v_proj o_proj); "
            "add gate_proj up_proj down_proj for the MLP."
        ),
    ] = None,
    seed: int = 0,
    out: Annotated[
        Path | None, typer.Option(help="Adapter folder. Default: the shipped adapters/NAME.")
    ] = None,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="Default: <cache_dir>/adapter-checkpoints/NAME.")
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(min=1)] = 50,
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint.")] = True,
    init_from: Annotated[
        Path | None,
        typer.Option(
            help="Go on training this adapter folder (same data and settings) up to --steps "
            "in all, e.g. the shipped adapters/NAME."
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    log: Logs = None,
    source: FromFile = None,
    text_field: TextField = "text",
    label_field: LabelField = "label",
    label_map: LabelMap = None,
    policy: PolicyFile = None,
    out_of_scope_from: OutOfScopeFrom = None,
    out_of_scope_label: OutOfScopeLabel = "oos",
    threads: Annotated[
        int | None, typer.Option(help="Torch threads (default: ASSISTANT_TORCH_THREADS).")
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(help="cpu, cuda or cuda:N (default: the GPU when there is one, else cpu)."),
    ] = None,
) -> None:
    """Train the LoRA adapter NAME on its data (dev hold-out excluded) and save it."""
    from assistant.llm.manifest import Hyperparameters
    from assistant.llm.packaged import resolve_model_folder
    from assistant.policy import load_policy
    from assistant.training.lora_training import TrainOptions, train_adapter
    from assistant.triage.examples import split

    settings = load_settings()
    task = _task(name)
    fields = _fields(text_field, label_field, label_map)
    train, dev = split(
        _examples(
            task, data_dir, log, source, fields, policy, out_of_scope_from, out_of_scope_label
        )
    )
    options = TrainOptions(
        name=name,
        task=task,
        base_folder=resolve_model_folder(settings),
        out_dir=out or settings.adapters_dir / name,
        checkpoint_dir=checkpoint_dir or settings.cache_dir / "adapter-checkpoints" / name,
        checkpoint_every=checkpoint_every,
        resume=resume,
        threads=threads or settings.torch_threads,
        init_from=init_from,
        device=device,
        policy=load_policy(policy or settings.triage_policy),
    )
    hyper = Hyperparameters(
        r=rank, alpha=alpha, learning_rate=lr, batch_size=batch_size, steps=steps, seed=seed
    )
    if target_module:
        hyper.target_modules = list(dict.fromkeys(target_module))
    console = Console()
    console.print(
        f"Training [bold]{name}[/] on {len(train)} examples ({len(dev)} held out), "
        f"{steps} steps of {batch_size}; checkpoints in {options.checkpoint_dir}"
    )
    manifest = train_adapter(options, hyper, train, dev)
    console.print(
        f"Saved {options.out_dir}: {manifest.steps_done}/{steps} steps in "
        f"{manifest.train_seconds:.0f} s, dev loss {manifest.dev_loss}"
    )


def _print_head(console: Console, name: str, head: LinearHead, folder: Path) -> None:
    scores = head.held_out
    shown = ", ".join(f"{k} {v:.3f}" for k, v in (scores.metrics if scores else {}).items())
    confident = "" if head.confident_at is None else f", confident at {head.confident_at:.3f}"
    console.print(
        f"{name}: {len(head.inputs)} inputs, threshold {head.threshold:.3f}{confident}, out of "
        f"fold over {scores.examples if scores else 0} examples: {shown} -> {folder}",
        soft_wrap=True,
    )
    if scores and scores.reliability:
        table = Table(
            "calibrated P", "examples", "predicted", "observed", title=f"{name}: reliability"
        )
        for b in scores.reliability:
            table.add_row(
                f"[{b.low:.1f}, {b.high:.1f})",
                str(b.examples),
                f"{b.predicted:.3f}",
                f"{b.observed:.3f}",
            )
        console.print(table)


@adapters_app.command("fit-judge")
@clear_errors
def fit_judge_command(
    tasks: Annotated[
        list[Path] | None,
        typer.Option(
            help="MTRAG-UN style tasks (question, history, doc_ids, answerability); repeatable."
        ),
    ] = None,
    corpus: Annotated[
        list[Path] | None,
        typer.Option(help="The documents of each --tasks file, in the same order; repeatable."),
    ] = None,
    from_log: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-log",
            help="Interaction log (JSONL or SQLite) or reviewed hard-cases file whose labelled "
            "turns the turn head learns from too, searched again over the configured knowledge "
            "base; repeatable. Without --tasks, the training rows saved beside --base's turn "
            "head stand for the task files.",
        ),
    ] = None,
    log_weight: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Weight of a labelled logged turn in the regression, a task's search counting "
            "1. Default: LOG_WEIGHT of assistant.training.behaviour_fit.",
        ),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(
            help="With --from-log and no --tasks: the judge folder to start from (its turn "
            "rows, chunk and clarify heads). Default: the judge in use (ASSISTANT_JUDGE_DIR, "
            "else HEADS_DIR/judge)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the heads. Default: the judge in use (see --base)."),
    ] = None,
    hold_out: HoldOut = None,
    strict: Annotated[
        bool, typer.Option(help="Stop at a malformed log line instead of skipping it.")
    ] = False,
) -> None:
    """Fit the judge of the graph's grade step (does the search answer, which chunks do, is the
    question too vague) on real labels: task files searched with this project's retriever over
    a fresh index of each corpus, and/or the turns of the team's own log that a customer rated
    or a reviewer labelled (`--from-log`), searched over the team's knowledge base."""
    import shutil

    from assistant.knowledge.embedder import open_embedder
    from assistant.training.behaviour_fit import (
        LOG_WEIGHT,
        collect_judge_examples,
        fit_clarify,
        fit_judge,
        fit_turn,
        save_judge,
    )
    from assistant.training.judge_data import TurnRows
    from assistant.turn.heads import load_head
    from assistant.turn.judgement import CHUNK_HEAD, CLARIFY_HEAD, TURN_HEAD

    tasks, corpus, from_log = tasks or [], corpus or [], from_log or []
    if not tasks and not from_log:
        raise typer.BadParameter("give --tasks with --corpus, --from-log, or both")
    if len(tasks) != len(corpus):
        raise typer.BadParameter("give one --corpus per --tasks file, in the same order")
    fold = _fold(hold_out)
    settings = load_settings()
    console = Console()
    embedder = open_embedder(settings)
    folder = out or settings.judge_folder
    trained_on = [p.name for p in [*tasks, *corpus]]
    clarify = None
    copy_clarify: Path | None = None
    if tasks:
        examples = collect_judge_examples(
            settings, embedder, list(zip(tasks, corpus, strict=True)), hold_out=fold
        )
        turn, chunk, rows = fit_judge(examples, embedder=embedder.name, trained_on=trained_on)
        clarify = fit_clarify(examples, embedder, trained_on=trained_on)
    else:
        start = base or settings.judge_folder
        rows = TurnRows.load(start / TURN_HEAD)
        turn = load_head(start / TURN_HEAD, "judge", embedder=embedder.name)
        chunk = load_head(start / CHUNK_HEAD, "judge", embedder=embedder.name)
        trained_on = list(turn.trained_on)
        if (start / CLARIFY_HEAD).is_dir() and start.resolve() != folder.resolve():
            copy_clarify = start / CLARIFY_HEAD
    if from_log:
        log_rows = _read_logs(from_log, console, strict=strict)
        logged = _logged_judgements(settings, embedder, log_rows)
        console.print(
            f"from the log: {logged.answered} turn(s) labelled answered, {logged.not_answered} "
            f"not answered; {logged.skipped} left out (no query, or nothing found now)"
        )
        if not logged.examples:
            raise typer.BadParameter(
                "the log holds no labelled turn (a rating, a hand-over after an answer, or a "
                "reviewer's `answerable`); nothing to learn from"
            )
        trained_on += [p.name for p in from_log]
        weight = LOG_WEIGHT if log_weight is None else log_weight
        both = rows + TurnRows.of(logged.examples, weight=weight)
        turn = fit_turn(both, embedder=embedder.name, trained_on=trained_on)
    save_judge(turn, chunk, folder, clarify, rows)
    if copy_clarify is not None:
        shutil.copytree(copy_clarify, folder / CLARIFY_HEAD, dirs_exist_ok=True)
    _print_head(console, "turn", turn, folder / "turn")
    _print_head(console, "chunk", chunk, folder / "chunk")
    if clarify is not None:
        _print_head(console, "clarify", clarify, folder / "clarify")
    elif tasks:
        console.print("clarify: no UNDERSPECIFIED task in the task files; no clarify head")


def _logged_judgements(
    settings: Settings, embedder: Embedder, rows: list[LoggedRow]
) -> LoggedJudgements:
    """The log's labelled turns searched again over the configured knowledge base."""
    from assistant.knowledge.sparse import SparseEncoder
    from assistant.knowledge.store import KnowledgeStore
    from assistant.training.logged_judgements import logged_judgements
    from assistant.turn.evidence import EvidenceReader

    with KnowledgeStore.open(settings, embedder=embedder, sparse=SparseEncoder()) as store:
        return logged_judgements(
            rows,
            store,
            EvidenceReader(embedder),
            tenant=settings.tenant,
            k=settings.top_k,
            mode=settings.search_mode,
        )


@adapters_app.command("fit-router")
@clear_errors
def fit_router_command(
    tasks: Annotated[
        list[Path] | None,
        typer.Option(
            help="MTRAG-UN style tasks, all searched (the judge asks the vague ones "
            "which one they mean); repeatable."
        ),
    ] = None,
    clinc: Annotated[
        Path | None, typer.Option(help="CLINC150 rows: small_talk -> reply, oos -> search.")
    ] = None,
    banking: Annotated[
        Path | None, typer.Option(help="BANKING77 rows: human or search by the policy table.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the head. Default: HEADS_DIR/router.")
    ] = None,
    hold_out: HoldOut = None,
) -> None:
    """Fit the decide step's router (search, reply, human) on real labels."""
    from assistant.knowledge.embedder import open_embedder
    from assistant.training.behaviour_fit import collect_router_examples, fit_router

    fold = _fold(hold_out)
    settings = load_settings()
    embedder = open_embedder(settings)
    examples = collect_router_examples(tasks or [], clinc, banking, hold_out=fold)
    named = [p.name for p in [*(tasks or []), *(x for x in (clinc, banking) if x is not None)]]
    head = fit_router(examples, embedder, trained_on=named)
    folder = out or settings.heads_folder / "router"
    head.save(folder)
    _print_head(Console(), "router", head, folder)


@adapters_app.command("fit-small-talk")
@clear_errors
def fit_small_talk_command(
    clinc: Annotated[
        Path, typer.Option(help="CLINC150 rows: the `small_talk` domain's intents are learned.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the head. Default: HEADS_DIR/small_talk.")
    ] = None,
) -> None:
    """Fit the head that tells which small talk a message is (its reply is written for that)."""
    from assistant.knowledge.embedder import open_embedder
    from assistant.training.behaviour_fit import fit_small_talk
    from assistant.training.router_data import small_talk_rows

    settings = load_settings()
    head = fit_small_talk(small_talk_rows(clinc), open_embedder(settings), trained_on=[clinc.name])
    folder = out or settings.heads_folder / "small_talk"
    head.save(folder)
    _print_head(Console(), "small talk", head, folder)


@adapters_app.command("fit-classifier")
@clear_errors
def fit_classifier_command(
    out: Annotated[Path, typer.Option(help="Folder for weights.npz and classifier.json.")],
    source: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "--from",
            help="Labelled tickets (.csv with a header, or .jsonl); default: BANKING77.",
        ),
    ] = None,
    text_field: TextField = "text",
    label_field: LabelField = "label",
    label_map: LabelMap = None,
    policy: PolicyFile = None,
    out_of_scope_from: OutOfScopeFrom = None,
    out_of_scope_label: OutOfScopeLabel = "oos",
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Fit the classifier triage engine (sentence embeddings + logistic regression) on the
    train side of labelled tickets, score it on the dev side, and save it with a manifest."""
    from assistant.knowledge.embedder import open_embedder
    from assistant.policy import load_policy
    from assistant.training.labelled import read_labelled
    from assistant.triage.classifier import TriageClassifier

    settings = load_settings()
    rules = load_policy(policy or settings.triage_policy)
    path = source or data_dir / "banking77_train.jsonl"
    rows = read_labelled(
        path,
        _fields(text_field, label_field, label_map),
        rules,
        out_of_scope=out_of_scope_from or [],
        out_of_scope_label=out_of_scope_label,
    )
    classifier = TriageClassifier.fit(rows, rules, open_embedder(settings), data_name=path.name)
    classifier.save(out)
    dev = classifier.manifest.dev
    scores = (
        f"dev accuracy {dev.accuracy:.3f}, macro-F1 {dev.macro_f1:.3f} over {dev.examples} rows"
        if dev
        else "no dev rows"
    )
    Console().print(
        f"{len(classifier.manifest.labels)} categories of {rules.name!r}, "
        f"{classifier.manifest.train_examples} train rows; {scores} -> {out}",
        soft_wrap=True,
    )


@adapters_app.command("list")
@clear_errors
def list_command(
    vllm_args: Annotated[
        bool, typer.Option("--vllm-args", help="Print only vLLM's LoRA arguments.")
    ] = False,
) -> None:
    """List the adapters, whether each fits the base model in use, and vLLM's arguments."""
    from assistant.llm.registry import AdapterRegistry, check_compatible, vllm_lora_args
    from assistant.llm.vllm_launcher import DEFAULT_MAX_LORAS

    settings = load_settings()
    adapters = AdapterRegistry(settings.adapters_dir).adapters()
    base = _base_info(settings)
    usable = []
    problems = []
    table = Table("adapter", "rank", "steps", "trained on", "status", "folder")
    for info in adapters:
        try:
            check_compatible(info, base)
        except AssistantError as exc:
            status = "[red]refused[/]"
            problems.append(f"{info.name}: {exc}")
        else:
            status = "[green]ok[/]"
            usable.append(info)
        manifest = info.manifest
        table.add_row(
            info.name,
            str(info.rank or "?"),
            str(manifest.steps_done) if manifest else "?",
            manifest.base_model.id if manifest else "?",
            status,
            str(info.folder),
        )
    args = " ".join(vllm_lora_args(usable, max_loras=DEFAULT_MAX_LORAS))
    if vllm_args:
        typer.echo(args)
        return
    console = Console()
    console.print(table)
    for problem in problems:
        # soft_wrap: a long error stays one line that the terminal wraps, easy to grep.
        console.print(f"[red]refused[/] {escape(problem)}", soft_wrap=True)
    console.print(f"vLLM: {args or '(no usable adapter)'}", soft_wrap=True)


@adapters_app.command("eval")
@clear_errors
def eval_command(
    name: Annotated[str, typer.Argument(help="The adapter to evaluate.")],
    limit: Annotated[
        int, typer.Option(min=0, help="Dev examples for the LLM rows; 0 for the whole dev split.")
    ] = 200,
    adapter: Annotated[bool, typer.Option(help="Score the adapter.")] = True,
    base: Annotated[bool, typer.Option(help="Also score the prompted base model.")] = True,
    baseline: Annotated[
        bool, typer.Option(help="Also score embeddings + logistic regression.")
    ] = True,
    save: Annotated[bool, typer.Option(help="Write the scores into the manifest.")] = True,
    markdown: Annotated[
        bool, typer.Option(help="Print a Markdown table (for the README).")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    source: FromFile = None,
    text_field: TextField = "text",
    label_field: LabelField = "label",
    label_map: LabelMap = None,
    policy: PolicyFile = None,
    out_of_scope_from: OutOfScopeFrom = None,
    out_of_scope_label: OutOfScopeLabel = "oos",
) -> None:
    """Score NAME on the dev hold-out against the prompted base model and the cheap baseline."""
    from assistant.llm.manifest import read_manifest, write_manifest
    from assistant.llm.registry import AdapterRegistry
    from assistant.policy import load_policy
    from assistant.training.evaluation_run import run_evaluation
    from assistant.triage.examples import split

    settings = load_settings()
    task = _task(name)
    info = AdapterRegistry(settings.adapters_dir).get(name, _base_info(settings))
    fields = _fields(text_field, label_field, label_map)
    train, dev = split(
        _examples(
            task, data_dir, None, source, fields, policy, out_of_scope_from, out_of_scope_label
        )
    )
    console = Console()
    rows = run_evaluation(
        settings,
        name,
        task,
        train,
        dev,
        limit=limit or None,
        with_adapter=adapter,
        base=base,
        baseline=baseline,
        console=console,
        policy=load_policy(policy or settings.triage_policy),
    )
    if not rows:
        raise typer.BadParameter("Nothing to score: --no-adapter, --no-base and --no-baseline.")
    if markdown:
        lines = [rows[0].columns(), ["---"] * len(rows[0].columns())]
        typer.echo("\n".join("| " + " | ".join(cells) + " |" for cells in lines))
        typer.echo("\n".join("| " + " | ".join(row.cells()) + " |" for row in rows))
    else:
        table = Table(*rows[0].columns(), title=f"{name}: dev hold-out")
        for row in rows:
            table.add_row(*row.cells())
        console.print(table)
    if save:
        manifest = read_manifest(info.folder)
        # Merged, so rows scored in separate runs (base now, adapter later) accumulate.
        manifest.dev_metrics.update({k: v for row in rows for k, v in row.flat().items()})
        write_manifest(info.folder, manifest)
        console.print(f"Scores saved in {info.folder / 'manifest.json'}")


@adapters_app.command("load")
@clear_errors
def load_command(
    name: Annotated[str, typer.Argument(help="Adapter name (a folder in the adapters dir).")],
    base_url: Annotated[str, typer.Option(help="The vLLM server, e.g. http://host:8000/v1.")],
    server_path: Annotated[
        str | None,
        typer.Option(help="The adapter's folder as the server sees it (default: this folder)."),
    ] = None,
) -> None:
    """Load an adapter into a running vLLM server, without a restart (checks the base first)."""
    from assistant.llm.registry import AdapterRegistry
    from assistant.llm.served_adapters import load_adapter

    settings = load_settings()
    info = AdapterRegistry(settings.adapters_dir).get(name, _base_info(settings))
    load_adapter(
        base_url,
        name,
        server_path or str(info.folder),
        api_key=settings.api_key.get_secret_value(),
    )
    Console().print(f"loaded [bold]{name}[/] into {base_url}")


@adapters_app.command("unload")
@clear_errors
def unload_command(
    name: Annotated[str, typer.Argument(help="Adapter name as the server serves it.")],
    base_url: Annotated[str, typer.Option(help="The vLLM server, e.g. http://host:8000/v1.")],
) -> None:
    """Stop serving an adapter on a running vLLM server."""
    from assistant.llm.served_adapters import unload_adapter

    unload_adapter(base_url, name, api_key=load_settings().api_key.get_secret_value())
    Console().print(f"unloaded [bold]{name}[/] from {base_url}")


def triage_command(
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Triage a message: its category, priority and whether a human is needed, by the triage
    engine and policy of the settings (default: the shipped BANKING77 adapter)."""
    clear_errors(_triage)(text, as_json)


def _triage(text: str, as_json: bool) -> None:
    from assistant.errors import InputError
    from assistant.llm.gateway import build_chat_model
    from assistant.triage.engines import build_triage

    if not text.strip():
        raise InputError("Give the message to triage.")
    settings = load_settings()
    result = build_triage(settings, build_chat_model(settings))(text)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    human = "yes" if result.needs_human else "no"
    Console().print(
        f"category [bold]{result.category}[/]  priority [bold]{result.priority}[/]  "
        f"needs a human: [bold]{human}[/]"
    )
