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
a key of two words or more named in any case ("video consultation"), a one-word key only
capitalised as in the table ("Growth", not "email" for a row keyed "Email"), or an identifier.

The other way round, a name the question asks about that no retrieved chunk contains
("Do you support SSO with OneLogin?" over a page that lists Okta, Azure AD and Google
Workspace) means the search found the topic, not the answer: `missing_names` are the
question's identifiers and capitalised names (not its first word) that none of the chunks
says, and a turn that misses one is never answered with confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def names_row_key(question: str, key: str) -> bool:
    """Whether `question` names the table row whose first cell is `key` (see the module)."""
    words = _TOKEN.findall(key)
    if len(key) < MIN_KEY_CHARS or not any(_LETTER.search(word) for word in words):
        return False
    if len(words) == 1 and not identifiers(key):
        return re.search(rf"(?<![\w-]){re.escape(words[0])}(?![\w-])", question) is not None
    asked = [t.casefold() for t in _TOKEN.findall(question)]
    wanted = [w.casefold() for w in words]
    return any(asked[i : i + len(wanted)] == wanted for i in range(len(asked) - len(wanted) + 1))


def missing_names(question: str, texts: Sequence[str]) -> frozenset[str]:
    """The question's identifiers and capitalised names (case-folded) that none of `texts`
    contains as a whole token."""
    asked = set(identifiers(question))
    asked |= {
        name.casefold() for name in _NAME.findall(question) if name.casefold() not in _NOT_NAMES
    }
    said = {t.casefold() for text in texts for t in _TOKEN.findall(text)}
    return frozenset(asked - said)
