"""The webhooks scenario's printed table: one row per configuration, then the details."""

from __future__ import annotations

from typing import Any

from bench.report import Figure, _num, line, medians_table, round_suffix

COLUMNS = (
    ("config", 19),
    ("ingest/s", 8),
    ("×ceil", 5),
    ("ack p50", 7),
    ("ack p99", 7),
    ("drain/s", 7),
    ("e2e/s", 7),
    ("e2e p50", 7),
    ("e2e p99", 7),
    ("err", 4),
    ("lost", 4),
    ("dup", 4),
    ("RSS peak", 8),
    ("RSS end", 8),
    ("load", 9),
)
HEADER = line([name for name, _ in COLUMNS], COLUMNS)
LEGEND = (
    "ingest/s: webhooks acknowledged (200) per second in the burst, ×ceil: that rate over the "
    "bare aiohttp ceiling with as many processes; ack: webhook sent -> 200 (ms); drain/s: "
    "replies per second reaching the fake provider in the burst (a backlog, first webhook -> "
    "last reply); e2e/s, e2e p50/p99: conversations phase, each customer waiting for its reply, "
    "webhook sent -> reply at the fake provider (ms); err: client-side errors (non-200, "
    "timeouts; warm-up included); lost/dup: missing/doubled inbound rows or replies "
    "(database and provider); RSS: resident memory per worker process (the largest one); "
    "load: 1-min load average before the burst -> after the conversations"
)


def _config(result: dict[str, Any]) -> str:
    return f"{result['config']}×{result['workers']}"


def label(result: dict[str, Any]) -> str:
    return _config(result) + round_suffix(result)


def _cells(result: dict[str, Any], ceiling: float | None) -> tuple[str, ...]:
    burst = result["burst"]
    talk = result.get("conversations")
    rate = burst["acks_per_s"]
    ratio = rate / ceiling if rate and ceiling else None
    memory = result["memory"]
    peak = max((m["peak_mb"] for m in memory if m["peak_mb"] is not None), default=None)
    end = max((m["end_mb"] for m in memory if m["end_mb"] is not None), default=None)
    before = burst["load_average"]["before"]
    after = (talk or burst)["load_average"]["after"]
    gateway = result["kind"] == "gateway"
    phases = [result.get("warmup"), burst, talk]
    errors = sum(p["errors"] for p in phases if p)
    return (
        label(result),
        _num(rate),
        _num(ratio, 2),
        _num(burst["ack"]["p50_ms"], 1),
        _num(burst["ack"]["p99_ms"], 1),
        _num(burst["messages_per_s"]) if gateway else "-",
        _num(talk["messages_per_s"]) if talk else "-",
        _num(talk["reply"]["p50_ms"], 1) if talk else "-",
        _num(talk["reply"]["p99_ms"], 1) if talk else "-",
        str(errors),
        str(result["lost"]) if gateway else "-",
        str(result["duplicated"]) if gateway else "-",
        _num(peak, 1, " MB"),
        _num(end, 1, " MB"),
        f"{_num(before, 2)}→{_num(after, 2)}",
    )


def _row(cells: tuple[str, ...]) -> str:
    return line(cells, COLUMNS)


def ceilings(results: list[dict[str, Any]]) -> dict[tuple[int, int], float]:
    """The ceiling's ingest rate by round and number of processes: each configuration is
    divided by the ceiling measured just before it."""
    return {
        (r.get("round", 1), r["workers"]): r["burst"]["acks_per_s"]
        for r in results
        if r.get("kind") == "ceiling" and "burst" in r and r["burst"]["acks_per_s"]
    }


def _talk(result: dict[str, Any], figure: str) -> float | None:
    talk = result.get("conversations")
    if talk is None:
        return None
    return talk["messages_per_s"] if figure == "rate" else talk["reply"]["p99_ms"]


def medians(results: list[dict[str, Any]]) -> list[str]:
    """Per configuration, each figure's median over the rounds and its range."""
    limits = ceilings(results)

    def ratio(r: dict[str, Any]) -> float | None:
        ceiling = limits.get((r["round"], r["workers"]))
        return r["burst"]["acks_per_s"] / ceiling if ceiling else None

    figures: tuple[Figure, ...] = (
        ("ingest/s", lambda r: r["burst"]["acks_per_s"], 0),
        ("×ceil", ratio, 2),
        ("ack p99", lambda r: r["burst"]["ack"]["p99_ms"], 1),
        ("drain/s", lambda r: r["burst"]["messages_per_s"] if r["kind"] == "gateway" else None, 0),
        ("e2e/s", lambda r: _talk(r, "rate"), 0),
        ("e2e p99", lambda r: _talk(r, "p99"), 1),
    )
    return medians_table([r for r in results if "burst" in r], _config, figures)


def _cpu(name: str, cpu: dict[str, Any]) -> str:
    return (
        f"{name} server {_num(cpu['server_cores'], 2)} cores, "
        f"bench client {_num(cpu['client_cores'], 2)} cores"
    )


