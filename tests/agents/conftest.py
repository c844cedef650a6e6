"""The live execution tests trade in a sandbox world and book in a fresh database."""

from tests.sandbox.conftest import world  # noqa: F401  (a sandbox world per test, 10 ms slots)
from tests.venues.conftest import venue_db  # noqa: F401
