"""HTTP caching of /graphql answers (graph/http/caching.py), through the app as served.

An anonymous GET of a persisted document is public for `HTTP_CACHE_MAX_AGE_SECONDS`, with a
strong ETag and 304 on `If-None-Match`; a plain anonymous GET is `no-cache` with the same
validators; anything with `Authorization` is `private, no-store`; POSTs, mutations and answers
with errors are `no-store`. Every answer varies on `Accept` and `Authorization`.
"""

import json

import pytest

from graph.http.caching import entity_tag, matches
from graph.schema.persisted_queries import operation_documents, sha256_hex
from tests.factories import make_login_session, make_user, make_venue
from tests.graph.serving import serving

COUNT = "{ venues(first: 5) { totalCount } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
PUBLIC = "public, max-age=60"


def by_hash(document: str, **fields: object) -> dict[str, str]:
    """GET parameters naming `document` by its hash only (Apollo's persisted query)."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}
    return {
        "extensions": json.dumps(extensions),
        **{name: json.dumps(value) for name, value in fields.items()},
    }


async def register(client, document: str) -> None:
    """Send `document` with its hash once, so the server keeps it."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}
    response = await client.post("/graphql", json={"query": document, "extensions": extensions})
    assert response.status_code == 200, response.text


def assert_varies(response) -> None:
    vary = {part.strip().lower() for part in response.headers["vary"].split(",")}
    assert {"accept", "authorization"} <= vary


async def test_an_anonymous_persisted_get_is_public_with_a_strong_etag(client):
    await register(client, COUNT)

    response = await client.get("/graphql", params=by_hash(COUNT))

    assert response.status_code == 200
    assert response.json() == {"data": {"venues": {"totalCount": 0}}}
    assert response.headers["cache-control"] == PUBLIC
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert etag == entity_tag("application/json", response.content)
    assert_varies(response)


async def test_an_allowlisted_document_by_hash_is_public_without_registering(session):
    document = operation_documents()["VenueSearchList"]
    async with serving(session, persisted_queries_only=True) as client:
        response = await client.get("/graphql", params=by_hash(document, variables={"first": 1}))

    assert response.status_code == 200
    assert "errors" not in response.json()
    assert response.headers["cache-control"] == PUBLIC
    assert "etag" in response.headers


async def test_a_document_named_by_document_id_is_public_too(session):
    document = operation_documents()["VenueSearchList"]
    params = {"documentId": f"sha256:{sha256_hex(document)}", "variables": '{"first": 1}'}
    async with serving(session, persisted_queries_only=True) as client:
        response = await client.get("/graphql", params=params)
        again = await client.get(
            "/graphql", params=params, headers={"If-None-Match": response.headers["etag"]}
        )
        signed = await client.get("/graphql", params=params, headers={"Authorization": "Bearer x"})

    assert response.status_code == 200
    assert "errors" not in response.json()
    assert response.headers["cache-control"] == PUBLIC
    assert again.status_code == 304
    assert signed.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', "*"],
    ids=["same", "weak", "in a list", "any"],
)
async def test_a_matching_if_none_match_is_304_without_a_body(client, if_none_match):
    await register(client, COUNT)
    first = await client.get("/graphql", params=by_hash(COUNT))
    etag = first.headers["etag"]

    again = await client.get(
        "/graphql",
        params=by_hash(COUNT),
        headers={"If-None-Match": if_none_match.format(etag=etag)},
    )

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == PUBLIC
    assert_varies(again)


async def test_a_changed_answer_has_another_etag_and_a_body(session, client):
    await register(client, COUNT)
    before = await client.get("/graphql", params=by_hash(COUNT))
    await make_venue(session)

    after = await client.get(
        "/graphql", params=by_hash(COUNT), headers={"If-None-Match": before.headers["etag"]}
    )

    assert after.status_code == 200
    assert after.json() == {"data": {"venues": {"totalCount": 1}}}
    assert after.headers["etag"] != before.headers["etag"]


