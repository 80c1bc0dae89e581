"""The agent console (/console) in real headless Chromium, against a real running gateway.

A person's steps: a customer on the web chat widget (a second browser page) asks for a human,
the conversation appears in the console's queue without a reload, the agent signs in, claims
it, answers with a canned response, writes an internal note, hands it back to the bot and
closes it; the customer's widget shows what a customer should see and nothing else.

The console is read through its `data-testid` attributes and visible text; the backend is
checked through the REST API. Screenshots go to $OMNIGATE_CONSOLE_SHOTS (or the test's tmp
dir) so a person can look at them.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import insert

from adapters.fakes import send_twilio_webhook, twilio_status_params
from storage.tables import MessageRow
from tests.browser import chromium
from tests.channels.stack import (
    CUSTOMER,
    TWILIO_SID,
    TWILIO_TOKEN,
    WA_FROM,
    Stack,
    channel_stack,
    eventually,
)
from tests.handoff.helpers import Agent, Customer, create_agent, thread, turn_settled
from tests.storage.rows import inbound_row
from tests.support import API_TOKEN, REDIS_URL, LiveGateway, break_pubsub_link, start_gateway
from tests.test_webchat_browser import Chat, new_chat

WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)


class Console:
    """An agent in front of the console page."""

    def __init__(self, page: Page, base_url: str, shots: Path) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.shots = shots
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )

    def assert_no_errors(self, *refusals: int) -> None:
        """No script error, no CSP violation, no failed request but the API's `refusals`
        (the browser logs a refused request, e.g. a 401 sign-in, as a console error)."""
        expected = tuple(f"status of {status} " for status in refusals)
        unexpected = [e for e in self.errors if not any(x in e for x in expected)]
        assert not unexpected, unexpected

    async def open(self, query: str = "") -> None:
        answer = await self.page.goto(self.base_url + "/console" + query)
        assert answer is not None and answer.ok
        # Only the page's own scripts run, and no other site may frame it.
        policy = (await answer.all_headers())["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        # Marks this page load: still there at the end means nothing reloaded the page.
        await self.page.evaluate("window.__sameLoad = true")

    async def sign_in(self, token: str) -> None:
        await self.page.get_by_label(re.compile("Erişim anahtarı|Access token")).fill(token)
        await self.page.get_by_test_id("signin-submit").click()

    def tid(self, test_id: str) -> Any:
        return self.page.get_by_test_id(test_id)

    def conversation(self, cid: int) -> Any:
        return self.page.locator(f'[data-testid=conversation][data-conversation-id="{cid}"]')

    def messages(self, **data: str) -> Any:
        selector = "#messages [data-testid=message]"
        for key, value in data.items():
            selector += f'[data-{key}="{value}"]'
        return self.page.locator(selector)

    def system(self, event: str) -> Any:
        return self.page.locator(f'#messages [data-testid=system-entry][data-event="{event}"]')

    async def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(self.shots / f"{name}.png"))

    async def assert_same_load(self) -> None:
        assert await self.page.evaluate("window.__sameLoad === true"), "the page reloaded"


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = os.environ.get("OMNIGATE_CONSOLE_SHOTS")
    return Path(base) / request.node.name if base else tmp_path / "shots"


class People:
    """Browser pages of one test: agents at the console, customers on the demo page. Their
    contexts close before the gateway stops (an open socket would hold its shutdown up)."""

    def __init__(self, browser: Any, gw: LiveGateway, shots: Path) -> None:
        self.browser = browser
        self.gw = gw
        self.shots = shots
        self.contexts: list[Any] = []

    async def agent(self, **options: Any) -> Console:
        options.setdefault("viewport", {"width": 1440, "height": 900})
        options.setdefault("locale", "tr-TR")
        context = await self.browser.new_context(**options)
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        return Console(page, self.gw.base_url, self.shots)

    async def customer(self) -> Chat:
        chat = await new_chat(self.browser, self.gw.base_url)
        self.contexts.append(chat.page.context)
        return chat

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def people(live_gateway: LiveGateway, shots: Path) -> AsyncIterator[People]:
    async with chromium() as browser:
        crowd = People(browser, live_gateway, shots)
        try:
            yield crowd
        finally:
            await crowd.close()


async def customer_texts(chat: Chat, sender: str) -> list[str]:
    return [m["text"] for m in await chat.transcript() if m["sender"] == sender]


async def whatsapp_status(stack: Stack, sid: str, status: str) -> None:
    """Twilio's status callback for a WhatsApp message (stack.twilio_status speaks SMS)."""
    params = twilio_status_params(
        message_sid=sid,
        status=status,
        from_=f"whatsapp:{WA_FROM}",
        to=f"whatsapp:{CUSTOMER}",
        account_sid=TWILIO_SID,
    )
    answer = await send_twilio_webhook(stack.twilio_status_url, params, TWILIO_TOKEN)
    assert answer.status == 200