def _phase_lines(name: str, result: dict[str, Any]) -> list[str]:
    burst, talk = result["burst"], result["conversations"]
    return [
        f"{name}: burst: {burst['acked']}/{burst['planned']} webhooks acknowledged in "
        f"{burst['ack_elapsed_s']} s{' (time limit)' if burst['deadline_hit'] else ''} over "
        f"{result['connections']} connections, ack p90 "
        f"{_num(burst['ack']['p90_ms'], 2)} max {_num(burst['ack']['max_ms'], 2)} ms; "
        f"{burst['answered']} replies at the provider after {burst['reply_elapsed_s']} s "
        f"(backlog latency p50 {_num(burst['reply']['p50_ms'], 0)} "
        f"p99 {_num(burst['reply']['p99_ms'], 0)} ms)",
        f"{name}: burst CPU: {_cpu('ingest', burst['cpu_ingest'])}; "
        f"{_cpu('drain', burst['cpu_drain'])}; load average "
        f"{burst['load_average']['before']} -> {burst['load_average']['after']}",
        f"{name}: conversations: {result['conversations_count']} × {result['messages']} "
        f"messages, {talk['answered']}/{talk['planned']} answered in {talk['reply_elapsed_s']} s; "
        f"e2e p90 {_num(talk['reply']['p90_ms'], 2)} max {_num(talk['reply']['max_ms'], 2)} ms; "
        f"ack p50 {_num(talk['ack']['p50_ms'], 2)} p99 {_num(talk['ack']['p99_ms'], 2)} ms",
        f"{name}: conversations CPU: {_cpu('', talk['cpu']).strip()}; load average "
        f"{talk['load_average']['before']} -> {talk['load_average']['after']}",
    ]


def _memory_line(name: str, result: dict[str, Any]) -> str:
    parts = [
        f"pid {m['pid']}: idle {_num(m['idle_mb'], 1)}, peak {_num(m['peak_mb'], 1)}, "
        f"end {_num(m['end_mb'], 1)} MB"
        for m in result["memory"]
    ]
    supervisor = result.get("supervisor_memory")
    if supervisor:
        parts.append(f"supervisor {_num(supervisor['rss_mb'], 1)} MB")
    return f"{name}: RSS per process: " + "; ".join(parts)


def details(result: dict[str, Any]) -> list[str]:
    name = label(result)
    if "skipped" in result:
        return [f"{name}: skipped: {result['skipped']}"]
    if "burst" not in result:
        return [f"{name}: FAILED: " + "; ".join(result.get("problems", []))]
    if result["kind"] == "ceiling":
        burst = result["burst"]
        lines = [
            f"{name}: bare aiohttp + twilio RequestValidator, {burst['acked']}/"
            f"{burst['planned']} acknowledged in {burst['ack_elapsed_s']} s"
            f"{' (time limit)' if burst['deadline_hit'] else ''}; "
            f"{_cpu('CPU', burst['cpu_ingest'])}; load average "
            f"{burst['load_average']['before']} -> {burst['load_average']['after']}",
            _memory_line(name, result),
        ]
        if result["problems"]:
            lines.append(f"{name}: PROBLEMS: " + "; ".join(result["problems"]))
        return lines
    stored, server = result["stored"], result["server"]
    lines = [
        f"{name}: {result['database']}; healthy after {result['startup_s']} s",
        *_phase_lines(name, result),
        _memory_line(name, result),
        f"{name}: stored {stored['stored_inbound']} inbound, {stored['stored_replies']} bot "
        f"replies, outbox {stored['outbox']}; provider accepted {result['provider_calls']} "
        f"messages; server exit code {server['exit_code']}, {server['error_lines']} error "
        f"lines in {server['log']}",
        f"{name}: correctness: lost {result['lost']}, duplicated {result['duplicated']}",
    ]
    findings = server.get("findings", {})
    lines += [f"{name}: server log: {m}" for m in findings.get("messages", [])]
    lines += [f"{name}: server exception: {e}" for e in findings.get("exceptions", [])]
    if result["problems"]:
        lines.append(f"{name}: PROBLEMS: " + "; ".join(result["problems"]))
        for phase in ("warmup", "burst", "conversations"):
            lines += [f"{name}:   {phase}: {s}" for s in result[phase]["error_samples"]]
        lines += [f"{name}:   provider: {s}" for s in result.get("provider_samples", [])]
        if server["exit_code"] and server["log_tail"]:
            lines.append(f"{name}: server log tail:\n{server['log_tail']}")
    return lines


def table(results: list[dict[str, Any]]) -> str:
    limits = ceilings(results)
    measured = [r for r in results if "burst" in r and "memory" in r]
    rows = [_row(_cells(r, limits.get((r.get("round", 1), r["workers"])))) for r in measured]
    lines = [HEADER, "-" * len(HEADER), *rows, LEGEND, "", *medians(results)]
    for result in results:
        lines += details(result)
    return "\n".join(lines)
