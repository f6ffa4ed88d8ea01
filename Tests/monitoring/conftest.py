"""Paths and helpers for the monitoring tests: the rule file, its promtool unit tests, the Grafana
dashboard and the Prometheus Operator objects (make test-monitoring). promtool and prometheus are
Debian's `prometheus` package (the Makefile's APT_PACKAGES)."""
import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "mediapipeline.rules.yaml"
RULE_TESTS = MONITORING / "tests" / "alerts.test.yaml"
DASHBOARD = MONITORING / "grafana" / "mediapipeline.json"
OPERATIONS = ROOT / "docs" / "operations.md"
COMPONENT = ROOT / "k8s" / "components" / "monitoring"
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
OPERATOR_SCHEMAS = SHARED / "schemas" / "prometheus-operator"


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's prometheus package (make deps)")
    return path


def alerts():
    """Every alerting rule of the rule file."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]