async def latest_conversation(gw: LiveGateway, customer_id: int) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        status, body = await gw.api(f"/api/v1/conversations?customer_id={customer_id}")
        assert status == 200, body
        return max(body["conversations"], key=lambda c: c["id"]) if body["conversations"] else None

    return await gw.wait_for(found)


# ------------------------------------------------------------------------------------ tests


async def test_agent_takes_over_a_web_chat_and_hands_it_back(
    people: People, live_gateway: LiveGateway, shots: Path
) -> None:
    gw = live_gateway
    ayse = await create_agent(gw, "Ayşe Yılmaz", email="ayse@example.com", teams=["destek"])
    status, canned = await gw.api("/api/v1/canned")
    assert status == 200
    merhaba = next(c["text"] for c in canned["canned"] if c["shortcut"] == "merhaba")

    agent = await people.agent()
    page = agent.page
    await agent.open()
    await agent.shot("01-sign-in")
    await agent.sign_in(ayse.token)
    await expect(agent.tid("me-name")).to_have_text("Ayşe Yılmaz")
    await expect(agent.tid("live")).to_have_attribute("data-state", "open")
    await expect(agent.tid("count-queue")).to_have_text("0")
    assert await page.evaluate("sessionStorage.getItem('omnigate.console.token')") == ayse.token

    # Her status: away (as created) -> online -> away, through PATCH /api/v1/agents/{id}.
    toggle = agent.tid("status-toggle")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(toggle).to_contain_text("Çevrimiçi")
    assert (await ayse.call("/api/v1/me"))[1]["status"] == "online"
    await toggle.click()  # away again: the hand-off below waits in the queue for a claim
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    assert (await ayse.call("/api/v1/me"))[1]["status"] == "away"
    await agent.shot("02-empty-queue")

    # A customer on the web chat asks for a person: the console's queue shows it, live.
    chat = await people.customer()
    await chat.open_demo()
    await chat.say("canlı destek", lambda text: "temsilci" in text, "the hand-off answer")
    customer_id = await chat.page.evaluate("window.Omnigate.customerId")
    conversation = await latest_conversation(gw, int(customer_id))
    cid = conversation["id"]
    assert conversation["state"] == "queued"
    item = agent.conversation(cid)
    await expect(item).to_be_visible()
    await expect(agent.tid("count-queue")).to_have_text("1")
    await expect(item).to_contain_text("Müşteri temsilci istedi")  # the reason
    await expect(item).to_contain_text("bekliyor")  # waiting time
    # Screen readers hear it (aria-live), whatever has the focus.
    await expect(agent.tid("announcer")).to_contain_text("Kuyrukta yeni konuşma")
    await expect(item.get_by_test_id("channel")).to_have_text("Web")
    assert await page.title() == "(1) Omnigate Konsol"
    await agent.shot("03-queued-live")

    # She opens it: the thread across channels, the customer panel.
    await item.click()
    await expect(agent.tid("thread-meta").get_by_test_id("state")).to_have_text("Kuyrukta")
    customer_msg = agent.messages(sender="customer").filter(has_text="canlı destek")
    await expect(customer_msg).to_have_count(1)
    await expect(customer_msg.get_by_test_id("channel")).to_have_text("Web")
    await expect(agent.messages(sender="bot").filter(has_text="temsilci")).to_have_count(1)
    await expect(agent.system("queued")).to_have_count(1)
    # System entries in the console's language: Turkish here, English after a switch.
    await expect(agent.system("queued")).to_contain_text(
        "Temsilci bekleniyor: müşteri bir temsilci istedi"
    )
    panel = agent.tid("customer-body")
    await expect(panel.get_by_test_id("identity")).to_have_count(1)
    await expect(panel.get_by_test_id("identity")).to_contain_text("ilk temas")
    await expect(agent.tid("composer-hint")).to_contain_text("üzerinize alır")

    # Claim.
    await agent.tid("action-claim").click()
    await expect(agent.tid("thread-meta").get_by_test_id("state")).to_have_text("Temsilcide")
    await expect(agent.tid("assignee")).to_have_text("Atanan: Ayşe Yılmaz")
    await expect(agent.system("assigned")).to_have_count(1)
    await expect(agent.system("assigned")).to_contain_text("Ayşe Yılmaz konuşmayı üstlendi")
    await agent.tid("lang-toggle-app").click()
    await expect(agent.system("queued")).to_contain_text(
        "Waiting for an agent: the customer asked for a person"
    )
    await expect(agent.system("assigned")).to_contain_text("Conversation assigned to Ayşe Yılmaz")
    await agent.tid("lang-toggle-app").click()
    await expect(agent.tid("action-claim")).to_be_hidden()
    await expect(agent.tid("count-mine")).to_have_text("1")
    await expect(agent.tid("count-queue")).to_have_text("0")
    await expect(agent.tid("tab-mine")).to_have_attribute("aria-selected", "true")

    # "/" shows the canned responses; typing narrows them; Enter picks one.
    box = agent.tid("composer-text")
    await box.click()
    await box.press("/")
    suggestions = agent.tid("canned-item")
    await expect(agent.tid("canned")).to_be_visible()
    await expect(suggestions).to_have_count(8)  # the first eight of twelve
    await expect(suggestions.nth(0)).to_have_attribute("aria-selected", "true")
    await box.press("ArrowDown")  # the keyboard moves through them
    await expect(suggestions.nth(1)).to_have_attribute("aria-selected", "true")
    await expect(box).to_have_attribute("aria-activedescendant", "canned-1")
    await box.press_sequentially("merh")
    await expect(suggestions).to_have_count(1)
    await expect(suggestions.first).to_have_attribute("data-shortcut", "merhaba")
    await agent.shot("04-canned-suggestions")
    await box.press("Enter")
    await expect(agent.tid("canned")).to_be_hidden()
    await expect(box).to_have_value(merhaba)
    await box.press("Enter")  # sends
    await expect(box).to_have_value("")
    reply = agent.messages(sender="agent", note="false").filter(has_text=merhaba)
    await expect(reply).to_have_count(1)
    await expect(reply).to_have_attribute("data-delivery", re.compile("^(sent|delivered|read)$"))
    await expect(reply.get_by_test_id("delivery")).to_contain_text(
        re.compile("Gönderildi|İletildi")
    )

    # The customer's widget shows it, from an agent.
    await chat.wait(
        "the agent's reply in the widget",
        lambda shown: any(m["sender"] == "agent" and m["text"] == merhaba for m in shown),
    )

    # A typed "/shortcut" expands too (without picking from the list), Shift+Enter is a newline.
    await box.fill("/bekleyin")
    await box.press("Escape")
    await box.press("Shift+Enter")
    await box.press_sequentially("Bir dakika.")
    await expect(box).to_have_value("/bekleyin\nBir dakika.")
    await box.press("Enter")
    expanded = next(c["text"] for c in canned["canned"] if c["shortcut"] == "bekleyin")
    await expect(agent.messages(sender="agent").filter(has_text=expanded)).to_have_count(1)
    await chat.wait(
        "the expanded canned reply",
        lambda shown: any(m["text"] == expanded + "\nBir dakika." for m in shown),
    )

    # The customer writes again: it appears in the console live; the bot stays silent.
    bots_before = len(await customer_texts(chat, "bot"))
    index = await chat.type("kargom hâlâ gelmedi")
    await chat.wait_acked(index, "kargom hâlâ gelmedi")
    live = agent.messages(sender="customer").filter(has_text="kargom hâlâ gelmedi")
    await expect(live).to_have_count(1)
    await expect(agent.tid("announcer")).to_contain_text("kargom hâlâ gelmedi")
    entries = await thread(gw, cid)
    asked = next(m["id"] for m in entries if m["text"] == "kargom hâlâ gelmedi")
    await turn_settled(gw, asked)
    await asyncio.sleep(1.0)
    assert len(await customer_texts(chat, "bot")) == bots_before, "the bot answered"

    # An internal note: shown as a note, never sent.
    await agent.tid("note-toggle-label").click()
    await expect(agent.tid("composer")).to_have_attribute("data-note", "true")
    await expect(agent.tid("composer-send")).to_have_text("Not ekle")
    await box.fill("VIP müşteri, kargo ücretsiz gönderilsin")
    await box.press("Enter")
    note = agent.messages(note="true").filter(has_text="VIP müşteri")
    await expect(note).to_have_count(1)
    await expect(note).to_contain_text("İç not")
    await expect(note.get_by_test_id("delivery")).to_have_count(0)
    await agent.shot("05-claimed-reply-note")
    await chat.page.screenshot(path=str(shots / "05b-customer-widget.png"))
    await agent.tid("note-toggle-label").click()  # back to replies
    await expect(agent.tid("composer")).to_have_attribute("data-note", "false")

    # Release: the bot answers the customer again.
    await agent.tid("action-release").click()
    await expect(agent.tid("thread-meta").get_by_test_id("state")).to_have_text("Bot")
    await expect(agent.system("released")).to_have_count(1)
    await expect(agent.tid("count-mine")).to_have_text("0")
    await chat.say("siparişim nerede", lambda text: "numara" in text.lower(), "the bot again")
    await expect(
        agent.messages(sender="bot").filter(has_text=re.compile("numara", re.I))
    ).to_have_count(1)

    # Close: the customer is asked for a rating; their answer shows in the customer panel.
    await agent.tid("action-close").click()
    await expect(agent.tid("thread-meta").get_by_test_id("state")).to_have_text("Kapalı")
    await expect(agent.system("closed")).to_have_count(1)
    await expect(agent.tid("action-close")).to_be_hidden()
    await expect(agent.tid("note-toggle")).to_be_disabled()  # a closed one takes notes only
    await chat.wait(
        "the CSAT question",
        lambda shown: any("1" in m["text"] and "5" in m["text"] for m in shown[-2:]),
    )
    await expect(panel.get_by_test_id("csat")).to_contain_text("Puan istendi")
    await chat.say("5", lambda text: "teşekkür" in text.lower(), "the thanks for the rating")
    await expect(panel.get_by_test_id("csat")).to_contain_text("5/5")
    await agent.shot("06-closed-with-csat")

    # The note never reached the customer, not even in the widget's history after a reload.
    await chat.page.reload()
    await chat.wait_connected()
    await chat.wait("the history", lambda shown: len(shown) >= 8)
    shown = await chat.transcript()
    assert not any("VIP" in m["text"] for m in shown), shown
    assert not any(m["sender"] == "system" for m in shown), shown

    await agent.assert_same_load()
    agent.assert_no_errors()
    assert not chat.page_errors, chat.page_errors

    # Sign out: back to the sign-in form, the token forgotten.
    await agent.tid("signout").click()
    await expect(agent.tid("signin")).to_be_visible()
    await expect(agent.tid("signin-error")).to_contain_text("Çıkış yaptınız")
    assert await page.evaluate("sessionStorage.getItem('omnigate.console.token')") is None


