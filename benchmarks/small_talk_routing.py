"""How often the decide step replies to something that is not small talk, before and after the
whole-message rule (issue 31, item 4), in one run over the same messages.

- before: the shipped router's `reply` alone (`FittedRouter.route`).
- after: the router's `reply`, and the message small talk as a whole
  (`assistant.turn.small_talk.is_small_talk`: its words, a confident small-talk reading, a
  question about the assistant that speaks to it); anything else is searched.

False positives (replied to, should have been searched): every task question of the MTRAG-UN
dev files (after its previous user turn, as the graph routes it), and CLINC150's rows outside
the `small_talk` domain (135 intents and `oos`). Small talk kept: CLINC150's `small_talk` rows
(the 15 intents the small-talk head was fitted on) and a few short greetings, thanks and
goodbyes written here. The shipped router was fitted on the task files and on 12 rows per CLINC
intent, so those figures are partly in-sample; the rule itself has no fitted weights.

    python benchmarks/small_talk_routing.py [--data ../shared/data] [--per-intent N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from assistant.knowledge.embedder import load_embedder
from assistant.settings import SHIPPED_ADAPTERS_DIR, Settings
from assistant.triage.support_qa import load_support_qa
from assistant.turn.routing import FittedRouter
from assistant.turn.small_talk import SmallTalk, reads_as_small_talk
from assistant.wording import small_talk_as_a_whole

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TASK_FILES = ("support_qa_dev.jsonl", "behaviour_tasks.jsonl")
REPLY = "reply"
SHORT_SMALL_TALK = (
    "Hello!",
    "hi",
    "hey there",
    "Good morning",
    "Hi, how are you?",
    "Thanks",
    "thank you so much",
    "thanks a lot, that helped",
    "bye",
    "goodbye",
    "see you later",
    "ok thanks bye",
    "Are you a bot?",
    "What is your name?",
)
# Questions of help centers none of the data is from, that read like small talk.
PRODUCT_QUESTIONS = (
    "What happens when everyone leaves home in Eco mode?",
    "Who made the firmware update?",
    "How old does my battery have to be before I replace it?",
    "Where is my parcel coming from?",
)


def clinc_rows(path: Path, per_intent: int) -> list[tuple[str, str, str]]:
    """(text, label, domain) of CLINC150, at most `per_intent` rows per label (0: all)."""
    kept: dict[str, int] = defaultdict(int)
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if per_intent and kept[record["label"]] >= per_intent:
                continue
            kept[record["label"]] += 1
            rows.append((record["text"], record["label"], record["domain"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-intent", type=int, default=0, help="CLINC rows per label; 0: all")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    router = FittedRouter.load(SHIPPED_ADAPTERS_DIR / "router", embedder)
    small_talk = SmallTalk.load(SHIPPED_ADAPTERS_DIR / "small_talk", embedder)

    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)  # group -> (message, context)
    for name in TASK_FILES:
        for q in load_support_qa(args.data / name):
            groups[f"tasks: {name}"].append((q.question, q.previous_question))
    for text, label, domain in clinc_rows(args.data / "clinc150_train.jsonl", args.per_intent):
        if domain == "small_talk":
            groups["small talk: CLINC150 small_talk (15 intents)"].append((text, ""))
        elif label == "oos":
            groups["CLINC150 oos"].append((text, ""))
        else:
            groups["CLINC150 other intents (135)"].append((text, ""))
    groups["small talk: short greetings, thanks, goodbyes"] = [(m, "") for m in SHORT_SMALL_TALK]
    groups["product questions written here"] = [(m, "") for m in PRODUCT_QUESTIONS]

    print("| messages | n | before: replied | after: replied |")
    print("| --- | ---: | ---: | ---: |")
    wrong_before = wrong_after = total = 0
    shown: list[str] = []
    for group, pairs in groups.items():
        messages = [m for m, _ in pairs]
        routed = router.route_many(messages, [c for _, c in pairs])
        replied = [m for m, label in zip(messages, routed, strict=True) if label == REPLY]
        whole = [m for m in replied if small_talk_as_a_whole(m)]
        readings = small_talk.readings(whole) if whole else []
        kept = [m for m, r in zip(whole, readings, strict=True) if reads_as_small_talk(m, r)]
        n = len(messages)
        print(f"| {group} | {n} | {share(len(replied), n)} | {share(len(kept), n)} |")
        if not group.startswith("small talk"):
            wrong_before += len(replied)
            wrong_after += len(kept)
            total += n
        if group.startswith("product") or group.startswith("tasks"):
            shown += [f"{m!r}: {'replied' if m in kept else 'searched'}" for m in replied]
    print(
        f"| **not small talk, all** | {total} | **{share(wrong_before, total)}** | "
        f"**{share(wrong_after, total)}** |"
    )
    print()
    for line in shown:
        print(f"- before replied to {line} after")
    print(f"\n({time.perf_counter() - started:.0f} s; `python benchmarks/small_talk_routing.py`)")


def share(count: int, n: int) -> str:
    return f"{count} ({100.0 * count / max(1, n):.2f} %)"


if __name__ == "__main__":
    main()
