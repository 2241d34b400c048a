"""Stop strings: end a reply, whole or streamed, before the first of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the first of the ``stop`` strings in it."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(cuts)] if cuts else text


def cut_stream_at_stop(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """Pass ``pieces`` through, ending before the first stop string.

    A stop string may straddle two pieces, so the last ``len(longest stop) - 1`` characters are
    held back until the next piece shows they are not the start of one.
    """
    stop = [s for s in stop if s]
    if not stop:
        yield from (p for p in pieces if p)
        return
    keep = max(len(s) for s in stop) - 1
    buffer = ""
    for piece in pieces:
        buffer += piece
        cut = cut_at_stop(buffer, stop)
        if len(cut) < len(buffer):
            if cut:
                yield cut
            return
        if len(buffer) > keep:
            ready, buffer = buffer[: len(buffer) - keep], buffer[len(buffer) - keep :]
            yield ready
    if buffer:
        yield buffer
