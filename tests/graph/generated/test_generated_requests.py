"""Generated HTTP requests: bodies, content types, methods, query strings and headers.

A careless or hostile client sends JSON of the wrong shape, numbers JSON cannot hold (1e999 as
raw text), JSON nested thousands deep, bodies that are not UTF-8, odd content types and
methods. Each must be refused with GraphQL-shaped JSON and a code, in time, without a trace.
"""

from hypothesis import given
from hypothesis import strategies as st

from tests.graph.generated.answers import Sent
from tests.graph.generated.strategies import (
    CONTENT_TYPES,
    accepts,
    authorizations,
    bounded,
    get_params,
    good_query,
    json_body,
    query_string,
    request_bodies,
    roles,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")


@bounded(100)
@given(
    body=request_bodies,
    content_type=st.sampled_from(CONTENT_TYPES[:3]) | st.sampled_from(CONTENT_TYPES),
    role=roles,
)
async def test_generated_bodies(send, body, content_type, role):
    await send(Sent("POST", "/graphql", body, {"Content-Type": content_type}), role=role)


@bounded(40)
@given(
    method=st.sampled_from(METHODS),
    content_type=st.sampled_from(CONTENT_TYPES),
    query=good_query,
    accept=accepts,
)
async def test_methods_and_content_types(send, method, content_type, query, accept):
    body = json_body({"query": query}) if method not in {"GET", "HEAD"} else b""
    headers = {"Content-Type": content_type, "Accept": accept}
    await send(Sent(method, "/graphql", body, headers))


@bounded(40)
@given(params=get_params(), role=roles)
async def test_generated_get_requests(send, params, role):
    await send(Sent("GET", f"/graphql?{query_string(params)}"), role=role)


@bounded(20)
@given(authorization=authorizations, query=good_query)
async def test_generated_authorization_headers(send, authorization, query):
    sent = Sent(
        "POST",
        "/graphql",
        json_body({"query": query}),
        {"Content-Type": "application/json", "Authorization": authorization},
    )
    await send(sent)
