"""Records handed to the agents as the bytes they arrived as, without Faust's decoding layers.

Every topic an agent reads is declared `key_type=bytes, value_type=bytes` with the `raw` serializer: the
agents decode the bytes themselves, so a bad record becomes a dead letter with its reason. Faust still
ran each record's key and value through its decoding chain (faust-streaming 0.15.3:
`Schema.compile`'s `decode` -> `Registry.loads_key` / `loads_value` -> the `raw` codec -> `want_bytes`,
then `App.create_event`, which reads `app.conf.Event` through the settings registry per record), which
gives back the very bytes it was handed: 13 % of a worker's main thread at 5,000 raw events/s (py-spy,
`bench.run --only latency`), for nothing.

`RawBytesSchema` is that schema with a `compile` that builds the event from the record as it is. Sending
is Faust's own (`Schema.dumps_key` / `dumps_value`, unchanged).
"""

from __future__ import annotations

from typing import Any

from faust.serializers.schemas import Schema


class RawBytesSchema(Schema):
    """`bytes` keys and values with the `raw` codec, decoded by handing the record's own bytes on."""

    def __init__(self) -> None:
        super().__init__(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def compile(self, app: Any, **_: Any) -> Any:
        """The decode function Faust calls per record: what the `raw` codec would return, the record's key and
        value (bytes or None) unchanged."""
        event_type = app.conf.Event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return event_type(app, message.key, message.value, message.headers, message)

        return decode
