"""The worker process that reads PDF and Word files for `BinaryParser`, under a memory cap.

Run as `python -m assistant.ingestion.parse_worker MAX_BYTES`: it caps its own address space,
then answers one JSON line on stdout for each JSON line of stdin (a `ParseRequest`). A file
that exhausts the memory cap is answered as an error and the worker exits: a process that
met MemoryError is not trusted with the next file.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

from assistant.errors import InputError
from assistant.ingestion.binary_parser import ParsedFile, ParseReply, ParseRequest, memory_error

# Share of the memory cap a worker's peak resident size reaches when a failure is taken for
# running out of memory (the address space is always larger than what is resident).
NEAR_CAP = 0.5


def main() -> None:
    max_bytes = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    # Replies go to the original stdout; anything a library prints goes to stderr instead,
    # where it cannot corrupt a reply.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    for line in sys.stdin.buffer:
        request = ParseRequest.model_validate_json(line)
        try:
            reply = ParseReply(parsed=_read(request))
        except InputError as exc:
            reply = ParseReply(error=str(exc))
        except OSError as exc:
            reply = ParseReply(error=f"cannot read: {exc.strerror or exc}")
        except MemoryError:
            reply = ParseReply(error=memory_error(max_bytes))
        # lxml and pdfminer meet a refused allocation with their own errors ("unknown
        # error"): a worker that grew near its cap before failing ran out of memory.
        if reply.error is not None and _peak_resident_bytes() > NEAR_CAP * max_bytes:
            reply = ParseReply(error=memory_error(max_bytes))
        if reply.error == memory_error(max_bytes):
            replies.write(reply.model_dump_json().encode() + b"\n")
            replies.flush()
            return
        replies.write(reply.model_dump_json().encode() + b"\n")
        replies.flush()


def _peak_resident_bytes() -> int:
    """This process's peak resident size since it started (0 where Linux's /proc is not).

    Not `ru_maxrss`: Linux carries that over from the parent at fork, so a worker started by
    a large process (an API server with its model) would seem near its cap from the start.
    """
    try:
        with open("/proc/self/status") as status:
            line = next((line for line in status if line.startswith("VmHWM:")), "")
    except OSError:
        return 0
    return int(line.split()[1]) * 1024 if line else 0


def _read(request: ParseRequest) -> ParsedFile:
    # Imported here so a worker started for Word files never loads pdfminer, and the reverse.
    path = Path(request.path)
    if request.kind == "pdf":
        from assistant.ingestion.pdf_reader import read_pdf

        pdf = read_pdf(path, request.limits)
        return ParsedFile(title=pdf.title, markdown=pdf.markdown, format="pages")
    from assistant.ingestion.docx_reader import read_docx

    word = read_docx(path, request.limits)
    return ParsedFile(title=word.title, markdown=word.markdown, format="markdown")


if __name__ == "__main__":
    main()
