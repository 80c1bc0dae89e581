"""The HTTP plumbing the REST-based adapters share: one session, timeouts, transport errors.

Transport failures (timeouts, refused or reset connections) become retryable `SendError`s here,
so each adapter only maps the answers its provider gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from adapters.base import SendError

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON (a proxy's HTML error page)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("Retry-After", ""))


def retry_after_seconds(value: str, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP date) in seconds; None if absent or bad."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def new_session(timeout: float) -> aiohttp.ClientSession:
    # One total timeout per call: a provider that hangs must not hold an outbox worker.
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))


async def post(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> HttpAnswer:
    """POST and read the whole answer; transport failures raise a retryable `SendError`."""
    try:
        async with session.post(url, allow_redirects=False, **kwargs) as response:
            body = await response.read()
            return HttpAnswer(response.status, response.headers, body)
    except TimeoutError as exc:
        raise SendError("provider timed out", retryable=True, code="timeout") from exc
    except aiohttp.ClientError as exc:
        raise SendError(
            f"cannot reach provider: {exc.__class__.__name__}: {exc}",
            retryable=True,
            code="connection",
        ) from exc
