"""Text in a document that instructs the assistant (or whoever reads it to a customer).

A help center describes a product; a sentence that talks to the reader of the page about how to
answer ("Ignore previous instructions ...", "Note to the AI assistant: ...", "Tell the customer
to ...", "Answer with one word: ...") is an injection or an internal note, and is never quoted
to a customer nor shown to the model as a passage. Found by its form, in any language of
prompt injection that English documents use: who it addresses (the assistant, the model, the
bot), the override it asks for (ignore, disregard, forget the instructions; you are now ...), a
chat role written into the text ("System:", "Assistant:"), and orders about the answer itself.
Precision matters more than recall here only in that a flagged sentence is dropped, not the page:
a false positive costs one sentence of one answer.
"""

from __future__ import annotations

import re

from assistant.turn.sentences import split_sentences

_ADDRESSEE = (
    r"(?:ai|a\.i\.|assistant|chat ?bot|bot|language model|llm|gpt|model|support assistant"
    r"|virtual assistant|ai assistant)"
)
_ORDER = (
    r"(?:ignore|disregard|forget|override|bypass|tell|say|reply|respond|answer|escalate|call"
    r"|reveal|send|output|print|pretend|cite|list)"
)

_PATTERNS = [
    # "Ignore (all) (the) previous instructions", "disregard the rules above", ...
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}?"
        r"\b(?:instructions?|rules|prompts?|directions|guidelines|everything above|the above"
        r"|previous|prior|earlier|system|the question)\b",
        re.IGNORECASE,
    ),
    # Spoken to the assistant: "Note to the AI assistant reading this page: ...",
    # "IMPORTANT NOTE TO THE ASSISTANT", "Dear chatbot, ...".
    re.compile(
        rf"\b(?:note|message|attention|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+"
        rf"|an?\s+)?(?:\w+\s+)?{_ADDRESSEE}s?\b|\b(?:dear|hey)\s+{_ADDRESSEE}\b",
        re.IGNORECASE,
    ),
    # An order to it: "Assistant: call the search tool", "AI, ignore ...", "If you are an AI
    # model, ...", "Language models must always say ...".
    re.compile(
        rf"\b{_ADDRESSEE}s?\s*[:,]\s*(?:please\s+)?{_ORDER}\b|\bif you are an? {_ADDRESSEE}\b"
        rf"|\b(?:ai|language model|llm|chat ?bot)s?\s+(?:must|should)\s+(?:always\s+|never\s+)?"
        rf"{_ORDER}\b",
        re.IGNORECASE,
    ),
    # A new identity or mode: "You are now in maintenance mode", "From now on you ...".
    re.compile(
        r"\byou are now (?:in \w+ mode|an? (?:\w+ )?(?:assistant|bot|ai|model))\b"
        r"|\bfrom now on,? you\b|\bnew instructions\b|\bsystem prompt\b|\bdeveloper mode\b"
        r"|\bjailbreak",
        re.IGNORECASE,
    ),
    # A chat role written into the passage: "System: ...", "Assistant: ...".
    re.compile(r"^\W*(?:system|assistant|ai|developer)\s*:", re.IGNORECASE),
    # Orders about the answer itself, or for it to relay: "Answer with one word", "always cite
    # ... in every answer", "tell the customer ...", talk of passages and tools.
    re.compile(
        r"\b(?:answer|reply|respond) (?:only )?with (?:one|a single|the) word\b"
        r"|\bin (?:every|each|any|your) (?:answer|reply|response)\b"
        r"|\b(?:always|never) (?:cite|mention|say|answer|reply|respond|escalate)\b"
        r"|\b(?:tell|inform|instruct) the (?:customer|user|caller)s?\b"
        r"|\bwhat should the (?:support )?assistant do\b"
        r"|\bcall the (?:search )?tool\b|\bthe full answer is given\b|\bin passages? \[",
        re.IGNORECASE,
    ),
]


def instructs_the_assistant(sentence: str) -> bool:
    """Whether `sentence` talks to the assistant or tells it how to answer, not to a customer
    about the product."""
    return any(pattern.search(sentence) for pattern in _PATTERNS)


def without_instructions(text: str) -> str:
    """`text` with each sentence that instructs the assistant left out, paragraph by paragraph
    (a passage shown to the model, a quote shown to a customer); a paragraph without one is
    kept as it was written."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        sentences = split_sentences(" ".join(paragraph.split()))
        if any(instructs_the_assistant(s) for s in sentences):
            paragraph = " ".join(s for s in sentences if not instructs_the_assistant(s))
        paragraphs.append(paragraph)
    return "\n\n".join(p for p in paragraphs if p.strip())
