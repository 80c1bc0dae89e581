"""Storage tests: the shared backend contracts."""