async def test_wrong_token_gets_a_clear_sign_in_error(people: People) -> None:
    agent = await people.agent()
    await agent.open()
    await agent.tid("signin-submit").click()
    await expect(agent.tid("signin-error")).to_have_text("Lütfen erişim anahtarınızı girin.")
    await agent.sign_in("oga_not-a-real-token")
    error = agent.tid("signin-error")
    await expect(error).to_have_text("Bu anahtar geçersiz. Lütfen kontrol edip yeniden deneyin.")
    await expect(error).to_have_attribute("role", "alert")
    await expect(agent.tid("signin-token")).to_have_attribute("aria-invalid", "true")
    await expect(agent.tid("console")).to_be_hidden()
    await agent.shot("wrong-token")

    # In English, the same error in English.
    await agent.tid("lang-toggle").click()
    await expect(error).to_have_text("That token is not valid. Please check it and try again.")
    await agent.tid("lang-toggle").click()

    # The admin token works (the built-in Admin), and a reload keeps the session (this tab).
    await agent.sign_in(API_TOKEN)
    await expect(agent.tid("me-name")).to_have_text("Admin")
    await expect(agent.tid("tab-open")).to_be_visible()  # admins see every open conversation
    await agent.page.reload()
    await expect(agent.tid("me-name")).to_have_text("Admin")
    agent.assert_no_errors(401)


