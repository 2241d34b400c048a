"""What a message's own words say, whatever knowledge base it is asked of.

Rules that read the message as a whole, with no fitted weights and nothing of any help
center in them, so they hold on knowledge bases the heads never saw:

- `small_talk_as_a_whole`: every word of the message is small talk or a function word, but
  for at most `EXTRA_WORDS_ALLOWED` (a name, a filler). The router and the small-talk head
  read an embedding, and an embedding of "What happens when everyone leaves home in Eco
  mode?" sits near "goodbye"; its words say it is a question about something else.
- `addresses_the_assistant`: a question about the assistant itself ("Where are you from?")
  speaks to it and not about the customer's own things ("Where is my order from?").
- `only_thanks_or_goodbye`: every word of the message thanks, closes or acknowledges ("ok
  thanks!", "great, thanks a lot", "perfect, that's all I needed, bye"), from a closed list
  with no negation in it. The router, fitted on questions, sent "ok thanks!" to the search,
  which asked which page was meant; the small-talk head reads "that did not help" as thanks
  (0.96), so neither decides this alone.
- `only_greeting`: every word of the message greets ("hi there", "good morning", "hello, how
  are you?"). Triage reads the rest by embeddings, and "good morning" sat nearer a feature
  request than "hi there" did: a greeting is no request, whatever it is near.
- `too_vague`: one or two words ("error", "login issue"), or only pronouns and words that
  name no thing ("it doesn't work", "How do I change it?"). Asked with no earlier turn, there
  is nothing to tell what the customer means; the turn asks which of the pages its search
  found they mean.

Words are compared by their Snowball stem, so "leaves", "leaving" and "leave" are one word.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# Words (letters, digits, inner apostrophes), lower-cased: "doesn't" stays one word.
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*")


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no topic of their own: pronouns, determiners, auxiliaries, prepositions,
# conjunctions, question words, and the fillers of chat.
FUNCTION_WORDS = _listed(
    """
    a an the this that these those some any all each every no none another other such
    i me my mine myself we us our ours you your yours yourself he him his she her hers they
    them their theirs it its itself one ones someone somebody something anyone anybody
    anything everyone everybody everything nobody nothing
    am is are was were be been being do does did done doing have has had having
    can could may might must shall should will would
    i'm i've i'd i'll you're you've you'd you'll he's she's it's we're we've they're they've
    that's there's what's who's how's where's when's let's
    don't doesn't didn't can't cannot couldn't won't wouldn't isn't aren't wasn't weren't
    haven't hasn't hadn't shouldn't
    what which who whom whose when where why how whether
    of to in on at by for with from about into onto over under up down out off through
    between after before during without within again
    and or but if then so than too also as because while though although yet nor not
    there here now just very really quite please ok okay oh well yes yeah yep no nope
    hmm um uh wow lol sure sorry
    """
)

# Small talk, by what it is about: the 15 kinds of small talk the small-talk head tells apart
# (greetings, thanks, goodbyes, the assistant itself, jokes, ...), in everyday words.
SMALL_TALK_WORDS = _listed(
    """
    hi hello hey hiya howdy yo greetings morning afternoon evening good day nice meet
    pleased glad going sup whats
    bye goodbye byebye farewell later see soon night goodnight cya ciao cheers leave
    go gotta got take care talk catch
    thanks thank thx ty appreciate grateful helpful help great awesome perfect cool kind
    much lot fine
    bot robot chatbot human real person people ai machine computer program automated
    artificial intelligence alive
    name call
    made make create build program develop design creator maker invent
    work boss employer company owner own behalf
    live born grow hometown located origin country city home come
    old age year birthday
    ask question thing know able capable
    hobby free time fun enjoy like love interest spare spend weekend
    pet dog cat animal
    meaning life purpose point exist existence
    joke funny laugh humor tell
    fact interesting trivia random
    friend buddy pal guy everyone today assistant chat
    want wanna give hear say think learn share let else more most many long around wonder
    wish kind sort different best right place birth subject topic
    """
)

# Words that say something is wrong or wanted without naming what: with only these (and
# function words), a message names no thing the knowledge base could be searched for.
GENERIC_WORDS = _listed(
    """
    work working works worked broken broke break fail fails failed failing failure error
    errors issue issues problem problems trouble wrong bug bugs crash crashes crashed stuck
    help need want try tried trying get got use used using make made set fix fixed change
    changed do go find see show work happen happened happening start stop open load loading
    thing things stuff way question questions info information anymore still again right
    """
)

# Words that address the assistant; and those that make a question about the customer's own
# things ("Who made my order?" is not a question about who made the assistant).
_ADDRESSES = re.compile(
    r"\b(?:you|your|yours|yourself|you're|you've|u|ur|bot|robot|ai|assistant)\b"
)
_OWN = re.compile(r"\b(?:my|mine|our|ours)\b")

# The words of a message that only thanks, says goodbye or acknowledges an answer. No
# negation and nothing about a problem: "thanks but it still does not work" is searched.
ACKNOWLEDGING_WORDS = _listed(
    """
    ok okay alright right sure yes yeah yep great perfect awesome cool nice excellent
    wonderful brilliant super amazing fantastic lovely good fine understood
    got it i i'll i'm we you your that that's this is was it's all just really very so much
    lot lots a the for and help helpful helping answer info information needed need now
    have day see later soon take care again
    thanks thank thankyou thx ty tysm cheers appreciate appreciated
    bye goodbye byebye
    """
)
# At least one of these: "ok great" alone may open a question; "ok great, thanks" ends one.
_THANKS_OR_GOODBYE = _listed(
    "thanks thank thankyou thx ty tysm cheers appreciate appreciated bye goodbye byebye"
)

# The words of a message that only greets, and those of which it needs one ("how are you"
# alone is a question, "hi, how are you" a greeting).
GREETING_WORDS = _listed(
    """
    hi hello hey heya hiya howdy yo greeting greetings good morning afternoon evening day there all
    everyone everybody team folks guys how are you is it going doing what's up sup and to
    """
)
_GREETS = _listed(
    "hi hello hey heya hiya howdy yo greeting greetings morning afternoon evening day"
)

EXTRA_WORDS_ALLOWED = 1
"""Words outside small talk that a small-talk message may still have (a name, a filler)."""
VAGUE_WORDS = 2
"""A message of this many words or fewer, opening a conversation, is too vague to answer."""


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _stems(words: frozenset[str]) -> frozenset[str]:
    return frozenset(_stemmer().stemWords(sorted(words)))


_SMALL_TALK_STEMS = _stems(SMALL_TALK_WORDS)
_GENERIC_STEMS = _stems(GENERIC_WORDS)


def words(text: str) -> list[str]:
    """The message's words, lower-cased ("Doesn't" -> "doesn't")."""
    return _WORD.findall(text.lower().replace("’", "'"))


