"""Every prompt the support graph sends, in one place.

The embedded default is a 135M model, so the prompts are short and each asks for one thing;
the structure (a constrained choice, a regex) does the steering a bigger model would not need.
"""

from __future__ import annotations

from assistant.schemas import Action
from assistant.turn.citations import strip_markers

SYSTEM = (
    "You are a customer-support assistant. You answer only from the knowledge base and "
    "cite the passages you use."
)

# Measured on 30 labelled messages (dev questions, greetings, requests for a person) with the
# calibrated choice: this wording 17/30, a bulleted menu before the message 5/30, few-shot 15/30.
DECIDE = (
    "Message: {question}\n"
    "\n"
    "What should the support assistant do with this message? Answer with one word: "
    "search (look up the answer in the help center), reply (greeting or thanks), "
    "clarify (too vague), or human (wants a person)."
)
# What DECIDE looks like with no message, for the calibration of the labels' prior.
DECIDE_CONTENT_FREE = "N/A"

# Searching by mistake costs one search that ends in an answer or a decline; replying,
# clarifying or escalating by mistake fails the customer. So search is the default.
DEFAULT_DECISION = "search"

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

# The model judge (`assistant.turn.model_judge`): its reply is JSON of a fixed schema.
JUDGE = (
    "{passages}\n"
    "\n"
    "Question: {question}\n"
    "\n"
    "Do the numbered passages answer the question? Reply in JSON: answers (true or false) and "
    "passages (the numbers of the passages that answer it)."
)

ANSWER_DIRECTLY = (
    "Reply briefly and politely to the customer's message. Do not state facts about "
    "products or accounts.\n\nMessage: {question}\nReply:"
)

CLARIFY = (
    "The customer's message is too vague to answer. Ask one short question that would "
    "tell you what they need.\n\nMessage: {question}\nQuestion:"
)

# Short, as the MTRAG-UN references decline, with the two ways on.
DECLINE = (
    "Sorry, I do not have that information. You can rephrase the question or ask for a person."
)

# What the escalation adapter is told when the search found nothing (its training wording).
NO_ANSWER_CONTEXT = "The knowledge base has no answer."

ESCALATE = "I am handing this conversation to a human agent, who will reply in this thread."

# Shown with a hedged answer (`Answer.notice`): what was found may not cover the question.
HEDGE = (
    "I am not sure this fully answers your question. If it does not, a person from our team "
    "can take it from here."
)


def format_passages(texts: list[tuple[str, str]]) -> str:
    """Number (title, text) pairs as `[n] title: text`, the form the markers refer to.

    Markers written in the passages themselves are dropped: the only numbers the model sees
    are the ones given here, so a planted "[4]" cannot pose as a passage or a citation.
    """
    numbered = []
    for n, (title, text) in enumerate(texts, 1):
        title, text = strip_markers(title), strip_markers(text)
        numbered.append(f"[{n}] {title + ': ' if title else ''}{text}")
    return "\n\n".join(numbered)
