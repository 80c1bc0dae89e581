"""`python -m bench --quick` works and finds every message stored and answered exactly once.

A correctness smoke test of the benchmark itself, not a timed test: no speed figure is
asserted here (figures come from running the benchmark, see bench/).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def test_quick_benchmark_on_sqlite_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--backend", "sqlite", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^backend\s+conv×msg\s+msg/s\s+ack p50", done.stdout, re.M), done.stdout
    assert "sqlite: correctness: lost 0, duplicated 0" in done.stdout, done.stdout

    result = json.loads(output.read_text())["results"][0]
    assert result["backend"] == "sqlite" and result["ok"], result.get("problems")
    assert result["lost"] == 0 and result["duplicated"] == 0
    load = result["load"]
    assert load["messages_completed"] == load["messages_planned"] == load["messages_sent"] > 0
    stored = result["stored"]
    assert stored["customers_checked"] == load["conversations"]
    assert stored["lost_inbound"] == stored["duplicate_inbound"] == 0
    assert stored["lost_replies"] == stored["duplicate_replies"] == 0


def test_transcript_check_counts_lost_and_duplicated_messages() -> None:
    """The stored-side check is not vacuous: it sees a doubled message and a missing reply."""
    from bench.conversation import Conversation
    from bench.verify import check

    conversation = Conversation(0, ["10000000", "10000001"])
    for turn in conversation.turns:
        turn.sent = 0.0

    def message(id_: int, direction: str, sender: str, text: str) -> dict[str, object]:
        return {"id": id_, "direction": direction, "sender": sender, "text": text}

    transcript = [
        message(1, "in", "customer", "sipariş 10000000"),
        message(2, "out", "bot", "10000000 numaralı bir sipariş bulamadım."),
        message(3, "in", "customer", "sipariş 10000001"),
        message(4, "in", "customer", "sipariş 10000001"),
    ]
    counts = check(conversation, transcript)
    assert counts["duplicate_inbound"] == 1 and counts["lost_replies"] == 1
    assert counts["lost_inbound"] == 0 and counts["duplicate_replies"] == 0


def test_quick_webhooks_benchmark_on_sqlite_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Signed Twilio webhooks through the real gateway to the fake Twilio, beside the bare
    aiohttp ceiling: every acknowledged webhook stored once and answered once."""
    output = tmp_path / "webhooks.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--scenario",
            "webhooks",
            "--quick",
            "--backend",
            "sqlite",
            "--output",
            str(output),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^config\s+ingest/s\s+×ceil\s+ack p50", done.stdout, re.M), done.stdout
    assert re.search(r"^machine: \d+ CPU", done.stdout, re.M), done.stdout
    assert "sqlite×1: correctness: lost 0, duplicated 0" in done.stdout, done.stdout

    document = json.loads(output.read_text())
    assert document["scenario"] == "webhooks"
    results = {r["config"]: r for r in document["results"]}
    assert set(results) == {"ceiling", "sqlite"}
    assert results["ceiling"]["ok"] and results["ceiling"]["burst"]["acked"] > 0
    result = results["sqlite"]
    assert result["ok"], result.get("problems")
    assert result["lost"] == 0 and result["duplicated"] == 0
    for phase in ("burst", "conversations"):
        figures = result[phase]
        assert figures["errors"] == 0, figures["error_kinds"]
        assert figures["answered"] == figures["acked"] == figures["sent"] > 0
        assert figures["client_duplicate_replies"] == 0
    talk = result["conversations"]
    assert talk["acked"] == talk["planned"]
    stored = result["stored"]
    assert stored["stored_inbound"] == stored["stored_replies"] > 0
    assert all(m["peak_mb"] for m in result["memory"])


def _rounds(tmp_path: Path, *args: str) -> tuple[str, list[dict[str, Any]]]:
    """Run `python -m bench --quick --repeat 2 --backend sqlite *args`: its output and results."""
    output = tmp_path / "bench.json"
    rounds = ["--quick", "--repeat", "2", "--backend", "sqlite", "--output", str(output)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *rounds, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "medians over 2 rounds (min–max):" in done.stdout, done.stdout
    return done.stdout, json.loads(output.read_text())["results"]


def _assert_median_row(stdout: str, name: str, values: list[float]) -> None:
    """The medians table's first figure for `name`: the median of two rounds and their range."""
    low, high = sorted(values)
    row = re.search(rf"^{re.escape(name)}\s+(\d+) \((\d+)–(\d+)\)", stdout, re.M)
    assert row, stdout
    assert [int(v) for v in row.groups()] == [round((low + high) / 2), round(low), round(high)]


def test_rounds_interleave_and_report_medians(tmp_path: Path) -> None:
    """--repeat 2: every configuration twice, interleaved, each divided by its own round's
    ceiling, then each figure's median and range over the rounds."""
    stdout, results = _rounds(tmp_path, "--scenario", "webhooks")
    assert [(r["config"], r["round"]) for r in results] == [
        ("ceiling", 1),
        ("sqlite", 1),
        ("ceiling", 2),
        ("sqlite", 2),
    ]
    assert all(r["ok"] for r in results), [r.get("problems") for r in results]
    rates = [r["burst"]["acks_per_s"] for r in results if r["config"] == "sqlite"]
    _assert_median_row(stdout, "sqlite×1", rates)
    assert re.search(r"^sqlite×1 #2 ", stdout, re.M), stdout


def test_web_chat_rounds_report_medians(tmp_path: Path) -> None:
    stdout, results = _rounds(tmp_path)
    assert [(r["backend"], r["round"], r["ok"]) for r in results] == [
        ("sqlite", 1, True),
        ("sqlite", 2, True),
    ]
    _assert_median_row(stdout, "sqlite", [r["load"]["messages_per_s"] for r in results])


def test_webhook_checks_count_lost_and_duplicated_messages() -> None:
    """The webhook checks are not vacuous: a doubled row, a missing reply and a reply sent
    twice to the provider are each counted."""
    from bench.webhook_traffic import Ledger, plan
    from bench.webhook_verify import compare

    (messages,) = plan(1, 3, 10_000_000)
    order, greeting, other = messages
    assert greeting.number is None and "sipariş" in order.text
    ledger = Ledger()
    for webhook in messages:
        webhook.sent, webhook.status = 0.0, 200
        ledger.expect(webhook)
    ledger.received(order.phone, f"{order.number} numaralı bir sipariş bulamadım.", 1.0)
    ledger.received(order.phone, f"{order.number} numaralı bir sipariş bulamadım.", 1.1)
    ledger.received(greeting.phone, "Merhaba! Ben mağazamızın dijital asistanıyım.", 1.2)
    rows = {
        "inbound": [(order.sid, 1), (greeting.sid, 2), (other.sid, 1)],
        "replies": [
            (order.phone, f"{order.number} numaralı bir sipariş bulamadım."),
            (greeting.phone, "Merhaba!"),
        ],
        "outbox": [("sent", 2)],
        "turns": [("done", 4)],
    }
    counts = compare(rows, messages, ledger)
    assert counts["duplicate_inbound"] == 1 and counts["lost_inbound"] == 0
    assert counts["lost_replies"] == 1  # `other` has no stored reply
    assert counts["provider_lost"] == 1 and counts["provider_duplicates"] == 1
    assert counts["duplicate_replies"] == counts["unexpected_inbound"] == 0
