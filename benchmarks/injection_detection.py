"""Injected instructions in documents: precision and recall of the ingest-time detector, and
how much of a real help-center corpus it flags.

    python benchmarks/injection_detection.py [--corpus PATH] [--sample 30]

Sentences: tests/data/injection_sentences.json, written by hand: `injections` (prompt
injections and phishing lines planted in a help center: send a password, a code or card
details anywhere, pay by gift card or crypto, write to or sign in at an outside address, ignore
previous instructions, talk to the AI, role play; some hidden-text style, some in other
languages) and `benign` help-center instructions that must stay ("send us a photo of the
receipt", "enter your password on the sign-in page", "contact your bank"), read with the set's
`own_domains`. The `heldout_` pair was written after the rules were, and never used to change
them: the honest figures.

Corpus: every sentence of the support corpus (/work/shared/data/support_corpus.jsonl, real
government and product help pages with no injection planted), read as ingest reads a chunk
(its documents carry no URL and no domain is configured, so the outside-address rule is off,
as on a first ingest). Each flagged sentence is a false positive unless it reads as one; a
sample is printed to read.

Compared in the same run with the baseline: the check `assistant/turn/instructions.py` made
before the detector (frozen below, as it was at commit aca7055), which looks only for text
addressed to the assistant.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.knowledge.injection import flagged_sentences, injection_reason, own_domains
from assistant.knowledge.sentences import split_sentences

REPO = Path(__file__).resolve().parents[1]
SENTENCES = REPO / "tests" / "data" / "injection_sentences.json"
CORPUS = REPO.parent / "shared" / "data" / "support_corpus.jsonl"

# --- the baseline: turn/instructions.py's patterns before the detector ----------------------

_ADDRESSEE = (
    r"(?:ai|a\.i\.|assistant|chat ?bot|bot|language model|llm|gpt|model|support assistant"
    r"|virtual assistant|ai assistant)"
)
_ORDER = (
    r"(?:ignore|disregard|forget|override|bypass|tell|say|reply|respond|answer|escalate|call"
    r"|reveal|send|output|print|pretend|cite|list)"
)
_BASELINE = [
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}?"
        r"\b(?:instructions?|rules|prompts?|directions|guidelines|everything above|the above"
        r"|previous|prior|earlier|system|the question)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:note|message|attention|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+"
        rf"|an?\s+)?(?:\w+\s+)?{_ADDRESSEE}s?\b|\b(?:dear|hey)\s+{_ADDRESSEE}\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b{_ADDRESSEE}s?\s*[:,]\s*(?:please\s+)?{_ORDER}\b|\bif you are an? {_ADDRESSEE}\b"
        rf"|\b(?:ai|language model|llm|chat ?bot)s?\s+(?:must|should)\s+(?:always\s+|never\s+)?"
        rf"{_ORDER}\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\byou are now (?:in \w+ mode|an? (?:\w+ )?(?:assistant|bot|ai|model))\b"
        r"|\bfrom now on,? you\b|\bnew instructions\b|\bsystem prompt\b|\bdeveloper mode\b"
        r"|\bjailbreak",
        re.IGNORECASE,
    ),
    re.compile(r"^\W*(?:system|assistant|ai|developer)\s*:", re.IGNORECASE),
    re.compile(
        r"\b(?:answer|reply|respond) (?:only )?with (?:one|a single|the) word\b"
        r"|\bin (?:every|each|any|your) (?:answer|reply|response)\b"
        r"|\b(?:always|never) (?:cite|mention|say|answer|reply|respond|escalate)\b"
        r"|\b(?:tell|inform|instruct) the (?:customer|user|caller)s?\b"
        r"|\bwhat should the (?:support )?assistant do\b"
        r"|\bcall the (?:search )?tool\b|\bthe full answer is given\b|\bin passages? \[",
        re.IGNORECASE,
    ),
]


def baseline(sentence: str) -> bool:
    return any(p.search(sentence) for p in _BASELINE)


# --- measuring -------------------------------------------------------------------------------


def scores(
    flags: Callable[[str], bool], positives: Sequence[str], negatives: Sequence[str]
) -> tuple[float, float, list[str], list[str]]:
    """Precision, recall, the positives missed and the negatives flagged."""
    missed = [s for s in positives if not flags(s)]
    wrong = [s for s in negatives if flags(s)]
    found = len(positives) - len(missed)
    precision = found / (found + len(wrong)) if found + len(wrong) else 1.0
    return precision, found / len(positives), missed, wrong


def corpus_sentences(path: Path) -> list[tuple[str, str]]:
    """(doc title, sentence) of every sentence of the corpus, split as `flagged_sentences`
    splits a chunk."""
    out = []
    for line in path.open(encoding="utf-8"):
        record = json.loads(line)
        for paragraph in re.split(r"\n\s*\n|\n", record["text"]):
            out.extend(
                (record["title"] or record["doc_id"], s)
                for s in split_sentences(" ".join(paragraph.split()))
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sample", type=int, default=30, help="flagged corpus sentences shown")
    args = parser.parse_args()

    data = json.loads(args.sentences.read_text(encoding="utf-8"))
    own = own_domains(data["own_domains"])
    checks: dict[str, Callable[[str], bool]] = {
        "baseline (old turn check)": baseline,
        "detector": lambda s: injection_reason(s, own) is not None,
    }
    sets = {
        "written with the rules": (data["injections"], data["benign"]),
        "held out": (data["heldout_injections"], data["heldout_benign"]),
    }
    print("| set | injections | benign | check | precision | recall |")
    print("|---|---|---|---|---|---|")
    misses: dict[str, tuple[list[str], list[str]]] = {}
    for set_name, (positives, negatives) in sets.items():
        for check_name, check in checks.items():
            precision, recall, missed, wrong = scores(check, positives, negatives)
            print(
                f"| {set_name} | {len(positives)} | {len(negatives)} | {check_name} "
                f"| {precision:.3f} | {recall:.3f} |"
            )
            if check_name == "detector":
                misses[set_name] = (missed, wrong)
    for set_name, (missed, wrong) in misses.items():
        for sentence in missed:
            print(f"  {set_name}, missed: {sentence}")
        for sentence in wrong:
            print(f"  {set_name}, flagged benign: {sentence}")

    sentences = corpus_sentences(args.corpus)
    start = time.perf_counter()
    flagged = [(title, s, reason) for title, s in sentences for _, reason in flagged_sentences(s)]
    seconds = time.perf_counter() - start
    base = [s for _, s in sentences if baseline(s)]
    n = len(sentences)
    print()
    print(f"corpus: {args.corpus.name}, {n} sentences ({seconds:.2f} s for the detector)")
    print("| check | sentences flagged | rate |")
    print("|---|---|---|")
    print(f"| baseline (old turn check) | {len(base)} | {len(base) / n:.5f} |")
    print(f"| detector | {len(flagged)} | {len(flagged) / n:.5f} |")
    by_reason: dict[str, int] = {}
    for _, _, reason in flagged:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    print("by reason: " + ", ".join(f"{r}: {c}" for r, c in sorted(by_reason.items())))
    sample = random.Random(0).sample(flagged, min(args.sample, len(flagged)))
    for title, sentence, reason in sample:
        print(f"  [{reason}] {title[:40]!r}: {sentence[:200]}")


if __name__ == "__main__":
    main()