async def test_each_media_type_has_its_own_etag(client):
    await register(client, COUNT)
    as_json = await client.get("/graphql", params=by_hash(COUNT))
    as_graphql = await client.get(
        "/graphql", params=by_hash(COUNT), headers={"Accept": GRAPHQL_RESPONSE}
    )

    assert as_json.content == as_graphql.content
    assert as_graphql.headers["content-type"] == GRAPHQL_RESPONSE
    assert as_json.headers["etag"] != as_graphql.headers["etag"]
    refused = await client.get(
        "/graphql",
        params=by_hash(COUNT),
        headers={"Accept": GRAPHQL_RESPONSE, "If-None-Match": as_json.headers["etag"]},
    )
    assert refused.status_code == 200


async def test_max_age_is_the_setting(session):
    async with serving(session, http_cache_max_age_seconds=300) as client:
        await register(client, COUNT)
        response = await client.get("/graphql", params=by_hash(COUNT))

    assert response.headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize("token", ["viewer-token", "not-a-session"], ids=["viewer", "bad token"])
async def test_anything_with_authorization_is_private_and_not_stored(session, client, token):
    user = await make_user(session)
    await make_login_session(session, user=user, token="viewer-token")
    await register(client, COUNT)
    authorization = {"Authorization": f"Bearer {token}"}
    first = await client.get("/graphql", params=by_hash(COUNT), headers=authorization)

    again = await client.get(
        "/graphql",
        params=by_hash(COUNT),
        headers={**authorization, "If-None-Match": "*"},
    )
    posted = await client.post("/graphql", json={"query": COUNT}, headers=authorization)
    plain_get = await client.get("/graphql", params={"query": COUNT}, headers=authorization)

    for response in (first, again, posted, plain_get):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, no-store"
        assert "etag" not in response.headers
        assert_varies(response)


async def test_a_post_is_never_stored_even_by_hash(client):
    await register(client, COUNT)
    extensions = json.loads(by_hash(COUNT)["extensions"])

    response = await client.post(
        "/graphql", json={"extensions": extensions}, headers={"If-None-Match": "*"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"venues": {"totalCount": 0}}}
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    assert_varies(response)


async def test_a_mutation_over_post_is_never_stored(client):
    mutation = (
        'mutation { signUp(input: {email: "cache@x.test", password: "correct horse battery",'
        ' displayName: "C"}) { token } }'
    )

    response = await client.post("/graphql", json={"query": mutation})

    assert response.status_code == 200
    assert response.json()["data"]["signUp"]["token"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_a_mutation_over_get_is_refused_and_not_stored(client):
    response = await client.get("/graphql", params={"query": "mutation { logOut { __typename } }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["cache-control"] == "no-store"
    assert_varies(response)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ('query { __typename venue(id: "bad") { id } }', None),  # a field error beside data
        ("query Q($n: Int) { venues(first: $n) { totalCount } }", {"n": "x"}),  # a request error
    ],
    ids=["field error", "request error"],
)
async def test_a_persisted_get_with_errors_is_not_stored(client, document, variables):
    await register(client, document)
    fields = {"variables": variables} if variables else {}

    response = await client.get(
        "/graphql", params=by_hash(document, **fields), headers={"If-None-Match": "*"}
    )

    assert response.status_code == 200
    assert response.json()["errors"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_an_unknown_hash_is_not_stored(client):
    response = await client.get("/graphql", params=by_hash("{ __typename }"))

    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_a_plain_anonymous_get_is_revalidated_every_time(client):
    first = await client.get("/graphql", params={"query": COUNT})
    again = await client.get(
        "/graphql", params={"query": COUNT}, headers={"If-None-Match": first.headers["etag"]}
    )
    registering = await client.get(
        "/graphql",
        params={"query": COUNT, **by_hash(COUNT)},
    )

    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"
    # The document came with the request (registered, not looked up): a plain GET too.
    assert registering.headers["cache-control"] == "no-cache"


def test_if_none_match_compares_weakly_and_lists():
    tag = '"abc"'

    assert matches('"abc"', tag)
    assert matches('W/"abc"', tag)
    assert matches(' "x" ,  "abc" ', tag)
    assert matches("*", tag)
    assert not matches('"abcd"', tag)
    assert not matches("", tag)
    assert not matches(None, tag)
