"""/simulator in real headless Chromium against a real simulation (fakes + gateway).

A person's steps: type on the SMS phone, continue on WhatsApp with the same number, see one
customer and one transcript; ask for a human; take the conversation as the agent and see the
reply reach the phone. Then the guided tour, and the phones' buttons, the 24-hour window
control and STOP. Screenshots go to the test's tmp directory (or OMNIGATE_TEST_SHOTS).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulator.simulation import Simulation
from tests.browser import chromium
from tests.simulator.page import WAIT_MS, SimulatorPage

AGENT_TEXT = "Merhaba, ben Deniz. Siparişiniz yarın elinizde."


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OMNIGATE_TEST_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def person(simulation: Simulation, shots: Path) -> AsyncIterator[SimulatorPage]:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1480, "height": 1000})  # type: ignore[attr-defined]
        someone = SimulatorPage(page, simulation.url, shots)
        await someone.open()
        yield someone
        assert not someone.errors, someone.errors


async def test_sms_then_whatsapp_one_transcript_then_an_agent_replies_to_the_phone(
    person: SimulatorPage, simulation: Simulation
) -> None:
    page = person.page
    assert "SIMULATION" in await page.title()
    assert (await page.locator(".sim-badge").inner_text()).strip().lower() == "simulation"

    await person.type("sms", "siparişim nerede")
    await person.wait_reply("sms", "12345", status="delivered")  # "…numaranızı… (ör. 12345)"
    await person.type("whatsapp", "12345")
    answer = await person.wait_reply("whatsapp", "12345", status="read")
    assert "Yurtiçi" in await answer.inner_text()

    profile = page.locator("#profile")
    await profile.locator(".summary", has_text="across 2 channels").wait_for(timeout=WAIT_MS)
    transcript = await profile.locator(".transcript").inner_text()
    assert "siparişim nerede" in transcript and "12345" in transcript
    identities = await profile.locator(".identities").inner_text()
    assert "+905551112233" in identities and "same phone number" in identities
    await person.shot("one-transcript")

    await person.type("whatsapp", "canlı destek")
    await person.wait_reply("whatsapp", "temsilci")
    agent = page.locator("#agent")
    await agent.locator('.conv[data-state="queued"]').wait_for(timeout=WAIT_MS)
    await agent.locator('[data-action="claim"]').click()
    await agent.locator('[data-action="release"]').wait_for(timeout=WAIT_MS)
    await agent.locator(".agent-input").fill(AGENT_TEXT)
    await agent.locator(".agent-input").press("Enter")
    await person.wait_reply("whatsapp", AGENT_TEXT, status="read")
    await agent.locator(".t-agent", has_text=AGENT_TEXT).wait_for(timeout=WAIT_MS)
    await person.shot("agent-reply-on-whatsapp")

    link = agent.locator("a", has_text="Open agent console")
    if await link.count():  # the console is installed: "Open console" works in one click
        href = await link.get_attribute("href")
        assert href and href.startswith("/console")
        console = await page.context.browser.new_page()
        answer = await console.goto(simulation.url + href)
        assert answer is not None and answer.ok


async def test_the_guided_tour_plays_and_ends_on_one_profile(person: SimulatorPage) -> None:
    page = person.page
    await page.locator("#tour-button").click()
    await page.locator(".tour .tour-steps li.current").first.wait_for(timeout=WAIT_MS)
    await page.locator(".tour-tag", has_text="Tour complete").wait_for(timeout=90_000)
    caption = await page.locator(".tour-caption").inner_text()
    assert "one profile" in caption
    identities = await page.locator("#profile .identities").inner_text()
    assert "sms" in identities.lower() and "whatsapp" in identities.lower()
    texts = await person.replies("whatsapp")
    assert any("Deniz" in t for t in texts), texts  # the agent's reply reached WhatsApp
    assert any("12345" in t for t in texts)
    transcript = await page.locator("#profile .transcript").inner_text()
    assert "canlı destek" in transcript and "Deniz" in transcript
    await person.shot("guided-tour-done")


async def test_buttons_contact_sharing_the_window_control_and_stop(person: SimulatorPage) -> None:
    page = person.page
    await person.type("whatsapp", "merhaba")
    menu = await person.wait_reply("whatsapp", "asistan")
    await menu.locator(".list-open").click()
    await page.locator(".device-whatsapp .sheet-row", has_text="Sipariş durumu").click()
    await person.wait_reply("whatsapp", "Sipariş numaranızı")

    await page.locator(".device-sms .chip.stop").click()
    await person.wait_reply("sms", "BASLA")
    await page.locator(".device-sms .badge.stop").wait_for(timeout=WAIT_MS)

    await person.type("telegram", "merhaba")
    keyboard = await person.wait_reply("telegram", "asistan")
    await keyboard.locator(".kb-btn", has_text="Kargo").click()
    await page.locator(".device-telegram .msg.mine", has_text="Kargo").wait_for(timeout=WAIT_MS)
    await page.locator(".device-telegram .chip", has_text="Share my contact").click()
    await page.locator("#profile .identities", has_text="111222333").wait_for(timeout=WAIT_MS)

    await page.locator(".device-whatsapp .chip.clock").click()
    await page.locator(".device-whatsapp .badge.closed").wait_for(timeout=WAIT_MS)
    await page.locator(".device-whatsapp .sys-note", has_text="25 h back").wait_for(timeout=WAIT_MS)

    await person.shot("buttons-window-stop")
