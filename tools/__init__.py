"""Tools the agent may call (installed as `assistant.tools`)."""
