"""Omnigate benchmark: real gateway processes under load, every message checked.

`python -m bench --scenario webchat` (the default) drives concurrent web chat conversations;
`--scenario webhooks` posts signed Twilio SMS webhooks and takes the replies at a fake Twilio,
beside a bare aiohttp ceiling; `--scenario all` runs both. See `python -m bench --help`.
Figures come from here, never from timed tests; the tests only check that a quick run is
correct.
"""
