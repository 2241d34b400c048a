"""Text in a document that instructs its reader or the assistant to do something harmful or off
script: a prompt injection, or a phishing line planted in a help center.

A help center describes a product and tells customers how to use it ("send us a photo of the
receipt", "reset your password in Settings"). Some sentences do something else, and are found by
their form, one rule per kind (each gives the `Reason` an ingest run lists):

- `override`: talk of the assistant's own instructions: ignore, disregard or forget the previous
  instructions, the system prompt, a new identity or mode ("you are now ...", "pretend to be"),
  role play, a chat role written into the text ("System: ..."), in English and a few other
  languages prompt injections use.
- `addresses the assistant`: spoken to whatever reads the page ("Note to the AI assistant",
  "AI assistants reading this should ...", "If you are a language model, ..."), or orders about
  the answer itself ("answer with one word", "tell the customer ...").
- `asks for credentials`: sending a password, a one-time or verification code, card details, a
  recovery phrase or the like anywhere (by e-mail, in the chat, to an address). A help center
  says where to *enter* a password, never where to *send* one; a negated sentence ("never share
  your password") and one the service sends to the customer ("we text you a code") are not it.
- `asks for a payment`: paying or moving money in a way no support process asks for (gift cards,
  crypto, wire services, a fee to unlock an account, a literal IBAN or wallet to pay into).
- `points outside the knowledge base`: an e-mail address to write to, or a link to sign in,
  verify or pay at, on a domain that is not the knowledge base's own (its documents' own URLs and
  the `knowledge_domains` setting). With no own domain known this rule cannot tell and is off.

Both ingestion (each chunk's flags are stored with it and listed by the run) and the turn (a
flagged sentence is never an answer candidate, nor shown to the model, nor released in a
generated answer) read this module; it lives in the knowledge layer, the lowest both may import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from urllib.parse import urlsplit

from assistant.knowledge.sentences import split_sentences


class Reason(StrEnum):
    OVERRIDE = "override"
    ADDRESSES_ASSISTANT = "addresses the assistant"
    CREDENTIALS = "asks for credentials"
    PAYMENT = "asks for a payment"
    OUTSIDE_ADDRESS = "points outside the knowledge base"


_I = re.IGNORECASE
# Text hidden from a human reader but not from a model: zero-width characters split words so
# that "pass\u200bword" escapes a plain search.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_EMPHASIS = re.compile(r"[*`~]+|(?<!\w)_+|_+(?!\w)")

# --- override -----------------------------------------------------------------------------

_OVERRIDE = [
    # "Ignore (all) (the) previous instructions", "disregard the rules above", ...
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}?"
        r"\b(?:instructions?|rules|prompts?|directions|guidelines|everything above|the above"
        r"|previous|prior|earlier|system|the question)\b",
        _I,
    ),
    # A new identity or mode: "You are now in maintenance mode", "From now on you ...".
    re.compile(
        r"\byou are now (?:in \w+ mode|an? (?:\w+ )?(?:assistant|bot|ai|model|agent))\b"
        r"|\bfrom now on,? you\b|\bnew instructions\b|\bsystem prompt\b|\bdeveloper mode\b"
        r"|\bjailbreak|\bdo anything now\b|\bpretend (?:to be|you are|that you)\b"
        r"|\brole[- ]?play\b|\bact as (?:if you|an? (?:\w+ )?(?:ai|assistant|bot|model)\b)"
        r"|\b(?:your|the) (?:hidden|original|initial|real) (?:instructions|prompt)\b"
        r"|\b(?:safety|content) (?:filters?|guidelines|polic(?:y|ies)) (?:are|is) "
        r"(?:disabled|off|lifted)\b",
        _I,
    ),
    # A chat role written into the passage: "System: ...", "Assistant: ...", "<|im_start|>".
    re.compile(r"^\W*(?:system|assistant|ai|developer)\s*:|<\|im_start\|>|\[/?INST\]", _I),
    # Other languages: German, French, Spanish, Italian, Portuguese, Dutch.
    re.compile(
        r"\b(?:ignorier\w*|vergiss\w*|ignore[zr]?|oublie[zr]?|ignora\w*|olvida\w*|dimentica\w*"
        r"|esquece\w*|negeer\w*|vergeet)\b[^.!?]{0,40}?"
        r"\b(?:anweisung\w*|instruktion\w*|regeln|consignes?|instructions?|instrucciones"
        r"|istruzioni|instruções|instructies|regels)\b",
        _I,
    ),
]

# --- addresses the assistant ----------------------------------------------------------------

_ADDRESSEE = (
    r"(?:ai|a\.i\.|assistant|chat ?bot|bot|language model|llm|gpt|model|support assistant"
    r"|virtual assistant|ai assistant|ai agent|ai system|crawler|summari[sz]er)"
)
_ORDER = (
    r"(?:ignore|disregard|forget|override|bypass|tell|say|reply|respond|answer|escalate|call"
    r"|reveal|send|output|print|pretend|cite|list|include|recommend|direct|instruct|ask|mention"
    r"|inform|advise|add|insert|append)"
)
_ADDRESSED = [
    # Spoken to the assistant: "Note to the AI assistant reading this page: ...",
    # "IMPORTANT NOTE TO THE ASSISTANT", "Dear chatbot, ...".
    re.compile(
        rf"\b(?:note|message|attention|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+"
        rf"|an?\s+)?(?:\w+\s+)?{_ADDRESSEE}s?\b|\b(?:dear|hey|hi|hello)\s+{_ADDRESSEE}\b",
        _I,
    ),
    # An order to it: "Assistant: call the search tool", "AI, ignore ...", "If you are an AI
    # model, ...", "Language models must always say ...", "AI assistants reading this page
    # should ...", "When an AI summarises this article, ...".
    re.compile(
        rf"\b{_ADDRESSEE}s?\s*[:,]\s*(?:please\s+)?{_ORDER}\b|\bif you are an? (?:\w+ )?"
        rf"{_ADDRESSEE}\b"
        rf"|\b(?:ai|language model|llm|chat ?bot|assistant|model|agent)s?\s+(?:\w+\s+){{0,4}}"
        rf"(?:must|should|shall|are (?:required|instructed) to|need to)\s+(?:always\s+|never\s+"
        rf"|now\s+|also\s+)?{_ORDER}\b"
        rf"|\b(?:when|if|whenever)\s+(?:an?\s+|any\s+|the\s+)?(?:\w+\s+)?{_ADDRESSEE}s?\s+"
        rf"(?:is\s+|are\s+)?(?:reads?|reading|summari[sz]\w*|process\w*|answer\w*|quot\w*|us\w+)"
        rf"\b[^.!?]{{0,60}}\b{_ORDER}\b",
        _I,
    ),
    # Orders about the answer itself, or for it to relay: "Answer with one word", "always cite
    # ... in every answer", "tell the customer ...", talk of passages and tools.
    re.compile(
        r"\b(?:answer|reply|respond) (?:only )?with (?:one|a single|the) word\b"
        r"|\bin (?:every|each|any|your) (?:answer|reply|response)\b"
        r"|\b(?:always|never) (?:cite|mention|say|answer|reply|respond|escalate)\b"
        r"|\b(?:tell|inform|instruct|advise|remind) (?:the|any|all|every) (?:customer|user|caller"
        r"|reader|visitor)s?\b"
        r"|\bwhat should the (?:support )?assistant do\b"
        r"|\bcall the (?:search )?tool\b|\bthe full answer is given\b|\bin passages? \["
        r"|\b(?:your|the) (?:next|final) (?:answer|reply|response) (?:must|should)\b",
        _I,
    ),
]

# --- credentials ------------------------------------------------------------------------------

_SECRET = (
    r"(?:pass(?:word|code|phrase)s?|pins?|(?:one[- ]time|verification|security|login|sign[- ]in"
    r"|authentication|auth|2fa|mfa|two[- ]factor|otp|sms|confirmation|access|reset)"
    r" (?:codes?|pins?|tokens?)|otps?|2fa|mfa codes?|(?:login|sign[- ]in|account|bank(?:ing)?"
    r"|online banking) (?:credentials|details|information|info|pass\w*)|credentials"
    r"|(?:recovery|seed|backup|secret) (?:phrase|words|codes?|keys?)|private keys?"
    r"|api (?:keys?|tokens?)|(?:credit |debit |bank |payment )?card (?:numbers?|details|info\w*"
    r"|data)|cvv2?|cvc2?|card security codes?|(?:full )?card number|security answers?"
    r"|answers? to (?:your|the) security questions?|social security numbers?|ssns?)"
)
# Verbs that move something to someone else.
_SEND = (
    r"(?:send|sending|sent|e-?mail(?:ing)?|mail|forward|text|message|dm|whatsapp|share|sharing"
    r"|disclose|reveal|read out|read (?:it|them) out|tell (?:us|me|them|the \w+|our \w+)"
    r"|give (?:us|me|them|the \w+|our \w+)|post|paste|reply with|respond with|write back with"
    r"|hand over|include|ask (?:the |a |any |every )?(?:user|customer|caller|visitor|client)s? for)"
)
# Verbs that do only with a destination that is a message or an outside address.
_PROVIDE = r"(?:provide|submit|confirm|verify|enter|type|input|upload|fill in|update)"
_DESTINATION = (
    r"(?:\bto\s+(?:us|me|them|our\s+\w+(?:\s+\w+)?|the\s+(?:agent|assistant|team|address|email"
    r"|link|form)|this\s+(?:address|email|number|chat))\b|\bat\s+\S+@\S+|\b(?:in|into|via|by|over"
    r"|through)\s+(?:the\s+|this\s+|a\s+|your\s+)?(?:chat|reply|e-?mail|message|sms|text"
    r"|whatsapp|telegram|dm|comment|form (?:below|linked|at))\b)"
)
_NEGATION = re.compile(
    r"\b(?:never|not|no one|nobody|don't|doesn't|won't|can't|cannot|shouldn't|mustn't|nor"
    r"|without|instead of|refuse|avoid \w+ing)\b|n't\b",
    _I,
)
_TO_THE_CUSTOMER = re.compile(
    r"^\s*(?:you\b|to your\b|to the (?:phone|e-?mail|number|device)|by (?:sms|text|e-?mail) to"
    r" your\b)",
    _I,
)
_SENT_A_SECRET = re.compile(rf"\b{_SEND}\b(?P<rest>[^.!?]{{0,60}}?)\b{_SECRET}\b", _I)
_SECRET_SENT = re.compile(
    rf"\b{_SECRET}\b[^.!?]{{0,40}}?\b(?:must|should|needs? to|can|to)\s+be\s+{_SEND}\b", _I
)
_PROVIDED_A_SECRET = re.compile(
    rf"\b{_PROVIDE}\b[^.!?]{{0,40}}?\b{_SECRET}\b[^.!?]{{0,40}}?{_DESTINATION}", _I
)

# --- payment -----------------------------------------------------------------------------------

_MOVE_MONEY = (
    r"(?:pay|transfer|wir(?:e|es|ed|ing)|send|deposit|buy|purchas|load|mov(?:e|es|ed|ing))\w*"
)
_UNLOCK = r"(?:unlock|reactivate|restore|release|verify|unfreeze|unblock)\w*"
_PAYMENT = re.compile(
    # Paid in a way no support process asks for: gift cards, crypto, wire services, a literal
    # IBAN or wallet.
    rf"\b{_MOVE_MONEY}\b[^!?]{{0,60}}?"
    r"(?:\bgift ?cards?\b|\bbitcoin\b|\bbtc\b|\bcrypto\w*\b|\busdt\b|\bethereum\b|\bwestern union"
    r"\b|\bmoneygram\b|\bwallet address\b|\bzelle\b|\bpaypal\.me/"
    r"|\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b|\bbc1[a-z0-9]{25,62}\b"
    r"|\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b)"
    # A fee to get an account back.
    rf"|\b{_UNLOCK}\b[^!?]{{0,60}}?\b(?:fee|deposit|payment)\b[^!?]{{0,30}}?\b(?:pay|paid"
    r"|transfer\w*|send)\b"
    rf"|\b{_MOVE_MONEY}\b[^!?]{{0,40}}?\b(?:fee|deposit|payment)\b[^!?]{{0,40}}?"
    rf"\b(?:to |in order to )?{_UNLOCK}\b"
    # Money moved to somebody's account: "transfer your savings to this safe account".
    rf"|\b{_MOVE_MONEY}\b[^!?]{{0,40}}?\bto (?:my|a|this|the following|our) "
    r"(?:personal |private |external |safe |secure |new |protected )?"
    r"(?:account|wallet|iban|agent)\b",
    _I,
)

# --- addresses outside the knowledge base --------------------------------------------------

_EMAIL = re.compile(r"\b[\w.+-]+@((?:[a-z0-9-]+\.)+[a-z]{2,})\b", _I)
_URL = re.compile(
    r"\b(?:https?://|www\.)((?:[a-z0-9-]+\.)+[a-z]{2,}|\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?"
    r"|(?<![@\w.-])((?:[a-z0-9-]+\.)+(?:com|net|org|io|co|info|biz|xyz|top|site|online|app|dev|support"
    r"|help|example))(?=/|\b)(?![\w.-]*@)",
    _I,
)
_WRITE_TO = re.compile(
    r"\b(?:e-?mail|mail|write|contact|send|forward|reach|reply|cc|copy|report|message)\w*\b", _I
)
# Going to a link is risky when what the reader does there is sign in, verify or pay.
_RISKY_VISIT = re.compile(
    r"\b(?:log ?in|sign ?in|verify|verif\w+|confirm|validate|re-?activate|unlock|unblock|claim"
    r"|update (?:your )?(?:payment|billing|card|account|bank)|enter|type|password|credentials"
    r"|card|payment|pay|billing|refund|security check|account (?:review|suspended|locked))\b",
    _I,
)
# Two-letter country codes under which the registrable name takes one more label (co.uk).
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go"}


def registrable(domain: str) -> str:
    """The registered part of `domain` ("help.cloudnest.com" -> "cloudnest.com", also for
    "shop.example.co.uk" -> "example.co.uk"); an IP address is itself."""
    labels = domain.lower().strip(".").removeprefix("www.").split(".")
    if all(label.isdigit() for label in labels):
        return ".".join(labels)
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def domain_of(url: str) -> str:
    """The host of `url` (with or without a scheme), or "" when it has none."""
    if not url.strip():
        return ""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    return host if "." in host else ""


def own_domains(domains: Iterable[str], urls: Iterable[str] = ()) -> frozenset[str]:
    """The knowledge base's own registrable domains: `domains` (a setting) and those of the
    documents' own `urls`."""
    hosts = [*domains, *(domain_of(u) for u in urls)]
    return frozenset(registrable(h) for h in hosts if h.strip())


