"""Generated documents over HTTP: valid ones from schema.graphql, and broken ones.

Valid queries and mutations come from hypothesis-graphql with our scalars (real and garbage
IDs, hostile strings, dates, decimals, JSON and GeoJSON); the broken ones are mutations of
them, unknown names, several operations, deep nesting, fragment fan-out and alias floods.
Every answer must keep the contract of `answers.check`.
"""

from graphql import GraphQLScalarType, specified_scalar_types
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis_graphql import Mode

from tests.graph.generated.answers import Sent
from tests.graph.generated.strategies import (
    CUSTOM_SCALARS,
    SCALAR_VALUES,
    bounded,
    fan_out,
    fill_placeholders,
    generated_documents,
    invalid_documents,
    json_body,
    roles,
    schema,
    several_operations,
    user_agents,
)


def post(query: str, operation_name: object = None) -> Sent:
    payload: dict[str, object] = {"query": query}
    if operation_name is not None:
        payload["operationName"] = operation_name
    return Sent("POST", "/graphql", json_body(payload), {"Content-Type": "application/json"})


def test_every_scalar_of_the_schema_has_a_generator():
    scalars = {
        name for name, type_ in schema().type_map.items() if isinstance(type_, GraphQLScalarType)
    }
    assert scalars <= SCALAR_VALUES.keys()
    assert scalars - set(specified_scalar_types) <= CUSTOM_SCALARS.keys()


@bounded(40)
@given(document=generated_documents("query", mode=Mode.POSITIVE), role=roles)
async def test_generated_queries_are_answered(send, world, document, role):
    await send(post(fill_placeholders(document, world.ids)), role=role)


@bounded(25)
@given(
    document=generated_documents("mutation", mode=Mode.POSITIVE),
    role=roles,
    user_agent=user_agents,
)
async def test_generated_mutations_are_answered(send, world, document, role, user_agent):
    await send(post(fill_placeholders(document, world.ids)), role=role, user_agent=user_agent)


@bounded(60)
@given(request=invalid_documents(), role=roles)
async def test_broken_documents_are_refused_with_a_code(send, world, request, role):
    document, operation_name = request
    sent = post(fill_placeholders(document, world.ids), operation_name)
    await send(sent, role=role)


@bounded(5)
@given(levels=st.integers(1, 14))
@example(levels=20)
async def test_fragment_fan_out_is_answered_within_the_budget(send, levels):
    await send(post(fan_out(levels)))


@bounded(10)
@given(request=several_operations())
async def test_several_operations_need_an_operation_name(send, request):
    document, operation_name, runnable = request
    response = await send(post(document, operation_name), role="member")
    payload = response.json()
    if not runnable:
        assert payload.get("errors"), f"{document!r} with operationName {operation_name!r} ran"
        assert payload.get("data") is None
