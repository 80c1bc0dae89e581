"""Fixtures of the Slack tests: a gateway wired to the Telegram fake (the customer's channel)
and the Slack fake (the agents' workspace). No traceback may reach the server log."""

from __future__ import annotations

from tests.channels.conftest import no_tracebacks

__all__ = ["no_tracebacks"]