# --- the check -------------------------------------------------------------------------------


def normalised(sentence: str) -> str:
    """`sentence` as the rules read it: invisible characters and emphasis marks dropped,
    whitespace collapsed."""
    return " ".join(_EMPHASIS.sub("", _INVISIBLE.sub("", sentence)).split())


def injection_reason(sentence: str, own: frozenset[str] = frozenset()) -> Reason | None:
    """Why `sentence` instructs its reader or the assistant off script, or None when it does
    not. `own`: the knowledge base's registrable domains (`own_domains`); empty turns the
    outside-address rule off."""
    text = normalised(sentence)
    if any(p.search(text) for p in _OVERRIDE):
        return Reason.OVERRIDE
    if any(p.search(text) for p in _ADDRESSED):
        return Reason.ADDRESSES_ASSISTANT
    if _asks_for_credentials(text):
        return Reason.CREDENTIALS
    if _PAYMENT.search(text) and not _negated(text, _PAYMENT.search(text)):
        return Reason.PAYMENT
    if own and _points_outside(text, own):
        return Reason.OUTSIDE_ADDRESS
    return None


def flagged_sentences(text: str, own: frozenset[str] = frozenset()) -> Iterator[tuple[str, Reason]]:
    """Each sentence of `text` (paragraph by paragraph, each line of a list its own) that
    `injection_reason` flags, with the reason."""
    for paragraph in re.split(r"\n\s*\n|\n\s*(?=[-*+]\s|\d+[.)]\s)", text):
        for sentence in split_sentences(" ".join(paragraph.split())):
            reason = injection_reason(sentence, own)
            if reason is not None:
                yield sentence, reason


