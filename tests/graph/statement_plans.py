"""The plans of the statements a GraphQL request ran: what the EXPLAIN tests read."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import event


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, init plans and subplans included."""
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


async def explained(  # noqa: PLR0913 - the request, its viewer and the EXPLAIN options
    connection: Any,
    execute: Any,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    viewer: Any = None,
    options: str = "FORMAT JSON",
) -> tuple[Any, list[dict[str, Any]]]:
    """Run `query`, then EXPLAIN (`options`) each SELECT it ran, with its parameters.

    The data, and each statement's plan (the root node of its JSON).
    """
    ran: list[tuple[str, Any]] = []

    def capture(*arguments: Any) -> None:
        statement, parameters = arguments[2], arguments[3]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            ran.append((statement, parameters))

    sync_connection = connection.sync_connection
    event.listen(sync_connection, "before_cursor_execute", capture)
    try:
        result = await execute(query, variables, viewer=viewer)
    finally:
        event.remove(sync_connection, "before_cursor_execute", capture)
    assert result.errors is None, result.errors
    plans = []
    for statement, parameters in ran:
        explain = await connection.exec_driver_sql(f"EXPLAIN ({options}) {statement}", parameters)
        plans.append(explain.scalar_one()[0]["Plan"])
    return result.data, plans