def content_stems(text: str) -> list[str]:
    """The stems of the message's words that are not function words, in order."""
    content = [w for w in words(text) if w not in FUNCTION_WORDS]
    return list(_stemmer().stemWords(content))


def beyond_small_talk(text: str) -> list[str]:
    """The stems of the message's words that are neither small talk nor function words."""
    return [s for s in content_stems(text) if s not in _SMALL_TALK_STEMS]


def small_talk_as_a_whole(text: str) -> bool:
    """Whether the message is small talk as a whole: no more than `EXTRA_WORDS_ALLOWED`
    words of it are about anything else ("Thanks, bye Sam!" is; "What happens when everyone
    leaves home in Eco mode?" is not: happens, eco, mode)."""
    return bool(words(text)) and len(beyond_small_talk(text)) <= EXTRA_WORDS_ALLOWED


def only_thanks_or_goodbye(text: str) -> bool:
    """Whether every word of the message is in `ACKNOWLEDGING_WORDS` and one of them thanks
    or says goodbye ("ok thanks!", "great, thank you so much"; not "ok", not "thanks for
    nothing")."""
    said = words(text)
    return (
        bool(said)
        and all(w in ACKNOWLEDGING_WORDS for w in said)
        and any(w in _THANKS_OR_GOODBYE for w in said)
    )


def only_greeting(text: str) -> bool:
    """Whether every word of the message is in `GREETING_WORDS` and one of them greets ("Hi
    there!", "good afternoon"; not "hi, how do I book?", not "how are you")."""
    said = words(text)
    return bool(said) and all(w in GREETING_WORDS for w in said) and any(w in _GREETS for w in said)


# Generic words, and words that ask without naming what is asked about ("Tell me about the
# Growth plan").
_NO_TOPIC_STEMS = _GENERIC_STEMS | _stems(
    _listed("tell know explain describe detail details about more")
)


def topic_stems(text: str) -> list[str]:
    """The stems of the message's words that name what it is about: neither function words,
    nor `GENERIC_WORDS`, nor words of asking ("tell", "explain")."""
    return [s for s in content_stems(text) if s not in _NO_TOPIC_STEMS]


def too_vague(text: str) -> bool:
    """Whether the message alone names nothing to look up: `VAGUE_WORDS` words or fewer, or
    only function words and words that name no thing ("it doesn't work", "How do I change
    it?")."""
    said = words(text)
    if len(said) <= VAGUE_WORDS:
        return True
    return all(stem in _GENERIC_STEMS for stem in content_stems(text))


def addresses_the_assistant(text: str) -> bool:
    """Whether the message speaks to the assistant about itself: it says "you" (or "bot",
    "AI", ...) and nothing of the customer's own ("my", "our"). "Where are you from?" does;
    "Where is my order from?" and "Who made the thermostat?" do not."""
    said = " ".join(words(text))
    return bool(_ADDRESSES.search(said)) and not _OWN.search(said)
