"""Zero-shot triage against the fitted classifier and the adapter, on BANKING77 and CLINC150.

Zero-shot reads only the policy's words: here each category's name ("card_arrival" -> "card
arrival"), nothing labelled. The classifier is fitted on the train side of the same file (the
hash split); the adapter is the shipped LoRA on the embedded model (slow on a CPU: a few tickets).

- BANKING77: the 77 intents, dev tickets drawn with a seed: accuracy, macro-F1, tickets/s.
- CLINC150: the 150 intents plus `oos` (out of scope), dev rows with up to half of them `oos`:
  the accuracy on in-scope rows, and how well `out_of_scope` is told apart (precision and
  recall of `oos`) at the engine's threshold (zero-shot: `triage_zero_shot_min_similarity`;
  classifier: `triage_min_confidence`).
- The shipped general support policy (`adapters/policies/support.yaml`): the share of BANKING77
  messages (support requests of a product it was not written for) it keeps in scope, and the
  share of CLINC150's `oos` rows it calls out of scope.

    python benchmarks/triage_zero_shot.py [--n 400] [--seed 0] [--adapter-limit 20]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.knowledge.embedder import load_embedder
from assistant.policy import OUT_OF_SCOPE, CategoryPolicy, TriagePolicy, load_policy
from assistant.settings import SHIPPED_ADAPTERS_DIR, Settings
from assistant.triage.classifier import TriageClassifier
from assistant.triage.examples import LabelledText, is_dev
from assistant.triage.scores import macro_f1
from assistant.triage.zero_shot import ZeroShotTriage

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLINC_OOS = "oos"


def read_rows(path: Path) -> list[LabelledText]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            record = json.loads(line)
            label = OUT_OF_SCOPE if record["label"] == CLINC_OOS else record["label"]
            rows.append(LabelledText(record["text"], label, f"{path.name}:{number}"))
    return rows


def names_policy(name: str, labels: Sequence[str], *, out_of_scope: bool) -> TriagePolicy:
    """A policy whose categories are the dataset's label names, nothing else written."""
    categories = {label: CategoryPolicy(priority="normal", needs_human=False) for label in labels}
    if out_of_scope:
        categories[OUT_OF_SCOPE] = CategoryPolicy(priority="low", needs_human=False)
    return TriagePolicy(name=name, categories=categories)


