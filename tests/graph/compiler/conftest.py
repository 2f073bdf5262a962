"""Comparing the two read paths request by request."""

from typing import NamedTuple

import pytest

from graph.compiler import CompiledReads, PlanCache
from tests.graph.compiler.test_fast_path import compiled_count, fast_response, general_response


class Compared(NamedTuple):
    """One request on both paths."""

    # The compiled path's body; None where it left the request to the loader path.
    fast: bytes | None
    general: bytes
    # The read-path metric counted the compiled path as answering.
    compiled: bool


@pytest.fixture
def both_paths(execute, session, monkeypatch):
    """Run a query on both paths (see `Compared`), with a plan cache of the test's own.

    `fast` is None for a request left to the loader path and for a failed statement alike:
    the response as the app serves it (`execute`) is checked to be the loaders' either way.
    """
    plans = PlanCache()
    monkeypatch.setattr(CompiledReads, "plans", plans)

    async def run(query: str, variables=None, *, viewer=None) -> Compared:
        await execute(query, variables, viewer=viewer)
        general = await general_response(execute, query, variables, viewer=viewer)
        before = compiled_count()
        fast = await fast_response(plans, session, query, variables, viewer=viewer)
        return Compared(fast, general, compiled_count() == before + 1)

    return run
