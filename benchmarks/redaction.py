"""Redaction: what the interaction log's built-in redactor masks, what it leaves, how fast.

    python benchmarks/redaction.py [--cases tests/data/redaction_cases.json] [--kb 100]

Both redactors run on the same cases in the same process: `new` is the library's
`redact_personal_data`; `old` is the pattern set it replaced (e-mails, cards of digits grouped
by spaces or hyphens, any run of 9 or more digits as a phone number), kept here as the baseline.

The cases (tests/data/redaction_cases.json, the unit test's table too) are real-format personal
data (`pii`: IBANs of several countries, cards with each separator, phone numbers in national
and international forms, e-mails, passport numbers) and look-alikes that must stay (`keep`:
order numbers, dates, versions, amounts, ISBNs, UUIDs, tracking numbers, ...; each names the
kind it resembles). Recall of a kind: share of its strings that are gone from the output.
Precision of a kind: its strings removed / (those + look-alikes of that kind that were
altered). The table's `held_out` part, written after the redactor and never tuned on, is
scored apart: the first table measures what the redactor was built to, the second how it
generalises. Throughput: a realistic mixed message repeated to --kb kB, and hostile inputs of
that size (long runs of digits, `@`s, separators) that make a backtracking pattern quadratic;
the old set is timed on a tenth of the size where it would take minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.interaction_log import redact_personal_data

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "data" / "redaction_cases.json"

Redactor = Callable[[str], str]

# --- the baseline: the redactor before issue 33 -----------------------------------------------

_OLD_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_OLD_CARD = re.compile(r"(?<![\w-])[1-9](?:[ -]?\d){12,18}(?![\w-])")
_OLD_PHONE = re.compile(r"(?<![\w+])[+(]?\d(?:[ .()-]{0,2}\d)+\)?(?!\w)")


def old_redactor(text: str) -> str:
    text = _OLD_EMAIL.sub("[email]", text)
    text = _OLD_CARD.sub("[card]", text)
    return _OLD_PHONE.sub(
        lambda m: "[phone]" if sum(ch.isdigit() for ch in m.group()) >= 9 else m.group(), text
    )


REDACTORS: dict[str, Redactor] = {"old": old_redactor, "new": redact_personal_data}

# --- precision and recall ---------------------------------------------------------------------


@dataclass
class Counts:
    cases: int = 0
    found: int = 0  # pii strings gone from the output
    altered: int = 0  # look-alikes of this kind changed

    def recall(self) -> float:
        return self.found / self.cases if self.cases else float("nan")

    def precision(self) -> float:
        flagged = self.found + self.altered
        return self.found / flagged if flagged else float("nan")


def score(redact: Redactor, cases: dict[str, list[dict[str, str]]]) -> dict[str, Counts]:
    by_kind: dict[str, Counts] = {}
    for case in cases["pii"]:
        counts = by_kind.setdefault(case["kind"], Counts())
        counts.cases += 1
        counts.found += case["value"] not in redact(case["text"])
    for case in cases["keep"]:
        counts = by_kind.setdefault(case["like"], Counts())
        counts.altered += redact(case["text"]) != case["text"]
    total = Counts()
    for counts in by_kind.values():
        total.cases += counts.cases
        total.found += counts.found
        total.altered += counts.altered
    return {**dict(sorted(by_kind.items())), "all": total}


def altered_look_alikes(redact: Redactor, cases: dict[str, list[dict[str, str]]]) -> list[str]:
    return [c["text"] for c in cases["keep"] if redact(c["text"]) != c["text"]]


# --- throughput -------------------------------------------------------------------------------

MESSAGE = (
    "Hi, I'm jane.doe@example.com. Order #123456789 from 2024-01-15 (invoice INV-2024-000123, "
    "EUR 1,234.56) never arrived; tracking 1Z999AA10123456784. Please refund to "
    "DE89 3704 0044 0532 0130 00 or card 4111-1111-1111-1111, or call +44 20 7946 0958. "
    "App v2.10.0 on Android 14. "
)


def inputs(size: int) -> dict[str, str]:
    """A realistic message and hostile ones, each about `size` characters."""
    return {
        "support message": (MESSAGE * (size // len(MESSAGE) + 1))[:size],
        "digits, then a letter": "1" * size + "x",
        "digits and spaces": "1 " * (size // 2) + "x",
        "digits and hyphens": "1-" * (size // 2),
        "letters, no @": "a" * size,
        "a@a@a@...": "a@" * (size // 2),
        "card-like groups": "4111 " * (size // 5),
    }


def seconds(redact: Redactor, text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        redact(text)
        best = min(best, time.perf_counter() - started)
    return best


def print_scores(title: str, cases: dict[str, list[dict[str, str]]]) -> None:
    scores = {name: score(redact, cases) for name, redact in REDACTORS.items()}
    print(f"{title}: {len(cases['pii'])} personal-data strings, {len(cases['keep'])} look-alikes")
    print(
        "\n| kind | cases | look-alikes | old recall | old precision | new recall | new precision |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    looks = {k: sum(c["like"] == k for c in cases["keep"]) for k in scores["new"]}
    looks["all"] = len(cases["keep"])
    for kind in scores["new"]:
        old, new = scores["old"][kind], scores["new"][kind]
        print(
            f"| {kind} | {new.cases} | {looks[kind]} | {old.recall():.2f} | "
            f"{old.precision():.2f} | {new.recall():.2f} | {new.precision():.2f} |"
        )
    for name, redact in REDACTORS.items():
        changed = altered_look_alikes(redact, cases)
        missed = [c["text"] for c in cases["pii"] if c["value"] in redact(c["text"])]
        print(f"\n{name}: look-alikes altered: {len(changed)}, personal data missed: {len(missed)}")
        for text in changed:
            print(f"  - altered {text!r} -> {redact(text)!r}")
        for text in missed:
            print(f"  - missed {text!r} -> {redact(text)!r}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--kb", type=int, default=100, help="Size of the timed inputs in kB.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = json.loads(args.cases.read_text(encoding="utf-8"))

    print_scores("the table (the unit test's)", cases)
    print_scores("held out (written after the redactor, not tuned on)", cases["held_out"])

    size = args.kb * 1000
    print(f"| input ({args.kb} kB; old on {args.kb / 10:g} kB) | old MB/s | new MB/s |")
    print("|---|---:|---:|")
    small = inputs(size // 10)
    for name, text in inputs(size).items():
        new_s = seconds(redact_personal_data, text, args.repeats)
        old_s = seconds(old_redactor, small[name], 1)
        old_rate = len(small[name]) / old_s / 1e6
        print(f"| {name} | {old_rate:.3g} | {len(text) / new_s / 1e6:.3g} |")


if __name__ == "__main__":
    main()
