"""When `solbot run` restarts a worker that exited: after a backoff, unless it is crash-looping.

A trader runs the bot unattended: a worker killed by the OOM killer, a segfault in a native library or an
exception that escapes Faust should cost seconds of trading, not the run. Each exit is restarted after
`backoff_s`, doubled for every earlier exit still inside `window_s` (up to `backoff_max_s`), so a worker
that dies at start-up (a bad setting, a broken database) is not restarted in a tight loop; more than
`max_restarts` exits inside the window stop the run, with the exit that made it give up. Pure: the caller
passes the clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    """One worker's exits and the decision for the next one."""

    max_restarts: int = 5
    window_s: float = 300.0
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    exits: deque[float] = field(default_factory=deque)  # monotonic times of the exits inside the window
    restarts: int = 0  # over the whole run

    def on_exit(self, now: float) -> float | None:
        """An exit at `now`: the seconds to wait before restarting, or None to give up."""
        while self.exits and now - self.exits[0] > self.window_s:
            self.exits.popleft()
        earlier = len(self.exits)
        if earlier >= self.max_restarts:
            return None
        self.exits.append(now)
        self.restarts += 1
        return min(self.backoff_max_s, self.backoff_s * 2**earlier)
