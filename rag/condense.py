"""Follow-up questions: history trimming and the rule that rewrites a follow-up (pure).

With an LLM, a follow-up is rewritten by the model (prompt ``condense_follow_up``).
Without one, a simple rule does it: a question that leans on the conversation
(it opens with "and"/"what about", refers back with "it", "he", "that"..., or
has fewer than three content words and names nothing) is joined to the last
standalone question, so retrieval sees both the new ask and what it is about. A
question that names its subject ("How much is the Falcon budget?") stands alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from index.text_terms import ANSWER_STOP_WORDS, terms, words
from index.tokens import count_tokens

_CONNECTOR = re.compile(
    r"^\s*(?:and|but|also|so|then|or|ok(?:ay)?|what about|how about|and what about|what else)\b[\s,]*",
    re.IGNORECASE,
)
_REFERRING = frozenset(
    "it its he him his she her hers they them their theirs this that these those there "
    "former latter such".split()
)
MIN_CONTENT_TERMS = 3
_CASED_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W_]+)?", re.UNICODE)


@dataclass(frozen=True)
class Message:
    """One chat turn; ``role`` is "user" or "assistant" (the shape Gradio and OpenAI use)."""

    role: str
    content: str


MessageLike = Message | Mapping[str, object]


def as_messages(messages: Sequence[MessageLike]) -> list[Message]:
    """Accept ``Message`` objects or ``{"role": ..., "content": ...}`` dicts (pure)."""
    out: list[Message] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
            continue
        role, content = m.get("role"), m.get("content")
        if role not in ("user", "assistant", "system") or not isinstance(content, str):
            raise ValueError(
                f"message {i} must have role user/assistant/system and text content, got {dict(m)!r:.120}"
            )
        out.append(Message(str(role), content))
    return out


def trim_history(
    history: Sequence[Message], budget: int, count: Callable[[str], int] = count_tokens
) -> list[Message]:
    """The most recent messages whose contents fit in ``budget`` tokens, oldest first (pure).

    Whole messages are kept or dropped, newest kept first; system messages, and an
    assistant reply whose question was dropped, are dropped too.
    """
    kept: list[Message] = []
    used = 0
    for message in reversed(history):
        if message.role == "system":
            continue
        cost = count(message.content) + 4  # role and separators
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    while kept and kept[0].role != "user":  # an answer without its question only confuses
        kept.pop(0)
    return kept


def format_history(history: Sequence[Message]) -> str:
    """The conversation as the condense prompt shows it (pure)."""
    return "\n".join(f"{m.role.capitalize()}: {' '.join(m.content.split())}" for m in history)


def is_follow_up(question: str) -> bool:
    """True when ``question`` probably cannot be understood without the conversation (pure).

    >>> is_follow_up("and who said that?"), is_follow_up("Who founded the Acme company in Ohio?")
    (True, False)
    """
    if _CONNECTOR.match(question):
        return True
    tokens = words(question)
    if any(w in _REFERRING for w in tokens):
        return True
    return len(set(terms(question))) < MIN_CONTENT_TERMS and not names_something(question)


def names_something(question: str) -> bool:
    """True when ``question`` names its subject: a capitalised word after the first one (pure).

    "How much is the Falcon budget?" names Project Falcon; "How much is the budget?" names
    nothing, so it needs the conversation. "I" and capitalised stop words do not count.

    >>> names_something("How much is the Falcon budget?"), names_something("How much is the budget?")
    (True, False)
    """
    for word in _CASED_WORD.findall(question)[1:]:
        lower = word.lower().replace("’", "'")
        if word[0].isupper() and lower not in ANSWER_STOP_WORDS and lower != "i" and not lower.startswith("i'"):
            return True
    return False


def rule_condense(previous_questions: Sequence[str], question: str) -> str:
    """Rewrite ``question`` as a standalone question by the rule, given earlier user questions (pure).

    The earlier questions are rewritten first (a follow-up of a follow-up keeps the
    topic). A question that is not a follow-up, or has nothing before it, is returned
    unchanged.

    >>> rule_condense(["Who founded Acme?"], "and when did he retire?")
    'When did he retire? (about: Who founded Acme?)'
    """
    question = " ".join(question.split())
    topic = ""
    for earlier in previous_questions:
        earlier = " ".join(earlier.split())
        if not earlier:
            continue
        topic = _join(earlier, topic) if topic and is_follow_up(earlier) else earlier
    if not topic or not is_follow_up(question):
        return question
    return _join(question, topic)


def _join(question: str, topic: str) -> str:
    core = _CONNECTOR.sub("", question).strip() or question
    core = core[0].upper() + core[1:]
    topic = re.sub(r"^.*\(about: (.*)\)$", r"\1", topic)
    return f"{core} (about: {topic})"


def previous_user_questions(history: Sequence[Message]) -> list[str]:
    """The user's earlier questions, oldest first (pure)."""
    return [m.content for m in history if m.role == "user"]
