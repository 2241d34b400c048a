"""PDF and Word files read in a worker process with a memory and a time cap.

A hostile file (a zip bomb past the size checks, a PDF whose streams inflate without end)
then costs at most the caps, and only that file fails: the worker is stopped and the next
file gets a fresh one. Parsing there also keeps the caller's process free, so an API server
goes on answering while an upload is read. One worker serves a whole ingest run, so its
start-up (about a quarter of a second) is paid once, not per file
(`benchmarks/parse_isolation.py`).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Literal

from pydantic import BaseModel

import assistant
from assistant.errors import InputError
from assistant.ingestion.input_limits import MB, InputLimits
from assistant.schemas import DocFormat

READ_BYTES = 1 << 16
# How long a worker may take to go once asked to (its stdin closed), before it is killed.
STOP_WAIT_S = 5.0


class ParseRequest(BaseModel):
    path: str
    kind: Literal["pdf", "docx"]
    limits: InputLimits


class ParsedFile(BaseModel):
    title: str
    markdown: str
    format: DocFormat


class ParseReply(BaseModel):
    parsed: ParsedFile | None = None
    error: str | None = None


def memory_error(max_bytes: int) -> str:
    return (
        f"needs more than the {max_bytes // MB} MB memory cap to read "
        "(ASSISTANT_INGEST_PARSE_MAX_MEMORY_MB)"
    )


class BinaryParser:
    """Reads PDF and Word files in one worker process, started at the first file.

    Not thread-safe: one caller at a time. Close it (or use it as a context manager) to stop
    the worker.
    """

    def __init__(self, limits: InputLimits | None = None) -> None:
        self.limits = limits or InputLimits()
        self._worker: subprocess.Popen[bytes] | None = None

    def parse(self, path: Path, kind: Literal["pdf", "docx"]) -> ParsedFile:
        """The text of `path`; raises `InputError` for an unreadable file or one over a cap."""
        request = ParseRequest(path=str(path.resolve()), kind=kind, limits=self.limits)
        worker = self._worker or self._start()
        assert worker.stdin is not None
        try:
            worker.stdin.write(request.model_dump_json().encode() + b"\n")
            worker.stdin.flush()
        except BrokenPipeError:
            self._stop()
            raise InputError("the file reader stopped unexpectedly") from None
        line = self._reply(worker, time.monotonic() + self.limits.parse_timeout_s)
        if line is None:
            self._stop(kill=True)
            raise InputError(
                f"took longer than {self.limits.parse_timeout_s:g} s to read "
                "(ASSISTANT_INGEST_PARSE_TIMEOUT_S); stopped"
            )
        if not line:
            # The worker died without answering: the kernel refused it memory somewhere
            # Python could not turn into MemoryError (a C library), or it was killed.
            self._stop()
            raise InputError(memory_error(self.limits.parse_max_memory_bytes))
        reply = ParseReply.model_validate_json(line)
        if reply.parsed is None:
            if worker.poll() is not None or reply.error == memory_error(
                self.limits.parse_max_memory_bytes
            ):
                self._stop()
            raise InputError(reply.error or "could not be read")
        return reply.parsed

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> BinaryParser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        # The worker imports this very code, wherever this process found it.
        source = str(Path(assistant.__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
        self._worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.ingestion.parse_worker",
                str(self.limits.parse_max_memory_bytes),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            bufsize=0,
        )
        return self._worker

    def _reply(self, worker: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """One line from the worker; b"" when it ended first, None past `deadline`."""
        assert worker.stdout is not None
        fd = worker.stdout.fileno()
        received = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                block = os.read(fd, READ_BYTES)
                if not block:
                    return b""
                received += block
                if received.endswith(b"\n"):
                    return bytes(received)

    def _stop(self, *, kill: bool = False) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        assert worker.stdin is not None and worker.stdout is not None
        if kill:
            worker.kill()
        with contextlib.suppress(BrokenPipeError):
            worker.stdin.close()
        try:
            worker.wait(timeout=STOP_WAIT_S if worker.poll() is None else None)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker.stdout.close()
