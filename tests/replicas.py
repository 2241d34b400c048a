"""Two replicas of the service racing on one thread, as two API or Slack processes would."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from assistant.errors import AlreadyWithHumanError
from assistant.schemas import Outcome
from assistant.service import Assistant


def race_to_hand_over(replicas: tuple[Assistant, Assistant], thread: str) -> list[str]:
    """Both replicas hand `thread` over at once; what each got: "handed" or "refused".

    Each replica's check ("already with a human?") waits for the other's before it writes, so
    without a lock held from check to write both would pass it; with one, the first waits out
    the barrier alone and the second checks after the first has written.
    """
    both_checked = threading.Barrier(2, timeout=1.0)

    def check_then_wait(replica: Assistant) -> None:
        check = replica.waiting_for_human

        def checked(thread_id: str) -> bool:
            waiting = check(thread_id)
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checked.wait()
            return waiting

        replica.waiting_for_human = checked  # type: ignore[method-assign]

    def hand_over(replica: Assistant) -> str:
        try:
            answer = replica.hand_over(thread)
        except AlreadyWithHumanError:
            return "refused"
        assert answer.outcome is Outcome.ESCALATED
        return "handed"

    for replica in replicas:
        check_then_wait(replica)
    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(hand_over, replicas))


def hand_overs_in(replica: Assistant, thread: str) -> int:
    """How many hand-over messages the thread holds."""
    values = replica.thread_values(thread)
    escalated = values["answer"].text
    return sum(m.type == "ai" and m.text == escalated for m in values["messages"])
