"""The turn context's transcript: built from the stored rows when a handler first reads it."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from bot.context import Transcript, TranscriptEntry


def _row(n: int, sender: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=n,
        customer_id=9,  # rows carry more columns than an entry keeps
        channel="sms" if n % 2 else "telegram",
        direction="in" if sender == "customer" else "out",
        sender=sender,
        text=f"m{n}",
        created_at=datetime(2026, 12, 5, 10, n, tzinfo=UTC),
    )


def test_transcript_reads_like_a_list_of_entries() -> None:
    rows = [_row(n, "customer" if n % 2 else "bot") for n in range(1, 6)]
    transcript = Transcript(rows)
    assert len(transcript) == 5
    assert transcript[0] == TranscriptEntry(1, "sms", "in", "customer", "m1", rows[0].created_at)
    assert [e.id for e in reversed(transcript)] == [5, 4, 3, 2, 1]
    assert [e.text for e in transcript[-2:]] == ["m4", "m5"]
    assert next(e.text for e in reversed(transcript) if e.sender == "bot") == "m4"
    assert list(Transcript([])) == [] and not Transcript([])