def timed(read: Callable[[list[str]], list[str]], texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    predicted = read(texts)
    return predicted, len(texts) / (time.perf_counter() - started)


def row(name: str, gold: list[str], predicted: list[str], rate: float) -> str:
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
    f1 = macro_f1(gold, predicted)
    return f"| {name} | {len(gold)} | {accuracy:.3f} | {f1:.3f} | {rate:.1f} |"


def oos_row(name: str, gold: list[str], predicted: list[str]) -> str:
    truth = [g == OUT_OF_SCOPE for g in gold]
    said = [p == OUT_OF_SCOPE for p in predicted]
    hits = sum(t and s for t, s in zip(truth, said, strict=True))
    precision = hits / max(1, sum(said))
    recall = hits / max(1, sum(truth))
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != OUT_OF_SCOPE]
    accuracy = sum(g == p for g, p in in_scope) / max(1, len(in_scope))
    return f"| {name} | {len(gold)} | {accuracy:.3f} | {precision:.3f} | {recall:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adapter-limit", type=int, default=20, help="0: skip the adapter.")
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    threshold = settings.triage_zero_shot_min_similarity
    rng = random.Random(args.seed)

    # --- BANKING77 -------------------------------------------------------------------------
    banking = read_rows(args.data / "banking77_train.jsonl")
    dev = [r for r in banking if is_dev(r.text)]
    rng.shuffle(dev)
    tickets = dev[: args.n]
    texts, gold = [t.text for t in tickets], [t.label for t in tickets]
    labels = sorted({r.label for r in banking})
    banking_policy = names_policy("banking77-names", labels, out_of_scope=False)
    zero = ZeroShotTriage(banking_policy, embedder, min_similarity=threshold)
    classifier = TriageClassifier.fit(banking, banking_policy, embedder, data_name="banking77")
    print("BANKING77 (dev tickets)\n")
    print("| engine | tickets | accuracy | macro-F1 | tickets/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, read in (
        ("zero-shot (label names)", zero.read),
        ("classifier (fitted on train)", classifier.read),
    ):
        predicted, rate = timed(lambda ts, read=read: [r.result.category for r in read(ts)], texts)
        print(row(name, gold, predicted, rate))
    if args.adapter_limit:
        from assistant.llm.gateway import build_chat_model
        from assistant.triage.engines import adapter_triage

        # The shipped adapter reads BANKING77's policy, which the settings name for the
        # adapter engine only (unset, the policy in use is the general support one).
        banking_settings = settings.model_copy(update={"triage_engine": "adapter"})
        adapter = adapter_triage(banking_settings, build_chat_model(settings))
        few = texts[: args.adapter_limit]
        predicted, rate = timed(lambda ts: [adapter(t).category for t in ts], few)
        print(row(f"adapter ({settings.backend})", gold[: len(few)], predicted, rate))

    # --- CLINC150 --------------------------------------------------------------------------
    clinc = read_rows(args.data / "clinc150_train.jsonl")
    clinc_dev = [r for r in clinc if is_dev(r.text)]
    rng.shuffle(clinc_dev)
    # oos rows are rare in the file: take as many of them as of the in-scope rows.
    oos_dev = [r for r in clinc_dev if r.label == OUT_OF_SCOPE][: args.n // 2]
    sample = [r for r in clinc_dev if r.label != OUT_OF_SCOPE][: args.n - len(oos_dev)] + oos_dev
    texts, gold = [t.text for t in sample], [t.label for t in sample]
    intents = sorted({r.label for r in clinc} - {OUT_OF_SCOPE})
    clinc_policy = names_policy("clinc150-names", intents, out_of_scope=True)
    zero = ZeroShotTriage(clinc_policy, embedder, min_similarity=threshold)
    fitted = TriageClassifier.fit(clinc, clinc_policy, embedder, data_name="clinc150")
    print(f"\nCLINC150 (dev rows, {sum(g == OUT_OF_SCOPE for g in gold)} of them oos)\n")
    print("| engine | rows | in-scope accuracy | oos precision | oos recall |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(oos_row("zero-shot (label names)", gold, [r.result.category for r in zero.read(texts)]))
    readings = fitted.read(texts)
    unsure = settings.triage_min_confidence
    print(
        oos_row(
            "classifier (oos as a class)",
            gold,
            [r.result.category if r.confidence >= unsure else OUT_OF_SCOPE for r in readings],
        )
    )

    # --- the shipped support policy on messages it was not written for -----------------------
    support = load_policy(SHIPPED_ADAPTERS_DIR / "policies" / "support.yaml")
    zero = ZeroShotTriage(support, embedder, min_similarity=threshold)
    kept = [r.result.category != OUT_OF_SCOPE for r in zero.read([t.text for t in tickets])]
    # Nothing is fitted here: every oos row of the file counts.
    oos_texts = [r.text for r in clinc if r.label == OUT_OF_SCOPE][: args.n]
    dropped = [r.result.category == OUT_OF_SCOPE for r in zero.read(oos_texts)]
    print("\nThe shipped support policy, zero-shot\n")
    print("| messages | n | called out of scope |")
    print("| --- | ---: | ---: |")
    print(f"| BANKING77 support requests | {len(kept)} | {1 - sum(kept) / len(kept):.3f} |")
    print(f"| CLINC150 oos rows | {len(dropped)} | {sum(dropped) / len(dropped):.3f} |")
    print(f"\nzero-shot threshold {threshold}; seed {args.seed}; {args.n} rows per sample.")
    print(f"\nCommand: python benchmarks/triage_zero_shot.py --adapter-limit {args.adapter_limit}")


if __name__ == "__main__":
    main()
