"""Personal data in free text, found by its format and, where it has them, its check digits.

E-mail addresses, IBANs (country length and mod-97), payment cards (Luhn, any one separator),
passport numbers introduced as such, and phone numbers in their common national and
international forms become `[email]`, `[iban]`, `[card]`, `[passport]` and `[phone]`. What is
not caught is listed in docs/security.md ("What is redacted").

Every pattern is linear in the text: runs are taken with possessive quantifiers (no
backtracking into them) and judged in Python, so a 100 kB message of digits or `@`s costs
milliseconds, not minutes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# --- e-mail ----------------------------------------------------------------------------------

# A local part (starting at a token's start), "@", dot-separated labels; the last label must
# be a top-level domain (letters), checked in `_email`.
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]++@[\w-]++(?:\.[\w-]++)*+")


def _email(match: re.Match[str]) -> str:
    domain = match.group().rpartition("@")[2]
    _, dot, tld = domain.rpartition(".")
    return "[email]" if dot and len(tld) >= 2 and tld.isalpha() else match.group()


# --- IBAN ------------------------------------------------------------------------------------

# Lengths of the IBAN registry's countries: a country code outside it, or a length that is not
# its own, is not an IBAN (this, before mod-97, keeps tracking numbers and part codes).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
# Country code and check digits, then capitals and digits, single spaces allowed between
# them: compact (`DE89370400440532013000`) and printed in groups of four (`DE89 3704 ...`).
_IBAN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9])++")
_IBAN_MAX_GROUPS = 9  # 34 characters in groups of four


def iban_is_valid(candidate: str) -> bool:
    """The ISO 13616 check: the country's length, and mod 97 of the rearranged number is 1."""
    if IBAN_LENGTHS.get(candidate[:2]) != len(candidate) or not candidate.isalnum():
        return False
    rearranged = candidate[4:] + candidate[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _ibans(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        run = match.group()
        every_group = run.split(" ")
        groups = every_group[:_IBAN_MAX_GROUPS]
        # The run may have taken a following word in capitals ("... 00 ATM"): the longest
        # leading groups that make a valid IBAN win.
        for end in range(len(groups), 0, -1):
            if end > 1 and any(len(g) != 4 for g in groups[1 : end - 1]):
                continue  # printed IBANs are in groups of four but for the last
            if end == len(every_group) and _followed_by_alnum(match, text):
                continue  # the run ends inside a word ("DE89...000abc")
            taken = " ".join(groups[:end])
            if iban_is_valid(taken.replace(" ", "")):
                return "[iban]" + run[len(taken) :]
        return run

    return _IBAN_RUN.sub(replace, text)


def _followed_by_alnum(match: re.Match[str], text: str) -> bool:
    return text[match.end() : match.end() + 1].isalnum()


# --- payment cards ---------------------------------------------------------------------------

# Digits in groups, each separator one of space, hyphen, slash, underscore or dot.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d++(?:[ ./_-]\d++)*+")
_SEPARATOR = re.compile(r"[ ./_-]")
_CARD_DIGITS = range(13, 20)
# Cards of the major schemes start with 2 (Mastercard), 3 (Amex, JCB, Diners), 4 (Visa),
# 5 (Mastercard, Maestro) or 6 (Discover, UnionPay, Maestro); 1, 7, 8, 9 and 0 start order
# numbers, timestamps, ISBNs and tracking numbers far more often.
_CARD_FIRST_DIGITS = "23456"


def luhn_is_valid(digits: str) -> bool:
    """The Luhn check every payment card number passes."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card(groups: list[str], separators: list[str]) -> bool:
    digits = "".join(groups)
    if len(digits) not in _CARD_DIGITS or digits[0] not in _CARD_FIRST_DIGITS:
        return False
    if separators:
        # One separator throughout, printed as 4-4-4-4(-3), 4-6-5 (Amex) or 4-6-4 (Diners).
        if len(set(separators)) != 1 or len(groups[0]) != 4:
            return False
        if any(not 3 <= len(g) <= 6 for g in groups[1:]):
            return False
    return luhn_is_valid(digits)


def _cards(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        run = match.group()
        groups = _SEPARATOR.split(run)
        separators = _SEPARATOR.findall(run)
        last = len(groups) - 1
        if _followed_by_alnum(match, text):
            last -= 1  # the run's last group belongs to a word ("4111...x")
        parts: list[str] = []
        start = 0
        while start < len(groups):
            end = _longest_card(groups, separators, start, last)
            if end is None:
                parts.append(groups[start])
                if start < len(separators):
                    parts.append(separators[start])
                start += 1
                continue
            parts.append("[card]")
            if end < len(separators):
                parts.append(separators[end])
            start = end + 1
        return "".join(parts)

    return _DIGIT_RUN.sub(replace, text)


def _longest_card(groups: list[str], separators: list[str], start: int, last: int) -> int | None:
    """The last group of the longest card starting at group `start`, if any. A card has at
    most 19 digits, so this looks at a few groups whatever the length of the run."""
    if start > last or groups[start][0] not in _CARD_FIRST_DIGITS:
        return None
    if len(groups[start]) != 4:  # only a card in one piece
        return start if _is_card(groups[start : start + 1], []) else None
    found: int | None = None
    digits = 0
    for end in range(start, last + 1):
        digits += len(groups[end])
        if digits > max(_CARD_DIGITS):
            break
        if digits >= min(_CARD_DIGITS) and _is_card(groups[start : end + 1], separators[start:end]):
            found = end
    return found


# --- passports -------------------------------------------------------------------------------

# A bare passport number is any short string of capitals and digits; only one introduced as a
# passport's ("passport number X1234567", "Reisepass: C01X00T47") is taken.
_PASSPORT = re.compile(
    r"(?i:\b(?:passport|passeport|reisepass|pasaporte|passaporto)\b"
    r"(?:\s{1,3}(?:number|num\.?|no\.?|nr\.?|n°|#|id))?"
    r"(?:\s{1,3}(?:is|:|=|#)|\s{0,3}[:#=])?)"
    r"\s{0,3}([A-Za-z0-9]{6,9})(?![A-Za-z0-9])"
)


def _passport(match: re.Match[str]) -> str:
    number = match.group(1)
    if sum(ch.isdigit() for ch in number) < 5:
        return match.group()  # "passport number please", "passport expired 2024"
    start = match.start(1) - match.start()
    return match.group()[:start] + "[passport]"


# --- phone numbers ---------------------------------------------------------------------------

# A run of digit groups as phone numbers are written: an optional "+" (with a space), an
# optional area code in parentheses, groups separated by one space, dot, hyphen or slash, or
# by a parenthesised group ("+44 (0)20 ..."). It starts where no digit group ends just before
# it, so a run is judged whole, never from its middle.
_PHONE_RUN = re.compile(
    r"(?<![\w+])(?<!\d[ ./-])(?:\+ ?)?(?:\(\d++\) ?)?\d++"
    r"(?:(?:[ .-]?\(\d++\)[ .-]?|[ ./-])\d++)*+"
)
# Words that make a bare run of digits a phone number: "call me on 5551234567", "Tel: ...",
# with at most two other words between (not a `[phone]` already written, not a number).
_PHONE_WORDS = re.compile(
    r"(?i:(?<!\[)\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text me|ring me"
    r"|reach me)\b[^\w\n]{0,3}(?:[^\W\d]+[^\w\n]{1,3}){0,2})$"
)
_NANP = re.compile(r"(?:1([ .-]))?[2-9]\d\d([ .-])\d{3}\2\d{4}")  # 555-123-4567, 1 800 555 0199
_LOCAL = re.compile(r"[2-9]\d\d-\d{4}")  # 555-1234


def _is_phone(run: str, before: str) -> bool:
    digits = "".join(ch for ch in run if ch.isdigit())
    if run.startswith("+"):
        # E.164 allows 15 digits; "+44 (0)20" writes a trunk 0 that is not dialled.
        return 8 <= len(digits) - run.count("(0)") <= 15
    if run.startswith("("):
        return 7 <= len(digits) <= 12
    if digits.startswith("00"):
        # The international prefix, then a country code (never starting with 0).
        return 10 <= len(digits) <= 15 and digits[2] != "0"
    if digits.startswith("0"):
        # A national number with its trunk 0: 020 7946 0958, 07700 900123, 030/123456.
        if run.isdigit():
            return 10 <= len(digits) <= 11
        return 9 <= len(digits) <= 12 and len(set(_SEPARATOR.findall(run))) == 1
    if _NANP.fullmatch(run) or _LOCAL.fullmatch(run):
        return True
    return 7 <= len(digits) <= 15 and _PHONE_WORDS.search(before) is not None


def _phones(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        run = match.group()
        if _followed_by_alnum(match, text):
            return run
        before = text[max(0, match.start() - 40) : match.start()]
        return "[phone]" if _is_phone(run, before) else run

    return _PHONE_RUN.sub(replace, text)


# --- all of it -------------------------------------------------------------------------------

# In this order: an IBAN holds digit runs a card or phone pattern would take in part, and a
# passport number may be all digits.
_STEPS: tuple[Callable[[str], str], ...] = (
    lambda text: _EMAIL.sub(_email, text),
    _ibans,
    _cards,
    lambda text: _PASSPORT.sub(_passport, text),
    _phones,
)


def redact_personal_data(text: str) -> str:
    """The built-in redactor: e-mail addresses, IBANs, payment cards, passport numbers and
    phone numbers become `[email]`, `[iban]`, `[card]`, `[passport]` and `[phone]`; order
    numbers, dates, times, amounts, versions and other numbers stay as they were."""
    for step in _STEPS:
        text = step(text)
    return text
