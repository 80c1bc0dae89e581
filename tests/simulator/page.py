"""A person in front of /simulator, in real Chromium: types on a phone, clicks, reads.

Selectors follow what the page shows: each device is `.device-<channel>`, the gateway's
messages on a phone are `.msg.theirs` (the customer's own are `.msg.mine`), a message's
status is its `data-status`; the agent pane is `#agent`, the profile pane `#profile`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WAIT_MS = 20_000


class SimulatorPage:
    def __init__(self, page: Any, base_url: str, shots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.shots = shots
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    async def open(self) -> None:
        await self.page.goto(self.base_url + "/simulator")
        await self.page.wait_for_selector("body.ready", timeout=WAIT_MS)
        await self.page.wait_for_selector("#conn:not(.down)", timeout=WAIT_MS)

    def phone(self, channel: str) -> Any:
        return self.page.locator(f".device-{channel}")

    async def type(self, channel: str, text: str) -> None:
        field = self.phone(channel).locator(".compose-input")
        await field.fill(text)
        await field.press("Enter")

    async def wait_reply(self, channel: str, text: str = "", status: str = "") -> Any:
        """The gateway's message on that phone containing `text` (with `status`, if given)."""
        selector = f".device-{channel} .msg.theirs"
        if status:
            selector += f'[data-status="{status}"]'
        found = self.page.locator(selector, has_text=text).last
        await found.wait_for(timeout=WAIT_MS)
        return found

    async def replies(self, channel: str) -> list[str]:
        return list(await self.phone(channel).locator(".msg.theirs .text").all_inner_texts())

    async def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        await self.page.evaluate("window.scrollTo(0, 0)")  # the banner is sticky: start at top
        await self.page.screenshot(path=str(path), full_page=True)
        return path
