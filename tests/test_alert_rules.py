"""The Prometheus alert rules are valid, fire when they should, and use metrics we export."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import graph.schema.metrics  # noqa: F401 - registers the metrics the rules refer to

RULES_DIR = Path(__file__).resolve().parent.parent / "docs" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
METRIC = re.compile(r"\bsartiq_[a-z_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def exported_metric_names() -> set[str]:
    names = {metric.name for metric in REGISTRY.collect()}
    # Pool gauges come from a collector registered with an engine; they are documented here.
    names |= {"sartiq_db_pool_size", "sartiq_db_pool_checked_out", "sartiq_db_pool_overflow"}
    return names


def base_name(sample: str) -> str:
    for suffix in SUFFIXES:
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample


def test_every_rule_is_complete_and_uses_exported_metrics():
    rules = [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]
    assert len(rules) >= 5
    exported = exported_metric_names()
    for rule in rules:
        assert rule["alert"].startswith("Sartiq"), rule
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]
        used = {base_name(name) for name in METRIC.findall(rule["expr"])}
        assert used, rule["alert"]
        assert used <= {base_name(name) for name in exported}, (rule["alert"], used - exported)


def promtool() -> str | None:
    found = shutil.which("promtool")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        # Debian's prometheus package ships promtool; with no init system it starts nothing.
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"],  # noqa: S607 - apt-get from PATH, as the bootstrap uses it
            check=False,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            timeout=300,
        )
        found = shutil.which("promtool")
    return found


def test_promtool_accepts_the_rules_and_their_unit_tests():
    binary = promtool()
    if binary is None:
        pytest.skip("promtool is not installed and cannot be (needs root and apt-get)")
    for command in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run(  # noqa: S603 - promtool with fixed arguments
            [binary, *command], cwd=RULES_DIR, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
