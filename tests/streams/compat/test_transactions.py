"""`TaskTransactions.route`: which transaction an output joins, and when it is dropped."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from streams.compat.transactions import TaskTransactions, outputs_of

GROUPS = {"signals": 0, "solbot-risk-changelog": 0, "features": 1, "orders": 0}


def manager(producers: set[str], lost: set[str] = frozenset()) -> TaskTransactions:  # type: ignore[assignment]
    m = object.__new__(TaskTransactions)  # routing needs no running service
    m.app = SimpleNamespace(  # type: ignore[misc]
        assignor=SimpleNamespace(group_for_topic=GROUPS.__getitem__), conf=SimpleNamespace(id="solbot")
    )
    m.producer = SimpleNamespace(_transaction_producers=dict.fromkeys(producers))  # type: ignore[misc]
    m.lost = set(lost)
    return m


def test_an_output_joins_its_input_task_named_by_outputs_of() -> None:
    m = manager({"solbot-1-2"})
    with outputs_of(TP("features", 2)):
        assert m.route("signals", 0) == ("solbot-1-2", False)


def test_without_a_source_the_destination_task_when_ours_else_outside() -> None:
    m = manager({"solbot-0-0"})
    assert m.route("orders", 0) == ("solbot-0-0", False)
    assert m.route("features", 3) == (None, False)  # not ours: the idempotent producer
    assert m.route("dlq.unknown", 0) == (None, False)


def test_a_fenced_tasks_late_outputs_are_dropped_not_sent_outside_transactions() -> None:
    # A table's changelog record buffered by Faust (send_soon) is sent without its source; after a fence its
    # destination task is gone: sending it outside transactions would commit what the fence aborted.
    m = manager(set(), lost={"solbot-0-0"})
    assert m.route("solbot-risk-changelog", 0) == ("solbot-0-0", True)
    with outputs_of(TP("signals", 0)):
        assert m.route("orders", 0) == ("solbot-0-0", True)
