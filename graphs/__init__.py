"""LangGraph graphs of the assistant (installed as `assistant.graphs`)."""
