"""Table recovery under exactly-once: the end of a changelog from ListOffsets, not from a fetch never made.

Faust 0.15.3 (`AIOKafkaConsumerThread._highwaters`, faust/transport/drivers/aiokafka.py) takes a changelog's
end under exactly-once from `last_stable_offset(tp)`, the value the last *fetch response* of that partition
carried. Changelog partitions are paused until recovery, so it is None and the end is taken as -1:
recovery read nothing, every table came back empty after any rebalance or restart (the risk state too: a
fenced worker forgot its positions, "unknown pair" on the next fill). A read_committed consumer's
`end_offsets` sends ListOffsets with its isolation level, which answers the last stable offset: the end of
what committed transactions wrote. A transaction marker at the end is never handed out; Faust's recovery
then takes the position past it as done (`detect_aborted_tx`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def install_committed_highwaters(consumer_thread: Any) -> None:
    """Under exactly-once, the consumer thread's recovery ends come from ListOffsets (read_committed)."""
    highwaters = consumer_thread._highwaters

    async def committed_highwaters(partitions: list[Any]) -> Mapping[Any, int]:
        if not consumer_thread.consumer.in_transaction:
            return await highwaters(partitions)
        return dict(await consumer_thread._ensure_consumer().end_offsets(list(partitions)))

    consumer_thread._highwaters = committed_highwaters
