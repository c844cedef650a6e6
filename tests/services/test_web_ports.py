"""Worker web ports: the first free one from the base up, never the same for two live workers."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ServiceError
from services.web_ports import SPAN, bindable, claim_web_port


def _free_run(n: int) -> int:
    """A base port with `n` free ports from it."""
    for base in range(20000, 30000, 97):
        if all(bindable("127.0.0.1", base + i) for i in range(n)):
            return base
    raise AssertionError("no run of free ports")


def test_two_claims_get_the_base_port_and_the_next(tmp_path: Path) -> None:
    base = _free_run(3)
    first = claim_web_port(base, where=tmp_path)
    second = claim_web_port(base, where=tmp_path)
    assert (first.port, second.port) == (base, base + 1)
    first.release()
    assert claim_web_port(base, where=tmp_path).port == base  # a released port is free again


def test_a_port_something_listens_on_is_skipped(tmp_path: Path) -> None:
    base = _free_run(2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", base))
        s.listen()
        assert claim_web_port(base, where=tmp_path).port == base + 1


CLAIM = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from services.web_ports import claim_web_port\n"
    "c = claim_web_port(int(sys.argv[1]), where=Path(sys.argv[2]))\n"
    "print(c.port, flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_port_another_live_process_claimed_is_skipped_until_it_dies(tmp_path: Path) -> None:
    base = _free_run(2)
    other = subprocess.Popen(
        [sys.executable, "-c", CLAIM, str(base), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert other.stdout is not None
    assert int(other.stdout.readline()) == base
    claim = claim_web_port(base, where=tmp_path)
    assert claim.port == base + 1  # claimed, though nothing listens there yet
    claim.release()
    other.kill()
    other.wait()
    assert claim_web_port(base, where=tmp_path).port == base


def test_port_zero_means_any_free_port(tmp_path: Path) -> None:
    claim = claim_web_port(0, where=tmp_path)
    assert claim.port > 0


def test_no_free_port_in_the_span_is_one_clear_error(tmp_path: Path) -> None:
    base = _free_run(SPAN)
    claims = [claim_web_port(base, where=tmp_path) for _ in range(SPAN)]
    assert sorted(c.port for c in claims) == list(range(base, base + SPAN))
    with pytest.raises(ServiceError, match="no free worker web port"):
        claim_web_port(base, where=tmp_path)
