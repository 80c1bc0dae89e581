"""The web chat widget and demo page in real headless Chromium, against a real running gateway.

`live_gateway` (tests/conftest.py) starts the gateway app on 127.0.0.1 with a fresh database;
these tests drive the page the way a person does (type, press Enter, click, reload) and read
what the widget shows through its `data-testid` attributes. Every WebSocket frame is recorded,
so a failure prints what the server actually sent next to what was expected.

The default bot's exact wording is not asserted, only what the issue promises: a reply comes,
the order answer quotes the order number, the fallback offers buttons.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from pprint import pformat
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from tests.browser import chromium

WAIT = 20.0  # seconds; generous for a loaded CI machine, a passing run takes far less
MAX_TEXT = 4096  # the gateway's default limit (OMNIGATE_WEBCHAT_MAX_TEXT)

# Reads the widget's transcript out of its (open) shadow root.
TRANSCRIPT_JS = """() => {
  const host = document.querySelector('omnigate-webchat');
  if (!host || !host.shadowRoot) return null;
  return [...host.shadowRoot.querySelectorAll('[data-testid=omnigate-message]')].map(li => ({
    sender: li.dataset.sender,
    status: li.dataset.status,
    id: li.dataset.id || null,
    client_id: li.dataset.clientId || null,
    text: li.querySelector('.bubble').textContent,
    buttons: [...li.querySelectorAll('[data-testid=omnigate-button]')].map(b => b.textContent),
    channel: (li.querySelector('[data-testid=omnigate-channel]') || {}).textContent || null,
  }));
}"""

# Installed before the page's own scripts: keeps a handle on every WebSocket the widget opens
# (so a test can cut the connection the way a network would) and can swallow ack frames
# (to simulate an ack lost on the way). The widget itself has no test hooks.
SOCKET_SPY_JS = """(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__dropAcks = false;
  class Spy extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
    get onmessage() { return super.onmessage; }
    set onmessage(fn) {
      super.onmessage = fn && ((ev) => {
        if (window.__dropAcks) {
          try { if (JSON.parse(ev.data).type === 'ack') return; } catch (e) {}
        }
        return fn.call(this, ev);
      });
    }
  }
  window.WebSocket = Spy;
})();"""

Transcript = list[dict[str, Any]]


class Chat:
    """A person in front of the demo page: types, clicks, reloads, reads the transcript."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.frames: list[tuple[str, str]] = []  # ("->" sent | "<-" received, payload)
        self.page_errors: list[str] = []
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        self.frames.append(("==", f"open {ws.url}"))
        ws.on("framesent", lambda payload: self.frames.append(("->", str(payload))))
        ws.on("framereceived", lambda payload: self.frames.append(("<-", str(payload))))
        ws.on("close", lambda _ws: self.frames.append(("==", "close")))

    def received(self, frame_type: str) -> list[dict[str, Any]]:
        out = []
        for direction, payload in self.frames:
            if direction != "<-":
                continue
            try:
                frame = json.loads(payload)
            except ValueError:
                continue
            if isinstance(frame, dict) and frame.get("type") == frame_type:
                out.append(frame)
        return out

    def sent(self, frame_type: str) -> list[dict[str, Any]]:
        return [
            json.loads(p)
            for d, p in self.frames
            if d == "->" and p.startswith("{") and json.loads(p).get("type") == frame_type
        ]

    def evidence(self, transcript: Transcript | None) -> str:
        frames = "\n".join(
            f"  {d} {p[:300]}{'…' if len(p) > 300 else ''}" for d, p in self.frames[-30:]
        )
        return f"shown transcript:\n{pformat(transcript)}\nlast frames:\n{frames}"

    async def transcript(self) -> Transcript:
        return await self.page.evaluate(TRANSCRIPT_JS) or []

    async def wait(self, what: str, check: Callable[[Transcript], Any], timeout: float = WAIT):
        """Polls the shown transcript until `check` returns something truthy, and returns it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            shown = await self.transcript()
            result = check(shown)
            if result:
                return result
            if loop.time() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.evidence(shown)}")
            await asyncio.sleep(0.1)

    async def open_demo(self) -> None:
        await self.page.goto(self.base_url + "/")
        await self.page.get_by_test_id("omnigate-panel").wait_for(state="visible")
        await self.wait_connected()

    async def wait_connected(self) -> None:
        status = self.page.get_by_test_id("omnigate-status")
        try:
            await status.and_(self.page.locator("[data-state=open]")).wait_for(timeout=WAIT * 1000)
        except Exception:
            pytest.fail(f"the widget never reached state 'open'\n{self.evidence(None)}")

    async def type(self, text: str) -> int:
        """Types `text` and presses Enter; returns the index its bubble gets."""
        before = len(await self.transcript())
        box = self.page.get_by_test_id("omnigate-input")
        await box.fill(text)
        await box.press("Enter")
        return before

    async def say(
        self, text: str, reply: Callable[[str], bool] = bool, what: str = "a bot reply"
    ) -> list[dict[str, Any]]:
        """Sends `text`, waits for its ack and then for a reply satisfying `reply(text)`.

        Returns the messages that came after the customer's one.
        """
        index = await self.type(text)
        mine = await self.wait_acked(index, text)
        return await self.wait_reply(mine, reply, what)

    async def wait_acked(self, index: int, text: str) -> int:
        def acked(shown: Transcript) -> int | None:
            for i in range(index, len(shown)):
                m = shown[i]
                if m["sender"] == "customer" and m["text"] == text and m["status"] == "sent":
                    assert m["id"], f"acked message without a server id: {m}"
                    return i + 1  # +1 so that index 0 is truthy
            return None

        return await self.wait(f"the ack of {text[:60]!r}", acked) - 1

    async def wait_reply(
        self, after: int, reply: Callable[[str], bool] = bool, what: str = "a bot reply"
    ) -> list[dict[str, Any]]:
        def answered(shown: Transcript) -> Transcript | None:
            later = shown[after + 1 :]
            ok = any(m["sender"] != "customer" and reply(m["text"]) for m in later)
            return later if ok else None

        return await self.wait(what, answered)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as running:
        yield running


async def new_chat(browser: Any, base_url: str, **context_options: Any) -> Chat:
    context_options.setdefault("viewport", {"width": 1280, "height": 800})
    context_options.setdefault("locale", "tr-TR")
    context = await browser.new_context(**context_options)
    await context.add_init_script(SOCKET_SPY_JS)
    page = await context.new_page()
    page.set_default_timeout(WAIT * 1000)
    return Chat(page, base_url)


@pytest.fixture
async def chat(browser: Any, live_gateway: Any) -> AsyncIterator[Chat]:
    person = await new_chat(browser, live_gateway.base_url)
    yield person
    await person.page.context.close()
    assert not person.page_errors, f"JavaScript errors on the page: {person.page_errors}"


# ------------------------------------------------------------------------------------ tests


async def test_demo_page_opens_the_widget_and_the_bot_greets(chat: Chat) -> None:
    await chat.open_demo()
    page = chat.page
    assert await page.get_by_test_id("omnigate-launcher").is_visible()
    assert "Omnigate" in await page.title()

    # The protocol's opening: a session, then the (empty) history.
    sessions = chat.received("session")
    assert sessions and sessions[0].get("session") and sessions[0].get("customer_id") is not None, (
        chat.evidence(None)
    )
    assert chat.received("history"), "no history frame after the session frame\n" + chat.evidence(
        None
    )

    # The message box is labelled; opening by itself on load did not steal the page's focus.
    await page.get_by_label("Mesajınız").wait_for()
    assert await page.evaluate("document.activeElement === document.body")

    replies = await chat.say("merhaba")
    assert any(m["sender"] == "bot" and m["text"].strip() for m in replies)


async def test_order_status_dialog_quotes_the_order_number(chat: Chat) -> None:
    await chat.open_demo()
    await chat.say("siparişim nerede")
    await chat.say("12345", lambda text: "12345" in text, "an answer quoting order 12345")


async def test_english_order_question(chat: Chat) -> None:
    await chat.open_demo()
    await chat.say("where is my order")
    await chat.say("12345", lambda text: "12345" in text, "an answer quoting order 12345")


async def test_reload_shows_the_same_conversation(chat: Chat) -> None:
    await chat.open_demo()
    await chat.say("merhaba")
    await chat.say("siparişim nerede")
    customer = await chat.page.evaluate("window.Omnigate.customerId")
    assert customer
    before = [(m["sender"], m["text"], m["id"]) for m in await chat.transcript()]

    await chat.page.reload()
    await chat.wait_connected()
    shown = await chat.wait(
        "the history after a reload",
        lambda t: t if len(t) >= len(before) else None,
    )
    after = [(m["sender"], m["text"], m["id"]) for m in shown]
    assert after[: len(before)] == before, chat.evidence(shown)
    assert await chat.page.evaluate("window.Omnigate.customerId") == customer
    # Each history message once (no duplicates by id).
    ids = [m["id"] for m in shown if m["id"]]
    assert len(ids) == len(set(ids)), chat.evidence(shown)

    # …and the conversation goes on where it was: the bot still waits for the order number.
    await chat.say("12345", lambda text: "12345" in text, "an answer quoting order 12345")


async def test_fallback_offers_buttons_and_pressing_one_answers(chat: Chat) -> None:
    await chat.open_demo()
    replies = await chat.say(
        "zxqv plorbt vunkelm", lambda text: True, "the fallback reply with buttons"
    )

    def with_buttons(shown: Transcript) -> list[str] | None:
        return next((m["buttons"] for m in reversed(shown) if m["buttons"]), None)

    titles = await chat.wait("a bot message with buttons", with_buttons)
    assert replies and titles

    # The buttons of the latest bot message are the last ones in the list.
    button = chat.page.get_by_test_id("omnigate-button").last
    pressed = await button.text_content()
    before = len(await chat.transcript())
    await button.click()
    # The widget shows the pressed button's title as the customer's message.
    mine = await chat.wait_acked(before, pressed)
    sent = chat.sent("button")
    assert sent and sent[-1].get("payload") and sent[-1].get("client_id"), chat.evidence(None)
    await chat.wait_reply(mine)


async def test_oversized_message_shows_an_error_and_the_chat_goes_on(chat: Chat) -> None:
    await chat.open_demo()
    huge = "ç" * (MAX_TEXT + 500)
    index = await chat.type(huge)

    notice = chat.page.get_by_test_id("omnigate-error")
    await notice.wait_for(state="visible")
    errors = chat.received("error")
    assert errors and errors[-1].get("code") == "too_large", chat.evidence(None)
    assert await notice.get_attribute("data-code") == "too_large"
    assert (await notice.text_content()).strip()
    await chat.wait(
        "the oversized message marked as not sent",
        lambda t: len(t) > index and t[index]["status"] == "failed",
    )

    # The connection stays usable.
    await chat.say("merhaba")

    # Nothing of the refused message was stored.
    await chat.page.reload()
    await chat.wait_connected()
    shown = await chat.wait("the history after a reload", lambda t: t if len(t) >= 2 else None)
    assert all(m["text"] != huge for m in shown), chat.evidence(shown)


async def test_server_text_is_rendered_as_text_never_as_markup(chat: Chat) -> None:
    await chat.open_demo()
    evil = '<img src=x onerror="window.__xss=1"><b>kalın</b>'
    await chat.say(evil)
    await chat.page.reload()  # now it comes back from the server, in the history frame
    await chat.wait_connected()
    await chat.wait("the message in history", lambda t: any(m["text"] == evil for m in t))
    assert await chat.page.evaluate("window.__xss") is None
    markup = await chat.page.evaluate(
        """() => document.querySelector('omnigate-webchat').shadowRoot
            .querySelectorAll('.bubble img, .bubble b').length"""
    )
    assert markup == 0


async def test_lost_ack_is_recovered_and_the_message_stored_once(chat: Chat) -> None:
    await chat.open_demo()
    await chat.page.evaluate("window.__dropAcks = true")
    index = await chat.type("merhaba")
    await chat.wait("the message shown as sending", lambda t: len(t) > index)
    # The server stores it (its bot reply arrives), but the ack is lost on the way.
    await chat.wait_reply(index)
    shown = await chat.transcript()
    assert shown[index]["status"] == "sending", chat.evidence(shown)
    client_id = shown[index]["client_id"]

    # The network drops; after reconnecting the widget either finds the message in the history
    # (by client_id) or resends it with the SAME client_id and gets it acked.
    await chat.page.evaluate("window.__dropAcks = false; window.__sockets.at(-1).close()")
    await chat.wait_connected()
    await chat.wait_acked(index, "merhaba")
    sends = {f["client_id"] for f in chat.sent("message") if f.get("text") == "merhaba"}
    assert sends == {client_id}, chat.evidence(None)
    stored_id = (await chat.transcript())[index]["id"]

    # A client resending that client_id (as the public protocol allows) gets the same ack.
    await chat.page.evaluate(
        """cid => window.__sockets.at(-1).send(
            JSON.stringify({type: 'message', text: 'merhaba', client_id: cid}))""",
        client_id,
    )

    def same_ack(_shown: Transcript) -> bool:
        acks = [a for a in chat.received("ack") if a.get("client_id") == client_id]
        return bool(acks) and str(acks[-1].get("id")) == stored_id

    await chat.wait(f"an ack of {client_id} with id {stored_id}", same_ack)

    # The server kept one message, not two or three.
    await chat.page.reload()
    await chat.wait_connected()
    shown = await chat.wait("the history after a reload", lambda t: t if len(t) >= 2 else None)
    mine = [m for m in shown if m["sender"] == "customer" and m["text"] == "merhaba"]
    assert len(mine) == 1, chat.evidence(shown)


async def test_reconnects_and_delivers_what_was_typed_meanwhile(chat: Chat) -> None:
    await chat.open_demo()
    await chat.say("merhaba")
    await chat.page.evaluate("window.__sockets.at(-1).close()")
    # Typed while the widget is reconnecting: shown as sending, delivered after the reconnect.
    await chat.say("siparişim nerede")
    await chat.wait_connected()
    assert len(await chat.page.evaluate("window.__sockets")) >= 2
    # The history replayed on reconnect merged into what was shown: nothing twice.
    shown = await chat.transcript()
    ids = [m["id"] for m in shown if m["id"]]
    assert len(ids) == len(set(ids)), chat.evidence(shown)
    assert [m["text"] for m in shown if m["sender"] == "customer"] == [
        "merhaba",
        "siparişim nerede",
    ], chat.evidence(shown)


async def test_a_burst_of_fifty_is_accepted_in_order(chat: Chat) -> None:
    """50 messages at once is normal use: all stored, in the order typed, no error shown."""
    await chat.open_demo()
    texts = [f"burst {i:02d}" for i in range(50)]
    await chat.page.evaluate("texts => texts.forEach(t => window.Omnigate.send(t))", texts)

    def all_acked(shown: Transcript) -> Transcript | None:
        mine = [m for m in shown if m["sender"] == "customer"]
        return mine if len(mine) == 50 and all(m["status"] == "sent" for m in mine) else None

    mine = await chat.wait("50 acks", all_acked, timeout=2 * WAIT)
    assert [m["text"] for m in mine] == texts
    ids = [m["id"] for m in mine]
    if all(i.isdigit() for i in ids):
        assert [int(i) for i in ids] == sorted(int(i) for i in ids), ids
    assert not chat.received("error"), chat.evidence(None)
    assert await chat.page.get_by_test_id("omnigate-error").is_hidden()


async def test_unacked_message_survives_a_reload(chat: Chat) -> None:
    await chat.open_demo()
    await chat.say("merhaba")
    host = urlsplit(chat.base_url).netloc
    # As if the page was closed right after sending, before the ack came back.
    await chat.page.evaluate(
        """host => localStorage.setItem('omnigate:' + host + ':pending', JSON.stringify([{
            type: 'message', text: '12345', client_id: 'test-unacked-1',
            created_at: new Date().toISOString()}]))""",
        host,
    )
    await chat.page.reload()
    await chat.wait_connected()
    await chat.wait(
        "the pending message acked after the reload",
        lambda t: any(m["client_id"] == "test-unacked-1" and m["status"] == "sent" for m in t),
    )
    pending = await chat.page.evaluate(
        "host => localStorage.getItem('omnigate:' + host + ':pending')", host
    )
    assert pending is None


async def test_bad_session_token_starts_a_fresh_conversation(chat: Chat) -> None:
    await chat.open_demo()
    host = urlsplit(chat.base_url).netloc
    await chat.page.evaluate(
        "host => localStorage.setItem('omnigate:' + host + ':session', JSON.stringify('nope'))",
        host,
    )
    await chat.page.reload()
    await chat.wait_connected()
    errors = chat.received("error")
    assert any(e.get("code") == "bad_session" for e in errors), chat.evidence(None)
    token = await chat.page.evaluate(
        "host => JSON.parse(localStorage.getItem('omnigate:' + host + ':session'))", host
    )
    assert token and token != "nope"
    await chat.say("merhaba")


async def test_keepalive_ping_gets_a_pong(chat: Chat) -> None:
    await chat.page.clock.install()
    await chat.open_demo()
    await chat.page.clock.fast_forward("00:26")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not (chat.sent("ping") and chat.received("pong")):
        if loop.time() > deadline:
            pytest.fail("no ping/pong after 26 s\n" + chat.evidence(None))
        await asyncio.sleep(0.1)


async def test_keyboard_and_screen_reader_basics(chat: Chat) -> None:
    await chat.open_demo()
    page = chat.page
    launcher = page.get_by_test_id("omnigate-launcher")
    assert await launcher.get_attribute("aria-expanded") == "true"
    assert await page.get_by_role("dialog", name="Destek").is_visible()

    await page.get_by_test_id("omnigate-input").press("Escape")
    await page.get_by_test_id("omnigate-panel").wait_for(state="hidden")
    assert await launcher.get_attribute("aria-expanded") == "false"
    assert await launcher.evaluate("el => el.getRootNode().activeElement === el")

    await launcher.press("Enter")
    await page.get_by_test_id("omnigate-panel").wait_for(state="visible")
    # Opened by the person: the focus goes into the message box.
    box = page.get_by_test_id("omnigate-input")
    await page.wait_for_function(
        "() => document.querySelector('omnigate-webchat').shadowRoot.activeElement?.id"
        " === 'og-input'"
    )
    # Shift+Enter is a new line, not a send.
    await box.fill("birinci satır")
    await box.press("Shift+Enter")
    await box.press_sequentially("ikinci")
    assert await box.input_value() == "birinci satır\nikinci"
    assert await page.get_by_test_id("omnigate-message").count() == 0
    # New bot messages are read out by a polite live region.
    await box.fill("")
    await chat.say("merhaba")
    live = await page.evaluate(
        """() => {
          const r = document.querySelector('omnigate-webchat').shadowRoot
            .querySelector('[aria-live=polite]');
          return r ? r.textContent : null;
        }"""
    )
    assert live, "nothing announced in the aria-live region"


@pytest.fixture
async def brand_site(live_gateway: Any) -> AsyncIterator[str]:
    """A brand's own web site on another origin (another port, named `localhost`), embedding
    the widget from the gateway with hostile global CSS. A real server rather than a routed
    fake domain: Chromium's Private Network Access rightly refuses to let a public page load
    scripts from loopback, so both sides must live on this machine."""
    gateway = live_gateway.base_url.rstrip("/")
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
      button, div, ol, li, textarea, section {{ all: unset !important; }}
      * {{ font-family: serif !important; color: red !important; background: yellow !important; }}
    </style></head><body><h1>Shop</h1>
    <script src="{gateway}/webchat/widget.js" data-title="Help" data-lang="en" async></script>
    </body></html>"""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://localhost:{port}"
    finally:
        await runner.cleanup()


