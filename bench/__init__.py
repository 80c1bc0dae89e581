"""Omnigate benchmark: real gateway processes driven by concurrent web chat conversations.

Run it with `python -m bench` (see `python -m bench --help`). Figures come from here, never
from timed tests; the tests only check that a quick run is correct.
"""
