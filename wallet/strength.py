"""A passphrase strength floor for new keystores: an estimate, not a guarantee.

The keystore is only as strong as its passphrase once the file leaks (scrypt slows each guess, it does
not make a short passphrase long). The estimate is length times log2 of the character classes used,
with common words, runs and repeated characters counting little, and the floor is 60 bits: a
12-character mix of classes or a few random words pass; `password123` or a repeated character do not.
"""

from __future__ import annotations

import itertools
import math
import string

MIN_LENGTH = 12
MIN_BITS = 60.0
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
# The first guesses of any cracker: each counts as one character wherever it appears.
_COMMON = ("password", "passw0rd", "qwerty", "azerty", "letmein", "welcome", "admin", "solana", "wallet",
           "secret", "iloveyou", "monkey", "dragon")  # fmt: skip


def _effective_length(passphrase: str) -> int:
    """Length once common words count as one character, runs like `abcd` or `1234` as two, and repeated
    characters as little ("aaaaaaaaaaaaaa" is not 14 characters)."""
    text = passphrase.lower()
    for word in _COMMON:
        text = text.replace(word, "\x00")
    length, run = 0, 1
    for previous, current in itertools.pairwise(text):
        run = run + 1 if ord(current) - ord(previous) in (1, -1, 0) else 1
        length += 1 if run <= 2 else 0
    length += 1 if text else 0
    return min(length, 2 * len(set(text)))


def estimated_bits(passphrase: str) -> float:
    pool = sum(len(chars) for chars in _CLASSES if any(c in chars for c in passphrase))
    if any(not any(c in chars for chars in _CLASSES) for c in passphrase):
        pool += 33  # punctuation, spaces, anything else
    return _effective_length(passphrase) * math.log2(pool) if pool else 0.0


def weakness(passphrase: str) -> str | None:
    """Why the passphrase is too weak for a new keystore, or None when it passes."""
    if len(passphrase) < MIN_LENGTH:
        return f"the passphrase needs at least {MIN_LENGTH} characters"
    bits = estimated_bits(passphrase)
    if bits < MIN_BITS:
        return (
            f"the passphrase is too guessable (~{bits:.0f} bits, at least {MIN_BITS:.0f} needed): "
            "make it longer, or mix upper case, digits and symbols, or use four or more random words"
        )
    return None
