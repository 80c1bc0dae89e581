"""The printed table and the JSON file."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

# A figure summarised over rounds: its heading, how to read it off one result, its decimals.
Figure = tuple[str, Callable[[dict[str, Any]], float | None], int]

COLUMNS = (
    ("backend", 10),
    ("conv×msg", 9),
    ("msg/s", 8),
    ("ack p50", 8),
    ("ack p99", 8),
    ("reply p50", 9),
    ("reply p99", 9),
    ("errors", 6),
    ("lost", 4),
    ("dup", 4),
    ("RSS peak", 9),
    ("RSS end", 8),
)


def line(cells: Sequence[str], columns: Sequence[tuple[str, int]]) -> str:
    """One line of a table: the first column left-aligned, the others right-aligned."""
    return "  ".join(
        cell.rjust(width) if i else cell.ljust(width)
        for i, (cell, (_name, width)) in enumerate(zip(cells, columns, strict=True))
    )


HEADER = line([name for name, _ in COLUMNS], COLUMNS)

LEGEND = (
    "msg/s: messages answered per second; ack: sent -> stored and acknowledged; reply: sent -> "
    "the bot's answer received (ms); lost/dup: messages or answers missing/doubled (client "
    "and stored transcripts); RSS: server resident memory"
)


def _num(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _spread(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    low, mid, high = (_num(v, digits) for v in (min(values), median(values), max(values)))
    return f"{mid} ({low}–{high})"


def round_suffix(result: dict[str, Any]) -> str:
    """The round of a result (" #2") when the run had several, else nothing."""
    return f" #{result['round']}" if "round" in result else ""


def medians_table(
    results: list[dict[str, Any]], name: Callable[[dict[str, Any]], str], figures: Sequence[Figure]
) -> list[str]:
    """Per configuration (`name` of a result), each figure's median and range over the rounds
    (results of a run with one round have none)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        if "round" in r:
            groups.setdefault(name(r), []).append(r)
    if not groups:
        return []
    columns = [("config", 19), *((heading, 22) for heading, _, _ in figures)]
    lines = [
        f"medians over {max(len(runs) for runs in groups.values())} rounds (min–max):",
        line([heading for heading, _ in columns], columns),
    ]
    for name, runs in groups.items():
        cells = [name]
        for _heading, read, digits in figures:
            cells.append(_spread([v for r in runs if (v := read(r)) is not None], digits))
        lines.append(line(cells, columns))
    return [*lines, ""]


def label(result: dict[str, Any]) -> str:
    return result["backend"] + round_suffix(result)


_WEBCHAT_FIGURES: tuple[Figure, ...] = (
    ("msg/s", lambda r: r["load"]["messages_per_s"], 0),
    ("ack p99", lambda r: r["load"]["ack"]["p99_ms"], 1),
    ("reply p50", lambda r: r["load"]["reply"]["p50_ms"], 1),
    ("reply p99", lambda r: r["load"]["reply"]["p99_ms"], 1),
    ("RSS peak", lambda r: r["memory"]["peak_mb"], 1),
)


def row(result: dict[str, Any]) -> str:
    load, memory = result["load"], result["memory"]
    cells = (
        label(result),
        f"{load['conversations']}×{load['messages_planned'] // max(1, load['conversations'])}",
        _num(load["messages_per_s"]),
        _num(load["ack"]["p50_ms"], 2),
        _num(load["ack"]["p99_ms"], 2),
        _num(load["reply"]["p50_ms"], 2),
        _num(load["reply"]["p99_ms"], 2),
        str(load["errors"] + result["warmup"]["errors"]),
        str(result["lost"]),
        str(result["duplicated"]),
        _num(memory["peak_mb"], 1, " MB"),
        _num(memory["end_mb"], 1, " MB"),
    )
    return line(cells, COLUMNS)


def details(result: dict[str, Any]) -> list[str]:
    name = label(result)
    if "skipped" in result:
        return [f"{name}: skipped: {result['skipped']}"]
    if "load" not in result:
        return [f"{name}: FAILED: " + "; ".join(result.get("problems", []))]
    load, cpu, stored, server = result["load"], result["cpu"], result["stored"], result["server"]
    lines = [
        f"{name}: {result['database']}; gateway healthy after {result['startup_s']} s, "
        f"idle RSS {_num(result['memory']['idle_mb'], 1, ' MB')}",
        f"{name}: {load['messages_completed']}/{load['messages_planned']} messages answered in "
        f"{load['elapsed_s']} s (after {load['connect_s']} s connecting); "
        f"ack p90 {_num(load['ack']['p90_ms'], 2)} max {_num(load['ack']['max_ms'], 2)} ms, "
        f"reply p90 {_num(load['reply']['p90_ms'], 2)} max {_num(load['reply']['max_ms'], 2)} ms",
        f"{name}: machine load average {result['load_average']['before']} before, "
        f"{result['load_average']['after']} after the measured run",
        f"{name}: CPU server {_num(cpu['server_s'], 2)} s ({_num(cpu['server_cores'], 2)} "
        f"cores), bench client {_num(cpu['client_s'], 2)} s "
        f"({_num(cpu['client_cores'], 2)} cores)",
        f"{name}: transcripts of {stored['customers_checked']} customers checked; "
        f"server exit code {server['exit_code']}, {server['error_lines']} error lines in "
        f"{server['log']}",
        f"{name}: correctness: lost {result['lost']}, duplicated {result['duplicated']}",
    ]
    if load["error_kinds"] or result["warmup"]["error_kinds"]:
        lines.append(
            f"{name}: errors: {load['error_kinds']} warm-up: {result['warmup']['error_kinds']}"
        )
        lines += [f"{name}:   {sample}" for sample in load["error_samples"]]
    if result["problems"]:
        lines.append(f"{name}: PROBLEMS: " + "; ".join(result["problems"]))
        lines += [f"{name}:   server: {line}" for line in server["error_samples"]]
        if server["log_tail"]:
            lines.append(f"{name}: server log tail:\n{server['log_tail']}")
    return lines


def table(results: list[dict[str, Any]]) -> str:
    measured = [r for r in results if "load" in r]
    lines = [HEADER, "-" * len(HEADER), *(row(r) for r in measured), LEGEND, ""]
    lines += medians_table(measured, lambda r: r["backend"], _WEBCHAT_FIGURES)
    for result in results:
        lines += details(result)
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
