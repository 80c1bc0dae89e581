"""The picture a simulated customer sends: a parcel photo, drawn as SVG (no binary assets).

Served at `/simulator/media/parcel.svg`; Twilio webhooks carry its URL as MediaUrl0, and the
phones show it. WhatsApp Cloud and Telegram carry media ids instead, as the real ones do.
"""

from __future__ import annotations

PATH = "/simulator/media/parcel.svg"
CONTENT_TYPE = "image/svg+xml"

PARCEL_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 240"
 width="320" height="240">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="#fde7c7"/><stop offset="1" stop-color="#f6c98f"/>
</linearGradient></defs>
<rect width="320" height="240" fill="url(#bg)"/>
<rect x="0" y="178" width="320" height="62" fill="#c98b4f" opacity=".35"/>
<path d="M92 92 L160 62 L228 92 L228 176 L160 206 L92 176 Z" fill="#b9793d"/>
<path d="M92 92 L160 122 L228 92 L160 62 Z" fill="#d49a5c"/>
<path d="M160 122 L160 206 L228 176 L228 92 Z" fill="#a56a33"/>
<path d="M124 77 L192 107 L192 132 L180 126 L180 112 L112 82 Z" fill="#efe1c4"/>
<path d="M150 150 l8 -10 l6 14 l8 -12" stroke="#5b3514" stroke-width="4" fill="none"
 stroke-linecap="round"/>
<text x="160" y="34" font-family="sans-serif" font-size="18" font-weight="700"
 text-anchor="middle" fill="#6b3f17">Kargo / parcel #12345</text>
<text x="160" y="230" font-family="sans-serif" font-size="12" text-anchor="middle"
 fill="#6b3f17">simulated photo</text>
</svg>
"""