async def test_state_machine_errors_are_readable_and_admins_see_all(
    people: People, live_gateway: LiveGateway
) -> None:
    gw = live_gateway
    mehmet: Agent = await create_agent(gw, "Mehmet", email="mehmet@example.com")
    admin = await people.agent(locale="en-GB")
    await admin.open("?lang=en")
    await admin.sign_in(API_TOKEN)
    await expect(admin.tid("tab-queue")).to_contain_text("Queue")

    async with Customer(gw) as customer:
        evil = '<img src=x onerror="window.__xss=1"><b>bold</b>'
        await customer.say(evil)
        await customer.hears()
        await customer.say("I want to talk to a human")
        await customer.hears()
        conversation = await customer.conversation()
        cid = conversation["id"]
        item = admin.conversation(cid)
        await expect(item).to_be_visible()
        await expect(item).to_contain_text("waiting")
        await item.click()
        await expect(admin.tid("thread-meta").get_by_test_id("state")).to_have_text("Queued")
        shown = admin.messages(sender="customer").filter(has_text=evil)
        await expect(shown).to_have_count(1)  # the markup as text, not as markup
        assert await admin.page.locator("#messages img, #messages b").count() == 0
        assert await admin.page.evaluate("window.__xss") is None

        # Mehmet claims it through the API: the admin's console follows, live.
        status, _ = await mehmet.act(cid, "claim")
        assert status == 200
        await expect(admin.tid("assignee")).to_have_text("Assigned to Mehmet")
        await expect(admin.tid("thread-meta").get_by_test_id("state")).to_have_text("With agent")
        await admin.tid("tab-open").click()
        await expect(admin.conversation(cid)).to_contain_text("with Mehmet")
        await expect(admin.tid("composer-hint")).to_contain_text("only add internal notes")

        # The admin tries to claim it anyway: the state machine's 409 as a readable message.
        await admin.tid("action-claim").click()
        toast = admin.tid("toast")
        await expect(toast).to_be_visible()
        await expect(admin.tid("toast-text")).to_have_text(
            "The conversation is with another agent (With agent)."
        )
        await expect(admin.tid("toast-detail")).to_contain_text("409")
        await expect(admin.tid("toast-detail")).to_contain_text("assigned to Mehmet")
        await admin.shot("409-readable")

        # The admin may release someone else's conversation: back to the bot.
        await admin.tid("action-release").click()
        await expect(admin.tid("thread-meta").get_by_test_id("state")).to_have_text("Bot")
        await customer.say("where is my order")
        answer = await customer.hears()
        assert answer["sender"] == "bot"
    admin.assert_no_errors(409)


