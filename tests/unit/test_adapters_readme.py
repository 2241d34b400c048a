"""The policy table in adapters/README.md says what the code does."""

from __future__ import annotations

from pathlib import Path

from assistant.policy import shipped_policy

README = Path(__file__).resolve().parents[2] / "adapters" / "README.md"


def test_the_documented_policy_table_matches_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- policy-table:start -->")[1].split("<!-- policy-table:end -->")[0]
    documented = {}
    for line in table.strip().splitlines()[2:]:
        priority, human, reason, intents = (cell.strip() for cell in line.strip("|").split("|"))
        for intent in intents.split(", "):
            documented[intent.strip("`")] = (priority, human == "yes", reason)
    assert documented == {
        intent: (p.priority, p.needs_human, p.reason)
        for intent, p in shipped_policy().categories.items()
    }
