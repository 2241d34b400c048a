"""Identifiers a question names (error codes, model numbers) and the units that name them."""

from __future__ import annotations

import pytest

from assistant.turn.identifiers import identifiers, missing_names, names_any


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("What does V31 mean?", {"v31"}),
        ("I get a 429 error", {"429"}),
        ("error E-101 after updating to v2.3", {"e-101", "v2.3"}),
        ("Can 2 people ride for 30 days?", set()),  # quantities, not things
        ("How much is the iPhone 15 case?", set()),
    ],
)
def test_an_identifier_has_a_digit_and_a_letter_or_three_digits(text, named):
    assert identifiers(text) == named


def test_a_unit_names_an_identifier_only_as_a_whole_token():
    named = identifiers("What does V31 mean?")
    assert names_any("Code: V31; Meaning: Payment card declined.", named)
    assert names_any("code v31", named)
    assert not names_any("Code: V310; Meaning: something else.", named)
    assert not names_any("anything", identifiers("no code here"))


def test_a_name_the_question_asks_about_that_no_chunk_says_is_missing():
    page = "SSO is on the Enterprise plan. Supported providers are Okta, Azure AD and Google."
    assert missing_names("Do you support SSO with OneLogin?", [page]) == {"onelogin"}
    assert missing_names("Do you support SSO with Okta?", [page]) == set()
    assert missing_names("What does V31 mean?", ["Code: V12; Meaning: Battery low."]) == {"v31"}
    # The first word and "I" are capitalised by grammar, not because they name something.
    assert missing_names("Can I use single sign-on?", [page]) == set()
