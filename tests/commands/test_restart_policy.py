"""solbot run's worker restarts: the backoff doubles with each exit in the window, and a crash loop stops."""

from __future__ import annotations

from solbot.restarts import RestartPolicy


def test_backoff_doubles_with_each_exit_in_the_window_up_to_the_cap() -> None:
    policy = RestartPolicy(max_restarts=10, window_s=100.0, backoff_s=1.0, backoff_max_s=5.0)
    assert [policy.on_exit(t) for t in (0.0, 2.0, 4.0, 8.0, 16.0)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.restarts == 5


def test_exits_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(max_restarts=2, window_s=60.0, backoff_s=1.0)
    assert policy.on_exit(0.0) == 1.0
    assert policy.on_exit(10.0) == 2.0
    assert policy.on_exit(20.0) is None  # a third exit within a minute: crash loop
    assert policy.on_exit(65.0) == 2.0  # the exit at 0 s left the window; the one at 10 s is still in
    assert policy.restarts == 3


def test_zero_restarts_gives_up_at_the_first_exit() -> None:
    assert RestartPolicy(max_restarts=0).on_exit(0.0) is None
