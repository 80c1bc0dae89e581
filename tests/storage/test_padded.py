"""IN lists are padded to a few lengths (storage/dialect.py) without changing what they match."""

from __future__ import annotations

from storage.dialect import padded


def test_lists_are_padded_to_powers_of_two_with_their_last_value() -> None:
    assert padded([]) == []
    assert padded([7]) == [7]
    assert padded([1, 2, 3]) == [1, 2, 3, 3]
    assert padded(range(5)) == [0, 1, 2, 3, 4, 4, 4, 4]
    lengths = {len(padded(range(n))) for n in range(1, 257)}
    assert lengths == {1, 2, 4, 8, 16, 32, 64, 128, 256}
    assert all(set(padded(range(n))) == set(range(n)) for n in range(1, 300))
