"""Jito's payloads as typed structs: one entry of a `getBundleStatuses` answer, named as Jito names it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BundleStatus:
    bundle_id: str
    transactions: list[str]
    slot: int
    confirmation_status: str | None
    err: object  # {"Ok": None} when it landed without error


def parse_bundle_status(entry: dict[str, Any]) -> BundleStatus:
    """Accepts both spellings of the status field (the docs' table and example disagree)."""
    status = entry.get("confirmation_status", entry.get("confirmationStatus"))
    return BundleStatus(
        bundle_id=str(entry["bundle_id"]),
        transactions=[str(sig) for sig in entry.get("transactions") or []],
        slot=int(entry.get("slot") or 0),
        confirmation_status=None if status is None else str(status),
        err=entry.get("err"),
    )
