"""A minimal Borsh/bincode cursor: the fixed-width little-endian reads the Solana programs here use.

Bincode (Raydium's `ray_log`) and Borsh (Anchor events) agree on every type read here, so one reader
serves both. Every short read raises `DecodeError` naming the field and the offset, because a wrong
length is the first sign that a layout changed under us.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

from solders.pubkey import Pubkey

from core.errors import DecodeError

T = TypeVar("T")


def b64decode(text: str, what: str = "payload") -> bytes:
    """Strict base64: a stray character means the line is not what we think it is."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"{what}: not valid base64 ({exc})") from None


class Reader:
    """Reads values from `data` left to right; `offset` is where the next read starts."""

    __slots__ = ("data", "offset", "what")

    def __init__(self, data: bytes, what: str = "payload", offset: int = 0) -> None:
        self.data = bytes(data)
        self.offset = offset
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def at_end(self) -> bool:
        return self.offset >= len(self.data)

    def take(self, n: int, field: str = "bytes") -> bytes:
        if n < 0 or self.remaining < n:
            raise DecodeError(
                f"{self.what}: truncated at offset {self.offset} reading {field} "
                f"(needs {n} bytes, {self.remaining} left)"
            )
        out = self.data[self.offset : self.offset + n]
        self.offset += n
        return out

    def _uint(self, n: int, field: str, signed: bool = False) -> int:
        return int.from_bytes(self.take(n, field), "little", signed=signed)

    def u8(self, field: str = "u8") -> int:
        return self._uint(1, field)

    def u16(self, field: str = "u16") -> int:
        return self._uint(2, field)

    def u32(self, field: str = "u32") -> int:
        return self._uint(4, field)

    def u64(self, field: str = "u64") -> int:
        return self._uint(8, field)

    def i64(self, field: str = "i64") -> int:
        return self._uint(8, field, signed=True)

    def u128(self, field: str = "u128") -> int:
        return self._uint(16, field)

    def bool(self, field: str = "bool") -> bool:
        """Borsh bools are exactly 0 or 1; anything else means the offsets have drifted."""
        at = self.offset
        value = self.u8(field)
        if value > 1:
            raise DecodeError(f"{self.what}: {field} at offset {at} is {value}, not a bool")
        return value == 1

    def pubkey(self, field: str = "pubkey") -> str:
        return str(Pubkey.from_bytes(self.take(32, field)))

    def string(self, field: str = "string") -> str:
        at = self.offset
        n = self.u32(field)
        raw = self.take(n, field)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"{self.what}: {field} at offset {at} is not UTF-8") from None

    def option(self, read: Callable[[str], T], field: str = "option") -> T | None:
        """Borsh `Option<T>`: a 0/1 tag, then the value when the tag is 1."""
        at = self.offset
        tag = self.u8(field)
        if tag == 0:
            return None
        if tag != 1:
            raise DecodeError(f"{self.what}: {field} at offset {at} has option tag {tag}")
        return read(field)


_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def b58decode(text: str, what: str = "payload") -> bytes:
    """Base58 (Bitcoin alphabet), as JSON-RPC encodes instruction data; leading '1's are zero bytes."""
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise DecodeError(f"{what}: not base58 ({char!r})")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))
