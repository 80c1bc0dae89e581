"""Our own web chat channel: a WebSocket endpoint, an embeddable widget and a demo page."""

from adapters.webchat.adapter import WebchatAdapter, WebchatHost
from adapters.webchat.session import SessionSigner

__all__ = ["SessionSigner", "WebchatAdapter", "WebchatHost"]
