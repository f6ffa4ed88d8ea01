"""The rule file: promtool's syntax check and unit tests (every alert fires when it should and not
when it should not), the annotations every alert needs, the runbook of each in docs/operations.md,
and that the generated artefacts (PrometheusRule, dashboard) match their sources."""
import re
import subprocess
import sys

import pytest
import yaml

from conftest import MONITORING, OPERATIONS, ROOT, RULE_TESTS, RULES, alerts, tool

ALERTS = alerts()
NAMES = [a["alert"] for a in ALERTS]


def promtool(*args, cwd=MONITORING):
    return subprocess.run([tool("promtool"), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_promtool_check_rules():
    out = promtool("check", "rules", RULES)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in yaml.safe_load(RULES.read_text())['groups'])} rules found" in out.stdout


def test_promtool_unit_tests_pass():
    out = promtool("test", "rules", RULE_TESTS)
    print(out.stdout)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_is_tested_firing_and_quiet():
    """Each alert has a case where it fires (exp_alerts listed) and one where it must not (empty)."""
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test.get("alert_rule_test", [])]
    for name in NAMES:
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no test where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no test where it stays quiet"


@pytest.mark.parametrize("threshold", ["> 0.05", "> 600", "> 10 and"])
def test_unit_tests_catch_a_changed_threshold(tmp_path, threshold):
    """The unit tests are not vacuous: moving a threshold makes them fail."""
    text = RULES.read_text()
    assert threshold in text
    (tmp_path / "mediapipeline.rules.yaml").write_text(text.replace(threshold, threshold.replace(threshold.split()[1], "100000"), 1))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "alerts.test.yaml").write_text(RULE_TESTS.read_text())
    out = promtool("test", "rules", tmp_path / "tests" / "alerts.test.yaml", cwd=tmp_path)
    assert out.returncode != 0, out.stdout


@pytest.mark.parametrize("alert", ALERTS, ids=NAMES)
def test_alert_annotations_and_runbook(alert):
    annotations = alert.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        assert annotations.get(key, "").strip(), f"{alert['alert']}: no {key}"
    assert alert["labels"]["severity"] in {"critical", "warning", "info"}
    anchor = alert["alert"].lower()
    assert annotations["runbook_url"] == f"docs/operations.md#{anchor}"
    # the runbook section: a heading named after the alert with the three parts under it
    text = OPERATIONS.read_text()
    match = re.search(rf"^### {alert['alert']}\n(.*?)(?=^### |^## |\Z)", text, re.S | re.M)
    assert match, f"docs/operations.md has no '### {alert['alert']}' section"
    section = match.group(1)
    for part in ("**What it means.**", "**What to check.**", "**What to do.**"):
        assert part in section, f"{alert['alert']}: runbook lacks {part}"


def test_runbook_lists_no_alert_that_does_not_exist():
    documented = re.findall(r"^### (MediaPipeline\w+)$", OPERATIONS.read_text(), re.M)
    assert sorted(documented) == sorted(NAMES)


def test_poison_runbook_explains_replay():
    section = OPERATIONS.read_text().split("### MediaPipelineJobsPoisoned", 1)[1].split("### ", 1)[0]
    assert "processor replay" in section


def test_generated_files_are_up_to_date():
    out = subprocess.run([sys.executable, str(MONITORING / "build.py"), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