async def test_live_updates_survive_a_dropped_connection(
    people: People, live_gateway: LiveGateway
) -> None:
    gw = live_gateway
    ayse = await create_agent(gw, "Ayşe", email="ayse2@example.com")
    agent = await people.agent()
    # Keeps a handle on the console's sockets, so the test can cut one like a network would.
    await agent.page.context.add_init_script(
        """(() => {
          const Native = window.WebSocket;
          window.__sockets = [];
          window.WebSocket = class extends Native {
            constructor(...args) { super(...args); window.__sockets.push(this); }
          };
        })();"""
    )
    await agent.open()
    await agent.sign_in(ayse.token)
    await expect(agent.tid("live")).to_have_attribute("data-state", "open")
    frames: list[str] = []
    agent.page.on(
        "websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(str(payload)))
    )

    async with Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        cid = (await customer.conversation())["id"]
        await agent.conversation(cid).click()
        await ayse.act(cid, "claim")
        await expect(agent.tid("assignee")).to_have_text("Atanan: Ayşe")

        # The connection drops; what the customer writes meanwhile shows after the reconnect.
        await agent.page.evaluate("window.__sockets.at(-1).close()")
        await expect(agent.tid("live")).to_have_attribute(
            "data-state", re.compile("retry|connecting")
        )
        await customer.say("hâlâ orada mısınız?")
        await expect(agent.tid("live")).to_have_attribute("data-state", "open")
        await expect(
            agent.messages(sender="customer").filter(has_text="hâlâ orada mısınız?")
        ).to_have_count(1)
        # The token travels in the first frame, never in the URL.
        assert any('"type":"auth"' in f.replace(" ", "") for f in frames), frames
        assert all(
            ayse.token not in s
            for s in await agent.page.evaluate("window.__sockets.map(s => s.url)")
        )
        assert len(await agent.page.evaluate("window.__sockets")) >= 2

        # And the live updates go on over the new connection.
        await customer.say("teşekkürler")
        await expect(
            agent.messages(sender="customer").filter(has_text="teşekkürler")
        ).to_have_count(1)
    await agent.assert_same_load()
    agent.assert_no_errors()


