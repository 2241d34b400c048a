"""Every prompt the support graph sends, in one place.

The embedded default is a 135M model, so the prompts are short and each asks for one thing;
the structure (a constrained choice, a regex) does the steering a bigger model would not need.
"""

from __future__ import annotations

from assistant.schemas import Action

SYSTEM = (
    "You are a customer-support assistant. You answer only from the knowledge base and "
    "cite the passages you use."
)

DECIDE = (
    "A customer wrote the message below. Choose the next step.\n"
    "- search: the message asks about a product, a procedure, a setting or a fact\n"
    "- reply: the message is a greeting, thanks or small talk that needs no facts\n"
    "- clarify: the message is too vague to know what the customer needs\n"
    "- human: the customer asks for a person, or needs an action only staff can take\n"
    "\n"
    "Message: {question}\n"
    "Next step:"
)

# The labels the model scores, in the order the prompt lists them.
DECISION_LABELS: dict[str, Action] = {
    "search": Action.RETRIEVE,
    "reply": Action.ANSWER,
    "clarify": Action.CLARIFY,
    "human": Action.ESCALATE,
}

REWRITE = (
    "The search below found nothing relevant. Write one better search query for the "
    "customer's question, using the conversation for context. Reply with the query only.\n"
    "\n"
    "Conversation:\n{history}\n"
    "Question: {question}\n"
    "Previous query: {query}\n"
    "Better query:"
)

GENERATE = (
    "Answer the customer's question using only the numbered passages. Keep it short. End "
    "each sentence with the number of the passage it comes from, like [1].\n"
    "\n"
    "{passages}\n"
    "\n"
    "Question: {question}\n"
    "Answer:"
)

ANSWER_DIRECTLY = (
    "Reply briefly and politely to the customer's message. Do not state facts about "
    "products or accounts.\n\nMessage: {question}\nReply:"
)

CLARIFY = (
    "The customer's message is too vague to answer. Ask one short question that would "
    "tell you what they need.\n\nMessage: {question}\nQuestion:"
)

DECLINE = (
    "I could not find this in the knowledge base, so I would rather not guess. Could you "
    "rephrase the question, or ask for a person to take it over?"
)

ESCALATE = "I am handing this conversation to a human agent, who will reply in this thread."


def format_passages(texts: list[tuple[str, str]]) -> str:
    """Number (title, text) pairs as `[n] title: text`, the form the markers refer to."""
    return "\n\n".join(
        f"[{n}] {title + ': ' if title else ''}{text}" for n, (title, text) in enumerate(texts, 1)
    )
