"""Identifiers a question names (error codes, model numbers) and the units that name them."""

from __future__ import annotations

import pytest

from assistant.turn.identifiers import (
    asks_of_row,
    identifiers,
    missing_names,
    names_any,
    names_row,
    names_row_key,
)
from assistant.turn.tables import row_key, row_units


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
    assert missing_names("I love barbecue. Could I grill there? Wd u say yes!", [page]) == set()
    assert missing_names("Tell me. Does it work with Okta or OneLogin?", [page]) == {"onelogin"}


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("Which exchange in the US trades options?", "Options trade on U.S. exchanges."),
        ("Which exchange in the US trades options?", "Exchanges of the United States."),
        ("Why are the Japanese called Nippon?", "Japan is called Nippon."),
        ("Is Okta supported?", "Several Oktas are supported."),
        # A capitalised function word of a title names nothing: "Me Before You".
        ("Did she also appear in Me Before You?", "She starred in a film."),
    ],
)
def test_a_name_said_another_way_is_not_missing(question, said):
    assert missing_names(question, [said]) == set()


def test_a_name_is_missing_however_much_of_it_a_page_shares():
    # "Quick" is a word of the page, not QuickBooks; "Logs" shares no root with "Login".
    said = "Tallyho has a quick start. Logs are kept for a year."
    assert missing_names("Does Tallyho integrate with QuickBooks?", [said]) == {"quickbooks"}
    assert missing_names("Does it support OneLogin?", [said]) == {"onelogin"}


@pytest.mark.parametrize(
    ("question", "key", "named"),
    [
        ("How much is the Growth plan?", "Growth", True),
        ("How many invoices can I send on Starter?", "Starter", True),
        ("What does a video consultation cost?", "Video consultation", True),  # any case
        ("What does V31 mean?", "V31", True),
        # A one-word key in lower case is an ordinary word, not the row's name.
        ("How do I change my email?", "Email", False),
        ("how much is the growth plan?", "Growth", False),
        ("How much is the Growthplus plan?", "Growth", False),  # whole words only
        ("Is the consultation by video?", "Video consultation", False),  # in order
        ("Is it 10 or 20?", "10", False),  # a quantity names no row
        ("Can I pay?", "I", False),
    ],
)
def test_a_question_names_a_table_row_by_its_first_cell(question, key, named):
    assert names_row_key(question, key) is named


def test_a_row_units_key_is_its_first_cell_under_any_header():
    (unit,) = row_units(["Plan", "Price"], ["Growth", "$29"])
    assert row_key(unit) == "Growth"
    (unit,) = row_units(["", "Price"], ["Travel vaccination", "€35"])
    assert row_key(unit) == "Travel vaccination"
    (unit,) = row_units(["Service", "Fee"], ["GP consultation (in person)", "€60"])
    assert row_key(unit) == "GP consultation"


RATE_LIMITS = "Plan: Growth; Requests per minute: 600; Burst: 100."
PRICES = "City: Warsaw; Unlock fee: 3.50 PLN; Per minute: 0.89 PLN; Day pass: 39 PLN."


@pytest.mark.parametrize(
    ("question", "unit", "around", "asks"),
    [
        # The row, its page title or its heading says what is asked.
        ("What's the rate limit on the Growth plan?", RATE_LIMITS, "Rate limits", True),
        ("How many requests per minute on Growth?", RATE_LIMITS, "", True),
        ("How much is a day pass in Warsaw?", PRICES, "Prices by city", True),
        # Nothing asked beyond the row's name: the whole row answers.
        ("Tell me about the Growth plan", RATE_LIMITS, "Rate limits", True),
        ("What about Growth?", RATE_LIMITS, "", True),
        # An amount, of a row with a price.
        ("How much does the Growth plan cost?", "Plan: Growth; Price: $29/month.", "", True),
        ("What does the Growth plan cost?", "Plan: Growth; Monthly: 29 EUR.", "", True),
        # Something else of the row.
        ("Is SSO available on the Growth plan?", RATE_LIMITS, "Rate limits", False),
        ("How much does the Growth plan cost?", RATE_LIMITS, "Rate limits", False),
        ("Do I need a licence in Warsaw?", PRICES, "Prices by city", False),
    ],
)
def test_a_named_row_answers_only_what_it_or_its_page_speaks_of(question, unit, around, asks):
    assert asks_of_row(question, unit, around) is asks


@pytest.mark.parametrize(
    ("question", "unit", "around", "named"),
    [
        # A one-word key in lower case, beside a word of its column or page.
        ("How much is a medium parcel?", "Size: Medium; Price: 6.49 EUR.", "Parcel sizes", True),
        ("how much is the growth plan?", "Plan: Growth; Price: $29.", "", True),
        ("Max weight of the large size?", "Size: Large; Max weight: 25 kg.", "", True),
        # Not beside one: an ordinary word.
        ("How do I change my email?", "Channel: Email; Reply within: 24 hours.", "Contact", False),
        ("Is the print too large?", "Size: Large; Max weight: 25 kg.", "Parcel sizes", False),
    ],
)
def test_a_one_word_key_in_lower_case_names_its_row_beside_a_word_of_its_table(
    question, unit, around, named
):
    assert names_row(question, unit, around) is named