async def test_one_customer_across_sms_and_whatsapp_with_live_delivery_ticks(
    sqlite_url: str, shots: Path
) -> None:
    """The same phone on SMS and WhatsApp is one customer with one thread: the console shows
    each message's channel, both identities and how they were linked, and the delivery status
    of each reply as the provider's status callbacks come in (a failure with its error)."""
    async with (
        channel_stack(sqlite_url, twilio_callbacks=False) as stack,
        chromium() as browser,
    ):
        gw, twilio = stack.gw, stack.twilio
        ayse = await create_agent(gw, "Ayşe", email="ayse3@example.com")
        context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="tr-TR")
        try:
            agent = Console(await context.new_page(), gw.base_url, shots)
            agent.page.set_default_timeout(WAIT_MS)
            await agent.open()
            await agent.sign_in(ayse.token)
            await expect(agent.tid("live")).to_have_attribute("data-state", "open")

            await stack.twilio_in("merhaba")  # SMS
            await eventually(lambda: len(twilio.sent()) == 1, what="the bot's SMS answer")
            await stack.twilio_in("canlı destek", whatsapp=True)
            await eventually(lambda: len(twilio.sent()) == 2, what="the hand-off on WhatsApp")
            customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
            cid = (await latest_conversation(gw, customer_id))["id"]

            item = agent.conversation(cid)
            await expect(item.get_by_test_id("channel")).to_have_text("WhatsApp")
            await item.click()
            sms = agent.messages(sender="customer", channel="sms")
            whatsapp = agent.messages(sender="customer", channel="whatsapp")
            await expect(sms).to_have_count(1)
            await expect(sms.get_by_test_id("channel")).to_have_text("SMS")
            await expect(whatsapp.get_by_test_id("channel")).to_have_text("WhatsApp")
            identities = agent.tid("customer-body").get_by_test_id("identity")
            await expect(identities).to_have_count(2)
            await expect(identities.filter(has_text="WhatsApp")).to_contain_text("aynı telefon")

            # The reply goes to WhatsApp, where the customer wrote last.
            await agent.tid("action-claim").click()
            await expect(agent.tid("assignee")).to_have_text("Atanan: Ayşe")
            box = agent.tid("composer-text")
            await box.fill("Merhaba, WhatsApp'tan devam edelim.")
            await box.press("Enter")
            await eventually(lambda: len(twilio.sent()) == 3, what="the agent's reply")
            sent = twilio.sent()[2].form
            assert sent["To"] == f"whatsapp:{CUSTOMER}", sent
            reply = agent.messages(sender="agent").filter(has_text="WhatsApp'tan devam")
            await expect(reply).to_have_attribute("data-channel", "whatsapp")
            await expect(reply).to_have_attribute("data-delivery", "queued")

            # Twilio's status callbacks move the ticks, live.
            sids = {m["body"]: sid for sid, m in twilio.messages.items()}
            reply_sid = sids["Merhaba, WhatsApp'tan devam edelim."]
            for status, label in (("sent", "Gönderildi"), ("delivered", "İletildi")):
                await whatsapp_status(stack, reply_sid, status)
                await expect(reply).to_have_attribute("data-delivery", status)
                await expect(reply.get_by_test_id("delivery")).to_contain_text(label)
            await whatsapp_status(stack, reply_sid, "read")
            await expect(reply.get_by_test_id("delivery")).to_contain_text("Okundu")

            # The bot's first SMS answer fails: the error shows on hover.
            bot_sms = next(sid for sid, m in twilio.messages.items() if not m["to"].startswith("w"))
            await stack.twilio_status(bot_sms, "failed", error_code="30008")
            failed = agent.messages(sender="bot", channel="sms")
            await expect(failed).to_have_attribute("data-delivery", "failed")
            tick = failed.get_by_test_id("delivery")
            await expect(tick).to_contain_text("İletilemedi")
            await expect(tick).to_have_attribute("title", re.compile("30008"))
            await tick.hover()
            # A stream of events never starves the lists: they are up to date as well.
            await expect(agent.tid("count-mine")).to_have_text("1")
            await expect(agent.tid("count-queue")).to_have_text("0")
            await agent.shot("cross-channel-ticks")
            await agent.assert_same_load()
            agent.assert_no_errors()
        finally:
            await context.close()


