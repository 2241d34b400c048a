"""The closed sets of names the CLI's options take, here without their heavy modules so that
`assistant --help` imports nothing but typer (the settings, schemas and results re-export them)."""

from typing import Literal

SearchMode = Literal["hybrid", "dense", "sparse"]
Task = Literal["triage", "escalation"]
Suite = Literal["retrieval", "answers", "triage", "escalation"]
EmbedderBackend = Literal["auto", "onnx", "torch"]
