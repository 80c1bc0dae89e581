"""Prometheus metrics, one registry per application (tests run several apps in a process).

Under `omnigate serve --workers N` a scrape reaches whichever worker the kernel picks, so each
worker's own counters would jump between workers' totals (and read as resets). The supervisor
sets PROMETHEUS_MULTIPROC_DIR (bot/workers.py): prometheus_client then keeps every value in a
file per process, and a scrape of any worker adds up all of them, including those of workers
that died and were restarted (folded into archives by the supervisor, bot/metrics_files.py),
so counters never go back.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bot.metrics_files import reading
from bot.workers import MULTIPROCESS_DIR


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "omnigate_messages_in_total",
            "Inbound messages stored",
            ["channel"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "omnigate_duplicates_total",
            "Provider retries recognised as duplicates",
            ["channel"],
            registry=self.registry,
        )
        self.messages_out = Counter(
            "omnigate_messages_out_total",
            "Outbound messages accepted by the provider",
            ["channel"],
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "omnigate_delivery_failures_total",
            "Outbound messages that failed for good",
            ["channel", "code"],
            registry=self.registry,
        )
        self.send_retries = Counter(
            "omnigate_send_retries_total",
            "Send attempts to be retried",
            ["channel"],
            registry=self.registry,
        )
        self.webhooks_rejected = Counter(
            "omnigate_webhooks_rejected_total",
            "Webhook requests refused",
            ["provider", "status"],
            registry=self.registry,
        )
        self.turn_latency = Histogram(
            "omnigate_turn_seconds",
            "From message stored to the bot's turn committed",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "omnigate_outbox_depth",
            "Outbox rows waiting to be sent",
            registry=self.registry,
            multiprocess_mode="mostrecent",  # read from the shared database at each scrape
        )
        self.outbox_age = Gauge(
            "omnigate_outbox_oldest_seconds",
            "Age of the oldest waiting outbox row",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        # Human hand-off and what follows it (bot/handoff.py).
        self.handoffs = Counter(
            "omnigate_handoffs_total",
            "Conversations queued for a person",
            ["reason"],
            registry=self.registry,
        )
        self.handoff_timeouts = Counter(
            "omnigate_handoff_timeouts_total",
            "Queued conversations nobody claimed in time",
            ["fallback"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "omnigate_queue_depth",
            "Conversations waiting for an agent",
            registry=self.registry,
            multiprocess_mode="mostrecent",  # every worker counts the same shared queue
        )
        self.conversations_closed = Counter(
            "omnigate_conversations_closed_total",
            "Conversations closed; handed_off=false is the bot's containment",
            ["handed_off"],
            registry=self.registry,
        )
        self.first_agent_reply = Histogram(
            "omnigate_first_agent_reply_seconds",
            "From the hand-off to the first agent reply",
            buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400),
            registry=self.registry,
        )
        self.resolution = Histogram(
            "omnigate_resolution_seconds",
            "From the conversation's start to its close",
            ["handed_off"],
            buckets=(30, 60, 300, 600, 1800, 3600, 14400, 86400),
            registry=self.registry,
        )
        self.csat = Counter(
            "omnigate_csat_responses_total",
            "Customer satisfaction answers",
            ["score"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        directory = os.environ.get(MULTIPROCESS_DIR)
        if not directory:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, path=directory)
        return reading(directory, lambda: generate_latest(every_worker))
