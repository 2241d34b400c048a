"""Errors a user can act on. Each message says what went wrong and what to do."""


class AssistantError(Exception):
    """Base class: the CLI and the API print these without a traceback."""


class InputError(AssistantError):
    """The caller's input is unusable (empty question, bad file, malformed line)."""


class ThreadNotFoundError(InputError):
    """No such conversation thread, or no such answered turn in it."""


class AlreadyWithHumanError(InputError):
    """The thread was handed to a human already and waits for their reply."""


class ModelUnavailableError(AssistantError):
    """The model cannot be loaded or the model server cannot be reached."""


class StoreUnavailableError(AssistantError):
    """The Qdrant store cannot be opened or reached."""


class ThreadStoreUnavailableError(AssistantError):
    """The thread store (PostgreSQL) cannot be reached, or its driver is not installed."""


class InteractionLogError(AssistantError):
    """The interaction log is misconfigured: its redaction hook cannot be loaded or misbehaves."""
