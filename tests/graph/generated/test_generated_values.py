"""Generated variables over HTTP: every root field called with hostile values.

Each query and mutation of the schema is called with its arguments as variables, drawn from
their GraphQL input types: well-shaped mostly, with NUL and lone surrogates in strings, huge
and non-finite numbers, dates that overflow, deep JSON, odd GeoJSON, real and garbage IDs, and
now and then a value of the wrong kind. A bad value must answer BAD_USER_INPUT (or another
code), never a 500 or a masked INTERNAL_SERVER_ERROR.
"""

from hypothesis import given

from tests.graph.generated.answers import Sent
from tests.graph.generated.strategies import (
    bounded,
    fill_value_placeholders,
    json_body,
    operations_with_variables,
    roles,
    user_agents,
)


def post(document: str, variables: object) -> Sent:
    body = json_body({"query": document, "variables": variables})
    return Sent("POST", "/graphql", body, {"Content-Type": "application/json"})


@bounded(80)
@given(operation=operations_with_variables("query"), role=roles)
async def test_queries_with_generated_variables(send, world, operation, role):
    document, variables = operation
    await send(post(document, fill_value_placeholders(variables, world.ids)), role=role)


@bounded(60)
@given(operation=operations_with_variables("mutation"), role=roles, user_agent=user_agents)
async def test_mutations_with_generated_variables(send, world, operation, role, user_agent):
    document, variables = operation
    sent = post(document, fill_value_placeholders(variables, world.ids))
    await send(sent, role=role, user_agent=user_agent)
