"""The memo a node reports for a landed transaction (`getSignaturesForAddress`), as the texts it holds.

A node writes each memo instruction's text prefixed with its byte length, several joined by "; ", e.g.
`[12] ord:1234abcd` (agave `rpc-client-types`, `extract_memos`): an order id is matched as a whole text,
never as a substring (`ord:1` is not `ord:12`).
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^\[\d+\] ")


def memo_texts(memo: str | None) -> list[str]:
    """The memo texts of a transaction, without their length prefixes; empty when it has none."""
    if not memo:
        return []
    return [_PREFIX.sub("", part, count=1) for part in memo.split("; ")]
