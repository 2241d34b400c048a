"""Joining a Ray cluster for ``triage-batch --ray``, or starting Ray on this machine.

An address is probed with a plain TCP connection first: ``ray.init`` against a host that
does not answer retries for a long time, and a batch command should say at once that the
cluster is not there.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.errors import InputError

# HOST:PORT of a head node's GCS, or ray://HOST:PORT of a Ray Client server.
_ADDRESS = re.compile(r"^(?:ray://)?(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d{1,5})$")


def check_reachable(address: str, timeout_s: float) -> None:
    """``InputError`` unless ``address`` is ``auto`` or a HOST:PORT that accepts a connection
    within ``timeout_s``."""
    if address == "auto":
        return
    match = _ADDRESS.match(address)
    if match is None:
        raise InputError(
            f"{address!r} is not a Ray address: give HOST:PORT of the head node, "
            "ray://HOST:PORT, or auto"
        )
    host, port = match["host"].strip("[]"), int(match["port"])
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise InputError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it "
            "with `ray start --head` or check ASSISTANT_RAY_ADDRESS / --ray-address"
        ) from None


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Ray connected for the block: to ``address`` (probe it with ``check_reachable`` first),
    or a Ray instance started on this machine (and stopped after) when it is None. A session
    the caller already opened is used as it is and left open."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray Data: pip install 'hybrid-assistant[ray]'") from None
    if ray.is_initialized():
        yield
        return
    try:
        if address is None:
            ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
        # RayError: e.g. an AuthenticationError from a cluster that wants a token
        # (RAY_AUTH_MODE=token and RAY_AUTH_TOKEN, or ~/.ray/auth_token, on this machine).
        raise InputError(
            f"cannot join the Ray cluster at {address or 'this machine'}: {exc}"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()
