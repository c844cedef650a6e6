"""The records an agent is handed of a contiguous partition follow each other from the committed offset on;
a record past the expected one names the hole before it."""

from __future__ import annotations

from faust.types import TP

from streams.contiguity import Contiguity, Hole


class Committed:
    """The group's committed offsets, counting the partitions asked about."""

    def __init__(self, offsets: dict[tuple[str, int], int | None]) -> None:
        self.offsets = offsets
        self.asked: list[tuple[str, int]] = []

    def __call__(self, topic: str, partition: int) -> int | None:
        self.asked.append((topic, partition))
        return self.offsets.get((topic, partition))


def test_records_that_follow_each_other_from_the_committed_offset_leave_no_hole() -> None:
    check = Contiguity(["raw.swaps"])
    committed = Committed({("raw.swaps", 1): 40})
    assert [check.hole("raw.swaps", 1, o, committed) for o in range(40, 45)] == [None] * 5
    assert committed.asked == [("raw.swaps", 1)]  # only for the first record


def test_a_record_past_the_expected_one_names_the_records_never_handed_over() -> None:
    check = Contiguity(["raw.swaps"])
    committed = Committed({("raw.swaps", 2): 180})
    assert check.hole("raw.swaps", 2, 1267, committed) == Hole("raw.swaps", 2, 180, 1266)
    assert check.hole("raw.swaps", 2, 1268, committed) is None
    hole = check.hole("raw.swaps", 2, 1270, committed)
    assert hole == Hole("raw.swaps", 2, 1269, 1269) and hole.records == 1


def test_records_read_again_are_no_hole_and_do_not_move_the_expectation_back() -> None:
    check = Contiguity(["raw.swaps"])
    committed = Committed({("raw.swaps", 0): 10})
    for offset in (10, 11, 12, 5, 6, 13):
        assert check.hole("raw.swaps", 0, offset, committed) is None
    assert check.hole("raw.swaps", 0, 15, committed) == Hole("raw.swaps", 0, 14, 14)


def test_a_partition_with_nothing_committed_starts_where_its_first_record_is() -> None:
    check = Contiguity(["raw.swaps"])
    committed = Committed({})
    assert check.hole("raw.swaps", 3, 700, committed) is None  # the log's start
    assert check.hole("raw.swaps", 3, 702, committed) == Hole("raw.swaps", 3, 701, 701)


def test_a_partition_that_changed_hands_is_compared_with_the_committed_offset_again() -> None:
    check = Contiguity(["raw.swaps"])
    offsets: dict[tuple[str, int], int | None] = {("raw.swaps", 1): 0}
    committed = Committed(offsets)
    for offset in range(0, 100):
        check.hole("raw.swaps", 1, offset, committed)
    offsets[("raw.swaps", 1)] = 900  # another worker applied 100..899 meanwhile
    check.forget([TP("raw.swaps", 1)])
    assert check.hole("raw.swaps", 1, 900, committed) is None
    check.forget([TP("raw.swaps", 1)])
    assert check.hole("raw.swaps", 1, 905, committed) == Hole("raw.swaps", 1, 900, 904)


def test_topics_whose_offsets_may_skip_are_not_judged() -> None:
    check = Contiguity(["raw.swaps"])
    committed = Committed({("features", 0): 0})
    assert check.hole("features", 0, 50, committed) is None  # transaction markers
    assert committed.asked == []