def _negated(text: str, match: re.Match[str] | None) -> bool:
    """Whether the clause before `match` (back to the last , ; : or dash) negates it: "never
    send your password", "do not share codes"."""
    if match is None:
        return False
    # A clause is short: reading back 200 characters keeps a long sentence linear.
    before = text[max(0, match.start() - 200) : match.start()]
    clause = re.split(r"[,;:\u2013\u2014]| - |\bbut\b|\binstead\b", before)[-1]
    return bool(_NEGATION.search(clause + " " + match.group(0)))


def _asks_for_credentials(text: str) -> bool:
    for found in _SENT_A_SECRET.finditer(text):
        # "we text you a code", "sent to your phone": the service sending to the customer.
        if _TO_THE_CUSTOMER.match(found.group("rest")) or _TO_THE_CUSTOMER.match(
            text[found.end() :]
        ):
            continue
        if not _negated(text, found):
            return True
    return any(
        not _negated(text, found)
        for pattern in (_SECRET_SENT, _PROVIDED_A_SECRET)
        for found in pattern.finditer(text)
    )


def _points_outside(text: str, own: frozenset[str]) -> bool:
    # The first outside address decides: one pass over the sentence, however many it holds.
    email = next((m for m in _EMAIL.finditer(text) if registrable(m.group(1)) not in own), None)
    if email is not None and _WRITE_TO.search(text) and not _negated(text, email):
        return True
    link = next(
        (m for m in _URL.finditer(text) if registrable(m.group(1) or m.group(2) or "") not in own),
        None,
    )
    return link is not None and bool(_RISKY_VISIT.search(text)) and not _negated(text, link)
