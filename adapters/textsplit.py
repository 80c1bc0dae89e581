"""Splitting long text into messages a person reads as a sequence, not as cut-off words."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, cut at a paragraph, line or word boundary.

    A single word longer than the limit is cut hard (there is no better place). Whitespace at a
    cut is dropped; an empty text gives no chunks.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]  # a separator right after the limit is a fine cut too
        cut = limit
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > limit // 3:  # a boundary that still keeps a reasonable chunk
                cut = at
                break
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks
