"""Provider fakes: real HTTP servers speaking the providers' wire formats, plus the provider
side of webhooks (payloads signed exactly as the provider signs them).

Used by the tests and by the simulator; they depend on aiohttp and nothing else of ours but
`adapters.sms_encoding`.
"""

from adapters.fakes.common import FakeServer, RecordedCall, WebhookResponse, post_webhook
from adapters.fakes.graph import FakeGraph
from adapters.fakes.graph_webhooks import (
    merge_payloads,
    meta_json,
    new_wamid,
    send_meta_webhook,
    sign_meta,
    whatsapp_button_payload,
    whatsapp_location_payload,
    whatsapp_media_payload,
    whatsapp_message,
    whatsapp_payload,
    whatsapp_reply_payload,
    whatsapp_status,
    whatsapp_status_payload,
    whatsapp_text_payload,
)
from adapters.fakes.telegram import FakeTelegram
from adapters.fakes.twilio import FakeTwilio, content_variables
from adapters.fakes.twilio_webhooks import (
    send_twilio_webhook,
    sign_twilio,
    twilio_inbound_params,
    twilio_status_params,
)

__all__ = [
    "FakeGraph",
    "FakeServer",
    "FakeTelegram",
    "FakeTwilio",
    "RecordedCall",
    "WebhookResponse",
    "content_variables",
    "merge_payloads",
    "meta_json",
    "new_wamid",
    "post_webhook",
    "send_meta_webhook",
    "send_twilio_webhook",
    "sign_meta",
    "sign_twilio",
    "twilio_inbound_params",
    "twilio_status_params",
    "whatsapp_button_payload",
    "whatsapp_location_payload",
    "whatsapp_media_payload",
    "whatsapp_message",
    "whatsapp_payload",
    "whatsapp_reply_payload",
    "whatsapp_status",
    "whatsapp_status_payload",
    "whatsapp_text_payload",
]
