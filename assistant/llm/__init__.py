"""The model gateway: one langchain-core chat-model interface over two backends.

``gateway.build_chat_model`` gives the embedded SmolLM2 (transformers, in-process) or an
OpenAI-compatible server (vLLM) from the settings; ``complete``, ``choose`` and ``stream`` use
either, or any other ``BaseChatModel`` such as the fakes unit tests use.

Nothing is imported here on purpose: training and the adapter registry import
``assistant.llm.packaged`` or ``assistant.llm.lora`` without pulling in the OpenAI client.
"""
