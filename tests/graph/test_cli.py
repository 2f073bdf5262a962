import pytest

from graph.cli import main
from models.settings import get_settings


@pytest.mark.parametrize("command", [["seed"], ["dev"]])
def test_demo_data_is_refused_in_production(monkeypatch, command):
    monkeypatch.setenv("ENVIRONMENT", "production")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(command)
    finally:
        get_settings.cache_clear()
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("graphiql", "prepared"), [("true", ["assets"]), ("false", [])])
def test_serve_prepares_graphiql_assets_once_before_the_workers(monkeypatch, graphiql, prepared):
    steps: list[str] = []
    monkeypatch.setenv("GRAPHIQL", graphiql)
    monkeypatch.setattr("graph.cli.prepare_local_assets", lambda: steps.append("assets"))
    monkeypatch.setattr("graph.cli.uvicorn.run", lambda *_, **__: steps.append("uvicorn"))
    get_settings.cache_clear()
    try:
        main(["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert steps == [*prepared, "uvicorn"]


def test_serve_runs_uvicorn_with_the_served_options(monkeypatch):
    calls: list[dict[str, object]] = []
    monkeypatch.setenv("GRAPHIQL", "false")
    monkeypatch.setattr("graph.cli.uvicorn.run", lambda *_, **options: calls.append(options))
    get_settings.cache_clear()
    try:
        main(["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    # Without permessage-deflate: its zlib state was half an idle subscriber's memory.
    assert calls[0]["ws_per_message_deflate"] is False
    assert calls[0]["ws"] == "websockets-sansio"
    assert calls[0]["workers"] == 2
