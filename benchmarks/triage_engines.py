"""Triage engines side by side: accuracy and tickets/s on the same BANKING77 dev tickets.

The tickets are the dev hold-out (the hash split no engine is fitted or trained on), drawn
with a seed. Each engine reads them one at a time through the callable every triage command
uses (`assistant.triage.engines`), in this process:

- `classifier`: embeddings + logistic regression, fitted here on the train side (or loaded
  from --classifier, a fit-classifier folder);
- `classifier (batched)`: the same model reading all tickets in one call (what a batch
  worker can do);
- `adapter`: the shipped LoRA adapter on the embedded model (slow on CPU: --adapter-limit).

    python benchmarks/triage_engines.py [--n 300] [--seed 0] [--adapter-limit 30]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.knowledge.embedder import load_embedder
from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import build_chat_model
from assistant.policy import shipped_policy
from assistant.settings import Settings
from assistant.triage.classifier import TriageClassifier
from assistant.triage.engines import adapter_triage, classifier_triage
from assistant.triage.examples import LabelledText, is_dev, read_banking77
from assistant.triage.scores import macro_f1

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "banking77_train.jsonl"


def score(
    name: str, read: Callable[[Sequence[str]], list[str]], tickets: list[LabelledText]
) -> str:
    started = time.perf_counter()
    predicted = read([t.text for t in tickets])
    seconds = time.perf_counter() - started
    gold = [t.label for t in tickets]
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
    f1 = macro_f1(gold, list(predicted))
    return f"| {name} | {len(tickets)} | {accuracy:.3f} | {f1:.3f} | {len(tickets) / seconds:.2f} |"


def one_by_one(triage: Callable[[str], object]) -> Callable[[Sequence[str]], list[str]]:
    def read(texts: Sequence[str]) -> list[str]:
        out = []
        for text in texts:
            try:
                out.append(triage(text).category)  # type: ignore[attr-defined]
            except ModelOutputError:
                out.append("(invalid)")
        return out

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier", type=Path, help="A fit-classifier folder to load.")
    parser.add_argument("--adapter-limit", type=int, default=30, help="0: skip the adapter.")
    args = parser.parse_args()

    settings = Settings()
    rows = read_banking77(args.data)
    dev = [r for r in rows if is_dev(r.text)]
    random.Random(args.seed).shuffle(dev)
    tickets = dev[: args.n]
    embedder = load_embedder(settings.embedder)
    if args.classifier:
        classifier = TriageClassifier.load(args.classifier, embedder)
    else:
        classifier = TriageClassifier.fit(
            rows, shipped_policy(), embedder, data_name=args.data.name
        )
    lines = [
        "| engine | tickets | accuracy | macro-F1 | tickets/s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines.append(score("classifier", one_by_one(classifier_triage(classifier, settings)), tickets))
    lines.append(
        score(
            "classifier (batched)",
            lambda texts: [r.result.category for r in classifier.read(texts)],
            tickets,
        )
    )
    if args.adapter_limit:
        adapter = adapter_triage(settings, build_chat_model(settings))
        lines.append(
            score(
                f"adapter ({settings.backend})", one_by_one(adapter), tickets[: args.adapter_limit]
            )
        )
    print("\n".join(lines))
    print(f"\nDev hold-out of {args.data.name}, {args.n} tickets drawn with seed {args.seed}.")


if __name__ == "__main__":
    main()
