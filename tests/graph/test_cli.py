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