async def test_embedded_on_another_site_with_hostile_css(
    browser: Any, live_gateway: Any, brand_site: str
) -> None:
    """The script derives the WebSocket URL from its own src, and the host's CSS cannot reach
    into the widget."""
    gateway = live_gateway.base_url.rstrip("/")
    person = await new_chat(browser, brand_site)
    try:
        await person.page.goto(brand_site + "/")
        launcher = person.page.get_by_test_id("omnigate-launcher")
        await launcher.click()
        await person.wait_connected()
        opened = next(p for d, p in person.frames if d == "==")
        expected = "ws" + gateway.removeprefix("http") + "/webchat/ws"
        assert opened.startswith(f"open {expected}"), opened

        colour = await launcher.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour not in ("rgb(255, 255, 0)", "rgb(255, 0, 0)"), colour
        panel = await person.page.get_by_test_id("omnigate-panel").bounding_box()
        assert panel and panel["width"] >= 300, panel
        box = person.page.get_by_test_id("omnigate-input")
        assert await box.get_attribute("placeholder") == "Type a message…"
        await person.say("where is my order")
        assert not person.page_errors, person.page_errors
    finally:
        await person.page.context.close()


async def test_screenshots_are_png(browser: Any, live_gateway: Any, tmp_path: Path) -> None:
    shots = {
        "desktop": {"viewport": {"width": 1280, "height": 800}},
        "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    }
    for name, options in shots.items():
        person = await new_chat(browser, live_gateway.base_url, **options)
        try:
            await person.open_demo()
            await person.say("merhaba")
            path = tmp_path / f"webchat-{name}.png"
            await person.page.screenshot(path=str(path))
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, name
            if name == "phone":
                # On a phone the open panel takes the whole screen.
                box = await person.page.get_by_test_id("omnigate-panel").bounding_box()
                assert box and box["width"] == 390 and box["height"] >= 800, box
        finally:
            await person.page.context.close()


async def test_signed_identity_from_the_page_joins_the_known_customer(
    browser: Any, sqlite_url: str
) -> None:
    """`Omnigate.identify(claims)` with the brand's HMAC links two browsers to one customer."""
    from bot.identity import WebchatClaims, sign_webchat_claims
    from tests.support import start_gateway

    secret = "brand-secret"
    claims = WebchatClaims(user_id="42", email="ayse@example.com")
    signed = {
        "user_id": "42",
        "email": "ayse@example.com",
        "signature": sign_webchat_claims(secret, claims),
    }
    async with start_gateway(sqlite_url, webchat_identity_secret=secret) as gw:
        customers = []
        for text in ("merhaba", "siparişim nerede"):
            person = await new_chat(browser, gw.base_url)
            await person.open_demo()
            await person.page.evaluate("claims => window.Omnigate.identify(claims)", signed)
            await person.wait("the identified frame", lambda _t, p=person: p.received("identified"))
            await person.say(text)
            customers.append(person.received("identified")[0]["customer_id"])
            await person.page.context.close()
        assert customers[0] == customers[1]
        messages = await gw.transcript(customers[0])
        assert [m["text"] for m in messages if m["direction"] == "in"] == [
            "merhaba",
            "siparişim nerede",
        ]
