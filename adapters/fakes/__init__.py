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
from adapters.fakes.slack import FakeSlack
from adapters.fakes.slack_events import (
    block_actions_payload,
    event_callback,
    message_event,
    send_slack_event,
    send_slack_interaction,
    sign_slack,
    slack_headers,
    url_verification_payload,
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
    "FakeSlack",
    "FakeTelegram",
    "FakeTwilio",
    "RecordedCall",
    "WebhookResponse",
    "block_actions_payload",
    "content_variables",
    "event_callback",
    "merge_payloads",
    "message_event",
    "meta_json",
    "new_wamid",
    "post_webhook",
    "send_meta_webhook",
    "send_slack_event",
    "send_slack_interaction",
    "send_twilio_webhook",
    "sign_meta",
    "sign_slack",
    "sign_twilio",
    "slack_headers",
    "twilio_inbound_params",
    "twilio_status_params",
    "url_verification_payload",
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
