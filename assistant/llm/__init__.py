"""The model gateway: one langchain-core chat-model interface over two backends.

``build_chat_model`` gives the embedded SmolLM2 (transformers, in-process) or an
OpenAI-compatible server (vLLM) from the settings; ``complete``, ``choose`` and ``stream`` use
either, or any other ``BaseChatModel`` such as the fakes unit tests use.
"""

from assistant.llm.errors import ModelOutputError, UnknownModelError
from assistant.llm.gateway import build_chat_model, choose, complete, match_option, stream

__all__ = [
    "ModelOutputError",
    "UnknownModelError",
    "build_chat_model",
    "choose",
    "complete",
    "match_option",
    "stream",
]
