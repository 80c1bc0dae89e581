"""The channel simulator: `omnigate serve --simulate`.

The gateway runs with simulated providers beside it: the same provider fakes the test suite
uses (`adapters.fakes`), started in-process on loopback with generated credentials, and a page
at `/simulator` with a WhatsApp, an SMS and a Telegram phone, the web chat widget and an agent
pane. Everything a phone sends reaches the gateway as a real, correctly signed webhook; what
the gateway sends back is read from the fakes' records of the provider API calls.

Nothing here runs unless asked for (`--simulate`); it listens on 127.0.0.1 only by default.
"""
