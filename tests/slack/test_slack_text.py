"""Text across the Slack boundary and the thread's first message within Block Kit's limits."""

from __future__ import annotations

import pytest

from adapters.fakes.slack_wire import block_problems
from adapters.slack import ThreadSummary, TranscriptLine, escape, root_blocks, split_note
from adapters.slack.text import to_plain


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("Kargo &amp; iade &lt;hemen&gt;", "Kargo & iade <hemen>"),
        ("<https://kargo.example/1|takip>", "takip (https://kargo.example/1)"),
        ("<https://kargo.example/1>", "https://kargo.example/1"),
        ("<mailto:destek@example.com|destek@example.com>", "destek@example.com"),
        ("<@U0MEHMET01> bakar", "@U0MEHMET01 bakar"),
        ("<#C0HANDOFF1|handoff>", "#handoff"),
        ("<!here> acil", "@here acil"),
        ("  boşluk  ", "boşluk"),
    ],
)
def test_slack_text_to_plain(slack: str, plain: str) -> None:
    assert to_plain(slack) == plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("note: VIP müşteri", ("VIP müşteri", True)),
        ("NOTE:VIP", ("VIP", True)),
        ("  Note :  iade onaylandı ", ("iade onaylandı", True)),
        ("note:", ("", True)),
        ("notes are here", ("notes are here", False)),
        ("Merhaba, note: bu not değil", ("Merhaba, note: bu not değil", False)),
    ],
)
def test_note_prefix(text: str, expected: tuple[str, bool]) -> None:
    assert split_note(text) == expected


def test_customer_text_cannot_ping_or_link() -> None:
    assert escape("<!channel> <https://phish.example|bank> & co") == (
        "&lt;!channel&gt; &lt;https://phish.example|bank&gt; &amp; co"
    )


def test_a_long_conversation_fits_block_kit() -> None:
    summary = ThreadSummary(
        conversation_id=7,
        customer_name="Ayşe <Yılmaz>",
        identities=(("telegram", "111222333"), ("sms", "+905551112233")) * 20,
        reason="the customer asked for a person",
        team="destek",
        state="agent",
        assignee="Mehmet",
        transcript=tuple(TranscriptLine("Ayşe", "telegram", "ç" * 2000) for _ in range(10)),
        earlier=40,
        extra={"Rating": "5/5"},
    )
    blocks = root_blocks(summary)
    assert block_problems(blocks) == []
    text = "\n".join(str(b) for b in blocks)
    assert "Ayşe &lt;Yılmaz&gt;" in text and "With Mehmet" in text
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["omnigate_release", "omnigate_close"]
