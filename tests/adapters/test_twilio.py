"""TwilioAdapter against the fake Twilio API and Twilio-signed webhooks, over real HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from adapters.base import RawRequest, SendError, WebhookRejected
from adapters.fakes import (
    FakeTwilio,
    content_variables,
    send_twilio_webhook,
    sign_twilio,
    twilio_inbound_params,
    twilio_status_params,
)
from adapters.sms_encoding import segments
from adapters.twilio import EMPTY_TWIML, TwilioAdapter
from bot.model import Address, Button, Inbound, Kind, Media, Outbound, StatusUpdate, Template
from bot.settings import Settings
from tests.adapters.webhook_stub import WebhookStub

SID = "AC" + "1" * 32
TOKEN = "twilio-auth-token"
PUBLIC = "https://gw.example.com"
URL = PUBLIC + "/webhooks/twilio"
SMS_FROM = "+15005550006"
WA_FROM = "+14155238886"
CUSTOMER = "+905551112233"
SMS = Address("sms", "twilio", SMS_FROM, CUSTOMER)
WA = Address("whatsapp", "twilio", "whatsapp:" + WA_FROM, CUSTOMER)


def make_settings(api_url: str = "http://127.0.0.1:9", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "twilio_account_sid": SID,
        "twilio_auth_token": TOKEN,
        "twilio_sms_from": SMS_FROM,
        "twilio_whatsapp_from": WA_FROM,
        "twilio_api_url": api_url,
        "public_url": PUBLIC,
        "twilio_send_rate": 5.0,
        "sms_max_segments": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def request(
    params: dict[str, str] | list[tuple[str, str]],
    signature: str | None = None,
    url: str = URL,
    headers: dict[str, str] | None = None,
) -> RawRequest:
    items = list(params.items()) if isinstance(params, dict) else params
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if signature is None:
        signature = sign_twilio(url, items, TOKEN)
    if signature:
        sent["X-Twilio-Signature"] = signature
    return RawRequest("POST", url, sent, urlencode(items).encode())


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio(SID, TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def adapter(fake: FakeTwilio) -> AsyncIterator[TwilioAdapter]:
    twilio = TwilioAdapter(make_settings(fake.base_url), timeout=0.5)
    await twilio.start()
    yield twilio
    await twilio.close()


def sms_params(**kw: Any) -> dict[str, str]:
    return twilio_inbound_params(from_=CUSTOMER, to=SMS_FROM, body="Merhaba", **kw)


# -- signature ---------------------------------------------------------------------------


async def test_valid_signature_is_accepted_and_matches_twilios_own() -> None:
    params = sms_params()
    assert "" in params.values()  # Twilio really sends blank parameters (ToCity, FromZip…)
    assert sign_twilio(URL, params, TOKEN) == RequestValidator(TOKEN).compute_signature(URL, params)
    await TwilioAdapter(make_settings()).verify(request(params))


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing header
        sign_twilio(URL, {"Body": "x"}, TOKEN),  # for other parameters
        sign_twilio(URL, sms_params(message_sid="SMx"), "not-the-token"),  # forged
        "bm90IGEgc2lnbmF0dXJl",
    ],
)
async def test_bad_or_missing_signature_is_rejected_with_403(signature: str) -> None:
    with pytest.raises(WebhookRejected) as exc:
        await TwilioAdapter(make_settings()).verify(request(sms_params(), signature))
    assert exc.value.status == 403


async def test_tampered_body_is_rejected() -> None:
    params = sms_params()
    signature = sign_twilio(URL, params, TOKEN)
    params["Body"] = "Merhaba, iade istiyorum"
    with pytest.raises(WebhookRejected):
        await TwilioAdapter(make_settings()).verify(request(params, signature))


async def test_blank_values_are_signed_too() -> None:
    params = sms_params()
    without_blanks = {k: v for k, v in params.items() if v}
    adapter = TwilioAdapter(make_settings())
    # A signer that skips blank parameters is not Twilio: its signature does not verify.
    with pytest.raises(WebhookRejected):
        await adapter.verify(request(params, sign_twilio(URL, without_blanks, TOKEN)))
    # Dropping a blank parameter from a signed request breaks the signature as well.
    signature = sign_twilio(URL, params, TOKEN)
    with pytest.raises(WebhookRejected):
        await adapter.verify(request(without_blanks, signature))
    await adapter.verify(request(params, signature))


async def test_repeated_values_are_sorted_and_deduplicated_like_twilio() -> None:
    params = [("MessageSid", "SM1"), ("Tag", "b"), ("Tag", "a"), ("Tag", "b"), ("Body", "")]
    signature = sign_twilio(URL, params, TOKEN)
    assert signature == RequestValidator(TOKEN).compute_signature(URL, _multi(params))
    await TwilioAdapter(make_settings()).verify(request(params, signature))


def _multi(params: list[tuple[str, str]]) -> MultiDict[str]:
    return MultiDict(params)  # what a web framework hands Twilio's validator


async def test_url_with_and_without_default_port_both_verify() -> None:
    params = sms_params()
    adapter = TwilioAdapter(make_settings())
    with_port = "https://gw.example.com:443/webhooks/twilio"
    await adapter.verify(request(params, sign_twilio(with_port, params, TOKEN), url=URL))
    await adapter.verify(request(params, sign_twilio(URL, params, TOKEN), url=with_port))


async def test_query_string_is_part_of_the_signed_url() -> None:
    params = sms_params()
    url = URL + "?tenant=acme"
    adapter = TwilioAdapter(make_settings())
    await adapter.verify(request(params, sign_twilio(url, params, TOKEN), url=url))
    with pytest.raises(WebhookRejected):
        await adapter.verify(request(params, sign_twilio(URL, params, TOKEN), url=url))


async def test_json_body_is_checked_through_body_sha256() -> None:
    body = json.dumps({"MessageSid": "SM1", "Body": "Öğrenci"}, ensure_ascii=False)
    url = f"{URL}?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = sign_twilio(url, {}, TOKEN)  # the URL only
    adapter = TwilioAdapter(make_settings())
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    await adapter.verify(RawRequest("POST", url, headers, body.encode()))
    with pytest.raises(WebhookRejected):
        await adapter.verify(RawRequest("POST", url, headers, body.replace("Ö", "O").encode()))


async def test_shared_key_sha256_signatures_use_the_shared_secret() -> None:
    # twilio-python 9.13 validates HMAC-SHA256 webhooks signed with a Webhooks SharedKey.
    params = sms_params()
    headers = {"X-Twilio-Webhooks-Signature-Settings": "key=WK1,algorithm=HMAC_SHA256"}
    signed = RequestValidator("shared-secret").compute_signature(URL, params, "HMAC_SHA256")
    settings = make_settings(twilio_webhook_secret="shared-secret")
    await TwilioAdapter(settings).verify(request(params, signed, headers=headers))
    with pytest.raises(WebhookRejected):  # without the secret configured it cannot verify
        await TwilioAdapter(make_settings()).verify(request(params, signed, headers=headers))


async def test_no_auth_token_configured_rejects_everything() -> None:
    with pytest.raises(WebhookRejected) as exc:
        await TwilioAdapter(make_settings(twilio_auth_token="")).verify(request(sms_params()))
    assert exc.value.status == 403


# -- parsing ------------------------------------------------------------------------------


def parse_one(params: dict[str, str]) -> Inbound | StatusUpdate:
    events = TwilioAdapter(make_settings()).parse(request(params))
    assert len(events) == 1
    return events[0]


def test_parse_sms_text() -> None:
    params = sms_params(message_sid="SM" + "a" * 32)
    event = parse_one(params)
    assert isinstance(event, Inbound)
    assert event.provider_id == "SM" + "a" * 32
    assert event.address == Address("sms", "twilio", SMS_FROM, CUSTOMER)
    assert (event.kind, event.text, event.external_id) == (Kind.TEXT, "Merhaba", CUSTOMER)
    assert event.raw["ToCity"] == ""  # every parameter kept, blank ones too


def test_parse_whatsapp_with_profile_and_wa_id() -> None:
    params = twilio_inbound_params(
        from_="whatsapp:" + CUSTOMER,
        to="whatsapp:" + WA_FROM,
        body="Öğrenci indirimi var mı?",
        profile_name="Ayşe",
    )
    event = parse_one(params)
    assert isinstance(event, Inbound)
    assert event.address == Address("whatsapp", "twilio", "whatsapp:" + WA_FROM, CUSTOMER)
    assert event.external_id == CUSTOMER
    assert event.profile_name == "Ayşe"
    assert event.extra["wa_id"] == CUSTOMER.lstrip("+")
    assert event.text == "Öğrenci indirimi var mı?"


def test_parse_media() -> None:
    media = [
        ("https://api.twilio.com/m/ME1", "image/jpeg"),
        ("https://api.twilio.com/m/ME2", "application/pdf"),
    ]
    event = parse_one(sms_params(media=media))
    assert isinstance(event, Inbound)
    assert event.kind == Kind.MEDIA
    assert event.media == [Media(url, content_type) for url, content_type in media]


def test_parse_button_and_location() -> None:
    wa = {"from_": "whatsapp:" + CUSTOMER, "to": "whatsapp:" + WA_FROM}
    button = parse_one(twilio_inbound_params(**wa, body="Evet", button_payload="CONFIRM_YES"))
    assert isinstance(button, Inbound)
    assert (button.kind, button.payload, button.text) == (Kind.BUTTON, "CONFIRM_YES", "Evet")
    location = parse_one(
        twilio_inbound_params(**wa, latitude=41.0082, longitude=28.9784, label="Ev")
    )
    assert isinstance(location, Inbound)
    assert location.kind == Kind.LOCATION
    assert location.extra["location"] == {"latitude": 41.0082, "longitude": 28.9784, "label": "Ev"}


def test_parse_status_callback() -> None:
    params = twilio_status_params(
        message_sid="SM9",
        status="undelivered",
        from_="whatsapp:" + WA_FROM,
        to="whatsapp:" + CUSTOMER,
        error_code=63016,
        error_message="outside the window",
    )
    event = parse_one(params)
    assert isinstance(event, StatusUpdate)
    assert (event.provider, event.channel, event.provider_message_id) == (
        "twilio",
        "whatsapp",
        "SM9",
    )
    assert (event.status, event.error_code, event.error_message) == (
        "undelivered",
        "63016",
        "outside the window",
    )


def test_parse_without_message_sid_is_a_400() -> None:
    with pytest.raises(WebhookRejected) as exc:
        TwilioAdapter(make_settings()).parse(request({"From": CUSTOMER, "Body": "x"}))
    assert exc.value.status == 400


def test_reply_is_empty_twiml() -> None:
    reply = TwilioAdapter(make_settings()).reply(request(sms_params()))
    assert (reply.status, reply.content_type) == (200, "text/xml")
    assert reply.body == EMPTY_TWIML == '<?xml version="1.0" encoding="UTF-8"?><Response/>'


# -- end to end over HTTP -----------------------------------------------------------------


async def test_signed_webhooks_and_status_callbacks_flow_end_to_end() -> None:
    stub = WebhookStub()
    public = await stub.start("/webhooks/twilio", "/webhooks/twilio/status")
    fake = FakeTwilio(SID, TOKEN, status_callbacks=True)
    adapter = TwilioAdapter(make_settings(await fake.start(), public_url=public), timeout=2)
    stub.adapter = adapter
    try:
        answer = await send_twilio_webhook(public + "/webhooks/twilio", sms_params(), TOKEN)
        assert (answer.status, answer.body) == (200, EMPTY_TWIML)
        assert answer.headers["Content-Type"].startswith("text/xml")
        forged = await send_twilio_webhook(public + "/webhooks/twilio", sms_params(), "wrong")
        assert forged.status == 403
        assert len(stub.events) == 1 and isinstance(stub.events[0], Inbound)

        result = await adapter.send(SMS, Outbound(text="Teşekkürler!"))
        await fake.drain()
        statuses = [e for e in stub.events if isinstance(e, StatusUpdate)]
        assert [s.status for s in statuses] == ["sent", "delivered"]
        assert {s.provider_message_id for s in statuses} == {result.provider_message_id}
        assert [status for _, _, status in fake.callbacks] == [200, 200]
    finally:
        await adapter.close()
        await fake.stop()
        await stub.stop()


async def test_closed_whatsapp_window_is_reported_by_a_failed_callback() -> None:
    stub = WebhookStub()
    public = await stub.start("/webhooks/twilio/status")
    fake = FakeTwilio(SID, TOKEN)
    fake.closed_window.add(CUSTOMER)
    adapter = TwilioAdapter(make_settings(await fake.start(), public_url=public), timeout=2)
    stub.adapter = adapter
    try:
        await adapter.send(WA, Outbound(text="Merhaba"))
        await fake.drain()
        [update] = stub.events
        assert isinstance(update, StatusUpdate)
        assert (update.status, update.error_code) == ("failed", "63016")
    finally:
        await adapter.close()
        await fake.stop()
        await stub.stop()


# -- sending ------------------------------------------------------------------------------


async def test_send_sms(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    result = await adapter.send(SMS, Outbound(text="Öğrenci indirimi %10"))
    assert result.provider_message_id.startswith("SM") and result.status == "queued"
    assert result.meta["encoding"] == "UCS-2" and result.meta["segments"] == 1
    [call] = fake.sent()
    assert call.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert call.form == {
        "To": CUSTOMER,
        "From": SMS_FROM,
        "Body": "Öğrenci indirimi %10",
        "StatusCallback": PUBLIC + "/webhooks/twilio/status",
    }


async def test_send_whatsapp_with_media(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    photo = Media("https://cdn.example.com/menu.jpg", "image/jpeg")
    await adapter.send(WA, Outbound(text="Menümüz", media=[photo]))
    [call] = fake.sent()
    assert call.form["From"] == "whatsapp:" + WA_FROM
    assert call.form["To"] == "whatsapp:" + CUSTOMER
    assert (call.form["Body"], call.getall("MediaUrl")) == ("Menümüz", [photo.url])


async def test_send_template_through_content_api(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    template = Template("reengage", variables=("Ayşe", "12:30"), content_sid="HX" + "b" * 32)
    await adapter.send(WA, Outbound(template=template))
    [call] = fake.sent()
    assert call.form["ContentSid"] == "HX" + "b" * 32 and "Body" not in call.form
    assert content_variables(call) == {"1": "Ayşe", "2": "12:30"}


async def test_template_without_content_sid_is_a_permanent_error(adapter: TwilioAdapter) -> None:
    with pytest.raises(SendError) as exc:
        await adapter.send(WA, Outbound(template=Template("reengage")))
    assert not exc.value.retryable and exc.value.code == "template"


async def test_429_with_retry_after_is_retryable(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(SendError) as exc:
        await adapter.send(SMS, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.retry_after, exc.value.code) == (True, 7.0, "20429")
    assert (await adapter.send(SMS, Outbound(text="x"))).provider_message_id  # then it works


async def test_500_is_retryable(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.fail_next(1, status=500)
    with pytest.raises(SendError) as exc:
        await adapter.send(SMS, Outbound(text="x"))
    assert exc.value.retryable and exc.value.retry_after is None


async def test_hanging_api_times_out_as_retryable(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.hang_next()
    with pytest.raises(SendError) as exc:
        await adapter.send(SMS, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.code) == (True, "timeout")


async def test_unreachable_api_is_retryable() -> None:
    fake = FakeTwilio(SID, TOKEN)
    url = await fake.start()
    await fake.stop()  # nothing listens there any more
    adapter = TwilioAdapter(make_settings(url), timeout=0.5)
    try:
        with pytest.raises(SendError) as exc:
            await adapter.send(SMS, Outbound(text="x"))
        assert (exc.value.retryable, exc.value.code) == (True, "connection")
    finally:
        await adapter.close()


async def test_400_is_permanent_with_twilios_code(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.fail_next(
        1, status=400, code=21211, message="The 'To' number is not a valid phone number."
    )
    with pytest.raises(SendError) as exc:
        await adapter.send(SMS, Outbound(text="x"))
    err = exc.value
    assert (err.retryable, err.code, err.unreachable, err.window_closed) == (
        False,
        "21211",
        False,
        False,
    )
    assert "not a valid phone number" in err.reason


async def test_opted_out_recipient_is_unreachable(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.opted_out.add(CUSTOMER)
    with pytest.raises(SendError) as exc:
        await adapter.send(SMS, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.code, exc.value.unreachable) == (False, "21610", True)


async def test_63016_means_window_closed(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.fail_next(1, status=400, code=63016)
    with pytest.raises(SendError) as exc:
        await adapter.send(WA, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.window_closed) == (False, True)


async def test_wrong_credentials_are_a_permanent_401(fake: FakeTwilio) -> None:
    adapter = TwilioAdapter(make_settings(fake.base_url, twilio_auth_token="wrong"))
    try:
        with pytest.raises(SendError) as exc:
            await adapter.send(SMS, Outbound(text="x"))
        assert (exc.value.retryable, exc.value.code) == (False, "20003")
    finally:
        await adapter.close()


# -- rendering ----------------------------------------------------------------------------


def test_sms_buttons_become_numbered_lines() -> None:
    outbound = Outbound(
        text="Siparişiniz onaylansın mı?", buttons=[Button("Evet", "Y"), Button("Hayır", "N")]
    )
    [part] = TwilioAdapter(make_settings()).render(outbound, "sms")
    assert part.text == "Siparişiniz onaylansın mı?\n\n1) Evet\n2) Hayır"
    assert part.buttons == []


def test_long_sms_is_cut_to_the_segment_limit_keeping_the_options() -> None:
    adapter = TwilioAdapter(make_settings(sms_max_segments=2))
    text = " ".join(["Öğrenci"] * 60)
    [part] = adapter.render(Outbound(text=text, buttons=[Button("Evet", "Y")]), "sms")
    assert segments(part.text) <= 2
    assert part.text.endswith("Öğrenci...\n\n1) Evet")
    assert adapter.render(part, "sms") == [part]  # rendering is idempotent


def test_sms_media_become_links() -> None:
    outbound = Outbound(text="Fatura", media=[Media("https://cdn.example.com/f.pdf")])
    [part] = TwilioAdapter(make_settings()).render(outbound, "sms")
    assert (part.text, part.media) == ("Fatura\n\nhttps://cdn.example.com/f.pdf", [])


async def test_long_whatsapp_text_is_split_at_1600(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    text = " ".join(["kelime"] * 500)  # 3499 characters
    parts = adapter.render(Outbound(text=text, buttons=[Button("Tamam", "OK")]), "whatsapp")
    assert len(parts) == 3 and all(len(p.text) <= 1600 for p in parts)
    assert parts[-1].text.endswith("\n\n1) Tamam")
    result = await adapter.send(WA, Outbound(text=text))
    assert len(result.extra_ids) == 2 and len(fake.sent()) == 3


def test_capabilities() -> None:
    adapter = TwilioAdapter(make_settings())
    wa = adapter.capabilities("whatsapp")
    assert (wa.session_window, wa.send_rate, wa.max_text_length) == (timedelta(hours=24), 5.0, 1600)
    sms = adapter.capabilities("sms")
    assert (sms.session_window, sms.max_buttons, sms.send_rate) == (None, 0, 5.0)
    assert TwilioAdapter.webhook_path == "/webhooks/twilio"
    assert not TwilioAdapter(Settings()).configured
