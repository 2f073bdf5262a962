"""Cross-origin calls from browser pages: allowed only for the configured origins."""

from tests.graph.serving import serving

APP = "https://app.example.com"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_a_configured_origin_passes_the_preflight_and_reads_the_answer(session):
    async with serving(session, cors_allowed_origins=(APP,)) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
        answer = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP}
        )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert answer.json() == {"data": {"__typename": "Query"}}
    assert answer.headers["access-control-allow-origin"] == APP


async def test_another_origin_gets_no_permission(session):
    async with serving(session, cors_allowed_origins=(APP,)) as client:
        preflight = await client.options(
            "/graphql", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        answer = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
        )

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


async def test_without_origins_configured_options_is_refused_as_before(session):
    async with serving(session) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)

    assert preflight.status_code == 405
    assert preflight.headers["allow"] == "GET, POST"
    assert "access-control-allow-origin" not in preflight.headers


def test_origins_are_read_comma_separated_from_the_environment(monkeypatch):
    from models.settings import Settings  # noqa: PLC0415 - read after the variable is set

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{APP}, https://admin.example.com")
    assert Settings().cors_allowed_origins == (APP, "https://admin.example.com")


def test_origins_are_read_as_a_json_list_from_the_environment_too(monkeypatch):
    from models.settings import Settings  # noqa: PLC0415 - read after the variable is set

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f'["{APP}", "https://admin.example.com"]')
    assert Settings().cors_allowed_origins == (APP, "https://admin.example.com")


async def test_a_refusal_of_the_size_limit_is_readable_by_an_allowed_origin(session):
    async with serving(session, cors_allowed_origins=(APP,), max_request_bytes=1_000) as client:
        answer = await client.post(
            "/graphql",
            json={"query": "{ __typename }", "variables": {"pad": "x" * 2_000}},
            headers={"Origin": APP},
        )

    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert answer.headers["access-control-allow-origin"] == APP


async def test_a_refused_preflight_is_json_with_a_code_naming_what_was_refused(session):
    async with serving(session, cors_allowed_origins=(APP,)) as client:
        origin = await client.options(
            "/graphql", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        header = await client.options(
            "/graphql", headers={**PREFLIGHT, "Access-Control-Request-Headers": "x-unknown"}
        )

    assert origin.status_code == 400
    assert origin.headers["content-type"].startswith("application/json")
    assert origin.json() == {
        "errors": [
            {
                "message": "This cross-origin request is not allowed: its origin.",
                "extensions": {"code": "CROSS_ORIGIN_REFUSED"},
            }
        ]
    }
    assert "access-control-allow-origin" not in origin.headers
    assert header.status_code == 400
    assert header.json()["errors"][0]["message"].endswith("its headers.")
    # The origin is allowed: the browser may read the refusal.
    assert header.headers["access-control-allow-origin"] == APP