async def test_agent_transfers_a_conversation_to_another_team(
    people: People, live_gateway: LiveGateway, shots: Path
) -> None:
    gw = live_gateway
    ayse = await create_agent(gw, "Ayşe", email="ayse@example.com", teams=["destek"])
    mehmet = await create_agent(gw, "Mehmet", email="mehmet@example.com", teams=["fatura"])
    agent = await people.agent()
    await agent.open()
    await agent.sign_in(ayse.token)
    await expect(agent.tid("live")).to_have_attribute("data-state", "open")

    async with Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        cid = (await customer.conversation())["id"]
        item = agent.conversation(cid)
        await expect(item).to_be_visible()
        await item.click()
        transfer = agent.tid("action-transfer")
        await expect(transfer).to_be_hidden()  # only an assigned conversation is transferred
        await agent.tid("action-claim").click()
        await expect(agent.tid("assignee")).to_have_text("Atanan: Ayşe")

        # Ayşe sends it to the billing team: back to the queue, where Mehmet is free.
        await mehmet.set(status="online")
        await expect(transfer).to_be_visible()
        teams = agent.tid("transfer-team")
        await expect(teams.locator("option")).to_have_count(3)  # any, destek, fatura
        await teams.select_option("fatura")
        await agent.shot("transfer-to-team")
        await transfer.click()
        await expect(agent.tid("toast")).to_contain_text("aktarıldı")
        await expect(agent.tid("assignee")).to_have_text("Atanan: Mehmet")
        await expect(agent.system("queued").filter(has_text="fatura")).to_have_count(1)
        await expect(transfer).to_be_hidden()  # Mehmet's now, not hers
        await expect(agent.tid("count-mine")).to_have_text("0")

        status, body = await gw.api(f"/api/v1/conversations/{cid}")
        assert status == 200, body
        assert (body["state"], body["team"], body["assignee_id"]) == ("agent", "fatura", mehmet.id)
        assert body["handoff_reason"] == "transfer"
        # The customer is still answered by a person, not the bot.
        await mehmet.write(cid, "Fatura ekibinden Mehmet, hemen bakıyorum.")
        assert "Mehmet" in (await customer.hears())["text"]
    agent.assert_no_errors()


async def test_a_console_reads_again_what_its_live_link_missed(
    sqlite_url: str, redis_prefix: str, shots: Path
) -> None:
    """A message whose live event never reached this gateway (it was published while the
    gateway's Redis pub/sub link was down) shows once the link is back, without a reload."""
    async with (
        start_gateway(sqlite_url, redis_url=REDIS_URL, redis_prefix=redis_prefix) as gw,
        chromium() as browser,
    ):
        people = People(browser, gw, shots)
        try:
            ayse = await create_agent(gw, "Ayşe", email="ayse3@example.com")
            agent = await people.agent()
            await agent.open()
            await agent.sign_in(ayse.token)
            await expect(agent.tid("live")).to_have_attribute("data-state", "open")
            async with Customer(gw) as customer:
                await customer.say("canlı destek")
                await customer.hears()
                cid = (await customer.conversation())["id"]
                await agent.conversation(cid).click()
                await ayse.act(cid, "claim")
                await expect(agent.tid("assignee")).to_have_text("Atanan: Ayşe")
                # Stored, as another worker would, with its event lost on the way here.
                async with gw.runtime.sessions() as session, session.begin():
                    row = inbound_row(cid, customer.id, "lost-1", text="beni duyan var mı?")
                    row |= {"channel": "webchat", "provider": "webchat", "turn_status": None}
                    await session.execute(insert(MessageRow), [row])
                await agent.page.wait_for_timeout(300)
                lost = agent.messages(sender="customer").filter(has_text="beni duyan var mı?")
                await expect(lost).to_have_count(0)  # nothing told the console yet

                await break_pubsub_link(redis_prefix)
                await expect(lost).to_have_count(1)
            await agent.assert_same_load()
            agent.assert_no_errors()
        finally:
            await people.close()
