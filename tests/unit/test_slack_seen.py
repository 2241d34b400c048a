"""The Slack bot's record of deliveries it acted on: once per key, shared through the file,
expiring, bounded."""

from __future__ import annotations

from pathlib import Path

from assistant.interfaces.slack.seen import SeenDeliveries


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_new_once_even_to_a_second_store_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "slack.sqlite"
    with SeenDeliveries(path) as first, SeenDeliveries(path) as second:
        assert first.first_time("message:T1:C1:1.000100")
        assert not first.first_time("message:T1:C1:1.000100")
        assert not second.first_time("message:T1:C1:1.000100")  # another bot, or a restart
        assert second.first_time("message:T1:C1:2.000100")
    with SeenDeliveries(path) as reopened:
        assert not reopened.first_time("message:T1:C1:2.000100")


def test_keys_expire_after_the_window_slack_retries_and_signatures_live_in(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with SeenDeliveries(tmp_path / "slack.sqlite", keep_for=600, clock=clock) as seen:
        assert seen.first_time("click:a")
        clock.now += 599
        assert not seen.first_time("click:a")
        seen.first_time("click:b")
        clock.now += 2
        # "a" is gone (and may be acted on again); "b" is kept.
        assert seen.first_time("click:a") and not seen.first_time("click:b")


def test_the_table_is_bounded_and_drops_the_oldest_first(tmp_path: Path) -> None:
    with SeenDeliveries(tmp_path / "slack.sqlite", max_ids=5) as seen:
        for n in range(12):
            assert seen.first_time(f"k{n}")
        assert len(seen) == 5
        assert not seen.first_time("k11") and seen.first_time("k0")
