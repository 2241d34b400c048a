"""Identifiers a question names: error codes, status codes, model and version numbers.

"What does V31 mean?" asks about one row of an error-code table, and the row says "Code: V31".
A sentence embedding reads "V31" as noise: on a new help center the closest sentence to that
question scored 0.30 and the search was declined as off topic, while the row that answers it
was retrieved (the sparse half of the search matches the code exactly). A unit of a retrieved
chunk that names the very identifier the question names is about the question whatever its
cosine; the evidence reader scores it as a perfect match, and the off-topic floor lets its
search through to the judge.

An identifier is a word with a digit in it and a letter (V31, E101, 4G, SKU-2231, v2.3) or a
number of three digits or more (429, 502, 1001): "2 people" and "30 days" name quantities,
not things.

A table is looked up by its rows' first cells: "How much is the Growth plan?" asks about the
row "Plan: Growth; Price: $29; ...", which the embedder placed below a passage about invoice
numbers (the plan table scored 0.39, and the clarify head asked which page was meant). A row
whose first cell the question names is that question's row, as a code's is (`names_row_key`):
a key of two words or more named in any case ("video consultation"), a one-word key
capitalised as in the table ("Growth", not "email" for a row keyed "Email") or beside a word of
its column or page ("a medium parcel" in a table of parcel sizes), or an identifier.
Naming the row is not enough when the question asks about something else of it: "Is SSO
available on the Growth plan?" names the Growth row of a rate-limit table, and "How much does
the Enterprise plan cost?" the Enterprise row of one without prices; read as perfect matches,
both were answered with confidence by a row that does not say. `asks_of_row`: what the question
asks beyond the row's name must be something the row, its page title or its heading speaks of.

The other way round, a name the question asks about that no retrieved chunk contains
("Do you support SSO with OneLogin?" over a page that lists Okta, Azure AD and Google
Workspace) means the search found the topic, not the answer: `missing_names` are the
question's identifiers and capitalised names (not its first word) that none of the chunks
says, and a turn that misses one is never answered with confidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from assistant.turn.tables import key_cell, row_key
from assistant.wording import FUNCTION_WORDS, content_stems, topic_stems

# A run of letters, digits and inner `-`, `_` or `.`; checked for its digits below.
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"\d")
# A capitalised word inside a sentence of the question: a product, a place, a brand, an
# acronym ("I love barbecue. Could I ...": "Could" opens a sentence and names nothing).
_NAME = re.compile(r"(?<=[^\s.!?:]\s)[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
# Capitalised inside a question without naming anything the pages must say.
_NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "i'll", "ok", "okay", "hi", "hello", "thanks"})
MIN_DIGITS_ALONE = 3
# "A" or "I" as a row's first cell names nothing a question could be asking about.
MIN_KEY_CHARS = 2
_STANDS_FOR_A_NOUN = frozenset({"one", "ones"})
# Words that ask for an amount of money, and what says one in a row: a currency or its column.
_AMOUNT_STEMS = frozenset(content_stems("much cost price pricing fee charge pay expensive cheap"))
_MONEY = re.compile(
    r"[€$£¥₹]|\b(?:EUR|USD|GBP|CHF|JPY|CAD|AUD|INR)\b|\b(?:price|cost|fee|charge)s?\b",
    re.IGNORECASE,
)


def identifiers(text: str) -> frozenset[str]:
    """The identifiers `text` names, case-folded."""
    found = set()
    for token in _TOKEN.findall(text):
        digits = len(_DIGIT.findall(token))
        if not digits:
            continue
        if _LETTER.search(token) or digits >= MIN_DIGITS_ALONE:
            found.add(token.casefold())
    return frozenset(found)


def names_any(text: str, named: frozenset[str]) -> bool:
    """Whether `text` names one of the identifiers `named` (as a whole token)."""
    return bool(named) and not named.isdisjoint(t.casefold() for t in _TOKEN.findall(text))


def names_row_key(question: str, key: str, around: str = "") -> bool:
    """Whether `question` names the table row whose first cell is `key` (see the module); a
    one-word key in lower case counts beside a word of `around` (the key's column name and the
    table's page title and heading): "a medium parcel" under "Parcel sizes and prices" names
    the row "Size: Medium", "my email" names no row "Email"."""
    words = _TOKEN.findall(key)
    if len(key) < MIN_KEY_CHARS or not any(_LETTER.search(word) for word in words):
        return False
    asked = [t.casefold() for t in _TOKEN.findall(question)]
    wanted = [w.casefold() for w in words]
    if len(words) == 1 and not identifiers(key):
        if re.search(rf"(?<![\w-]){re.escape(words[0])}(?![\w-])", question):
            return True
        return _beside(asked, wanted[0], set(content_stems(around)))
    return any(asked[i : i + len(wanted)] == wanted for i in range(len(asked) - len(wanted) + 1))


def names_row(question: str, unit: str, around: str = "") -> bool:
    """`names_row_key` for the row unit `unit` ("Size: Medium; Price: ..."), with its first
    cell's column name read as part of `around`."""
    first = key_cell(unit)
    column = first.split(": ", 1)[0] if ": " in first else ""
    return names_row_key(question, row_key(unit), f"{column} {around}")


def _beside(tokens: list[str], word: str, stems: set[str]) -> bool:
    """Whether `word` is among `tokens` next to a token whose stem is in `stems`."""
    for i, token in enumerate(tokens):
        if token != word:
            continue
        neighbours = tokens[max(i - 1, 0) : i] + tokens[i + 1 : i + 2]
        # "a large one": "one" stands for the noun of the table ("parcel").
        if any(n in _STANDS_FOR_A_NOUN or set(content_stems(n)) & stems for n in neighbours):
            return True
    return False


def asks_of_row(question: str, unit: str, around: str = "") -> bool:
    """Whether what `question` asks beyond naming the row `unit` (its first cell, with that
    cell's column name) is something the row or `around` (the page title and heading above
    its table) speaks of; a question that asks for an amount ("How much ...?") is answered by
    a row that holds a price."""
    naming = set(content_stems(key_cell(unit)))
    asked = [stem for stem in topic_stems(question) if stem not in naming]
    if not asked:
        return True
    held = set(content_stems(f"{unit} {around}"))
    if any(stem in held for stem in asked):
        return True
    return any(stem in _AMOUNT_STEMS for stem in asked) and bool(_MONEY.search(unit))


def missing_names(question: str, texts: Sequence[str]) -> frozenset[str]:
    """The question's identifiers and capitalised names (case-folded) that none of `texts`
    says: as a whole token, written with dots ("U.S." for "US"), as the initials of capitalised
    words ("United States"), or as the word a name derives from ("Japan" for "Japanese")."""
    asked = set(identifiers(question))
    asked |= {
        name.casefold()
        for name in _NAME.findall(question)
        if name.casefold() not in _NOT_NAMES
        # A capitalised "Before" in "Me Before You" is a title's word; "US" is a name.
        and (name.isupper() or name.casefold() not in FUNCTION_WORDS)
    }
    said: set[str] = set()
    for text in texts:
        tokens = _TOKEN.findall(text)
        said.update(t.casefold() for t in tokens)
        said.update(t.replace(".", "").casefold() for t in tokens)
        said.update(initials.casefold() for initials in _initials(tokens))
    return frozenset(name for name in asked - said if not _derived(name, said))


# Endings that make a name's adjective or plural: Japan-ese, Austria-n, Israel-i, Okta-s.
_DERIVED_ENDINGS = ("s", "es", "n", "an", "ian", "ese", "ish", "i")
MIN_ROOT_CHARS = 4


def _derived(name: str, said: set[str]) -> bool:
    """Whether `said` has the word `name` derives from ("japan"), or its plural ("oktas")."""
    rooted = any(
        name.endswith(ending)
        and len(name) - len(ending) >= MIN_ROOT_CHARS
        and name[: -len(ending)] in said
        for ending in _DERIVED_ENDINGS
    )
    return rooted or f"{name}s" in said or f"{name}es" in said


def _initials(tokens: Sequence[str]) -> Iterator[str]:
    """The initials of each run of two to four capitalised words ("United States" -> "US")."""
    run: list[str] = []
    for token in [*tokens, ""]:
        if token[:1].isupper() and token.isalpha():
            run.append(token)
            continue
        for size in range(2, min(len(run), 4) + 1):
            for start in range(len(run) - size + 1):
                yield "".join(word[0] for word in run[start : start + size])
        run = []


def capitalised_words(texts: Sequence[str], limit: int) -> list[str]:
    """Up to `limit` distinct capitalised words of `texts` (no function words), in order of
    first appearance: the things a page names, as candidates for what a missing name is like."""
    found: dict[str, None] = {}
    for text in texts:
        for token in _TOKEN.findall(text):
            folded = token.casefold()
            if token[:1].isupper() and token.isalpha() and folded not in FUNCTION_WORDS:
                found.setdefault(folded)
                if len(found) >= limit:
                    return list(found)
    return list(found)
