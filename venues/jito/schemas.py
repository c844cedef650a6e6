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


INFLIGHT_STATUSES = frozenset({"Invalid", "Pending", "Failed", "Landed"})


@dataclass(frozen=True, slots=True)
class InflightBundleStatus:
    """One entry of `getInflightBundleStatuses` (5-minute look-back): `Invalid` (unknown to the engine),
    `Pending`, `Failed` (every region that got it failed it: it will not be forwarded) or `Landed`."""

    bundle_id: str
    status: str
    landed_slot: int | None


def parse_inflight_status(entry: dict[str, Any]) -> InflightBundleStatus:
    status = str(entry.get("status"))
    if status not in INFLIGHT_STATUSES:
        raise ValueError(f"inflight bundle status {status!r} is none of {sorted(INFLIGHT_STATUSES)}")
    slot = entry.get("landed_slot")
    return InflightBundleStatus(str(entry["bundle_id"]), status, None if slot is None else int(slot))
