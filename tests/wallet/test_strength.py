"""The passphrase floor for new keystores: guessable ones refused, long random mixes and word lists pass."""

from __future__ import annotations

import pytest

from wallet.strength import MIN_BITS, estimated_bits, weakness


@pytest.mark.parametrize(
    "weak",
    ["hunter2", "password1234", "qwertyuiop12", "abcdefghijklmnop", "aaaaaaaaaaaaaaaaaaaa", "123456789012"],
)
def test_guessable_passphrases_are_weak(weak: str) -> None:
    assert weakness(weak) is not None


@pytest.mark.parametrize("strong", ["Tr0ub4dor&3xyz", "zebra orbit cactus lantern", "k7#Qm2!vR9pL"])
def test_long_mixed_or_word_list_passphrases_pass(strong: str) -> None:
    assert weakness(strong) is None and estimated_bits(strong) >= MIN_BITS
