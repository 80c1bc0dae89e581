"""Web chat session tokens: a random session id and an HMAC that proves we issued it.

The session id is the customer's web chat identity; the token is the bearer secret the widget
keeps in localStorage. The API shows the id, never the token, so it cannot be hijacked from
there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class SessionSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def new(self) -> tuple[str, str]:
        session_id = secrets.token_hex(16)
        return session_id, self.token(session_id)

    def token(self, session_id: str) -> str:
        mac = hmac.new(self._secret, session_id.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{session_id}.{mac}"

    def verify(self, token: str) -> str | None:
        """The session id of a token we issued, else None."""
        session_id, _, _mac = token.partition(".")
        if not session_id or len(session_id) != 32:
            return None
        if hmac.compare_digest(self.token(session_id), token):
            return session_id
        return None
