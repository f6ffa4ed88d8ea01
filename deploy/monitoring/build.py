#!/usr/bin/env python3
"""Generates the monitoring artefacts from their one source each, so they cannot drift:

  mediapipeline.rules.yaml  (hand-kept)  ->  k8s/components/monitoring/prometheusrule.yaml
  PANELS below                           ->  grafana/mediapipeline.json (provisioned dashboard)

Run `python3 deploy/monitoring/build.py` after changing either; `--check` exits 1 when a committed
file differs from what would be generated (Tests/monitoring runs it). Only PyYAML is needed.
"""
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RULES = HERE / "mediapipeline.rules.yaml"
DASHBOARD = HERE / "grafana" / "mediapipeline.json"
PROMETHEUS_RULE = ROOT / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"

# Storage answers the code asks for on purpose (create-if-missing, conditional writes, lookups):
# the same list as the mediapipeline:storage_failures recording rule.
EXPECTED_STORAGE_CODES = ("ContainerAlreadyExists|QueueAlreadyExists|BlobAlreadyExists|BlobNotFound|ContainerNotFound|"
                          "QueueNotFound|MessageNotFound|ResourceNotFound|ConditionNotMet|PopReceiptMismatch|InvalidRange")
R = "$__rate_interval"


def quantiles(metric, by, legend):
    """p50/p95/p99 targets of a histogram."""
    group = ", ".join([*by, "le"])
    return [(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{R}])))", f"p{int(q * 100)} {legend}")
            for q in (0.5, 0.95, 0.99)]


# (row, title, unit, [(expr, legend)]): every expr is queried against a live Prometheus in the
# tests, with $__rate_interval replaced by a window.
PANELS = [
    ("Uploads", "Upload requests by status", "reqps",
     [(f'sum by (http_response_status_code) (rate(hb_requests{{http_route=~"/upload.*|/files.*|/resumable.*"}}[{R}]))', "{{http_response_status_code}}")]),
    ("Uploads", "Uploads by outcome", "reqps",
     [(f"sum by (outcome) (rate(uploader_uploads_total[{R}]))", "{{outcome}}")]),
    ("Uploads", "Upload throughput", "Bps",
     [(f"sum(rate(uploader_upload_bytes_total[{R}]))", "bytes/s")]),
    ("Uploads", "Upload duration", "s",
     quantiles("uploader_upload_duration_seconds", [], "")),
    ("Uploads", "Uploads in flight", "short",
     [("sum(uploader_uploads_in_flight)", "in flight")]),
    ("Jobs", "Jobs by outcome and media type", "ops",
     [(f"sum by (outcome, media) (rate(processor_jobs_total[{R}]))", "{{outcome}} {{media}}")]),
    ("Jobs", "Failed jobs by error code", "ops",
     [(f"sum by (code) (rate(processor_job_failures_total[{R}]))", "{{code}}")]),
    ("Jobs", "Stage durations", "s",
     quantiles("processor_stage_duration_seconds", ["stage"], "{{stage}}")),
    ("Queue", "Queue depth", "short",
     [("max(processor_queue_depth)", "jobqueue"), ("max(processor_poison_queue_depth)", "jobqueue-poison")]),
    ("Queue", "Oldest waiting job", "s",
     [("max(processor_queue_oldest_age_seconds)", "oldest job")]),
    ("Queue", "Processor replicas and jobs in flight", "short",
     [("count(processor_jobs_in_flight)", "replicas"), ("sum(processor_jobs_in_flight)", "jobs in flight")]),
    ("Queue", "Lease losses", "short",
     [(f"sum(increase(queue_lease_losses_total[{R}]))", "lost leases")]),
    ("Storage", "Storage calls by operation", "reqps",
     [(f"sum by (job, operation) (rate(storage_requests_total[{R}]))", "{{job}} {{operation}}")]),
    ("Storage", "Storage failures by operation and code", "ops",
     [(f'sum by (job, operation, code) (rate(storage_errors_total{{code!~"{EXPECTED_STORAGE_CODES}"}}[{R}]))',
       "{{job}} {{operation}} {{code}}")]),
    ("Storage", "Storage retries", "ops",
     [(f"sum by (job, operation) (rate(storage_retries_total[{R}]))", "{{job}} {{operation}}")]),
    ("Storage", "Storage latency p95 by operation", "s",
     [(f"histogram_quantile(0.95, sum by (job, operation, le) (rate(storage_request_duration_seconds_bucket[{R}])))",
       "{{job}} {{operation}}")]),
    # devstorage (local and test stacks only: it is not deployed to Azure) exports its own side of
    # the same calls on its metrics listener (DEVSTORAGE_METRICS_PORT): what it answered and what it
    # injected.
    ("devstorage", "devstorage requests by operation and status", "reqps",
     [(f"sum by (operation, status_class) (rate(devstorage_requests_total[{R}]))", "{{operation}} {{status_class}}")]),
    ("devstorage", "devstorage injected faults", "ops",
     [(f"sum by (kind, operation) (rate(devstorage_faults_injected_total[{R}]))", "{{kind}} {{operation}}")]),
    ("devstorage", "devstorage latency p95 by operation", "s",
     [(f"histogram_quantile(0.95, sum by (operation, le) (rate(devstorage_request_duration_seconds_bucket[{R}])))",
       "{{operation}}")]),
    ("devstorage", "devstorage queue messages", "short",
     [("sum by (queue) (devstorage_queue_messages)", "{{queue}}")]),
]


def dashboard():
    panels, y, panel_id, row = [], 0, 1, None
    for index, (row_title, title, unit, targets) in enumerate(PANELS):
        if row_title != row:
            if row is not None:
                y += 8
            panels.append({"type": "row", "title": row_title, "id": panel_id, "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            panel_id, y, row, column = panel_id + 1, y + 1, row_title, 0
        elif column == 3:
            y, column = y + 8, 0
        panels.append({
            "type": "timeseries", "title": title, "id": panel_id,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 8, "x": column * 8, "y": y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
            "targets": [{"refId": chr(65 + i), "expr": expr, "legendFormat": legend,
                         "datasource": {"type": "prometheus", "uid": "${datasource}"}} for i, (expr, legend) in enumerate(targets)],
        })
        panel_id, column = panel_id + 1, column + 1
    return {
        "uid": "mediapipeline", "title": "MediaPipeline", "tags": ["mediapipeline"], "timezone": "utc",
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "label": "Prometheus", "type": "datasource",
                                 "query": "prometheus", "current": {}, "hide": 0, "refresh": 1}]},
        "annotations": {"list": []},
        "panels": panels,
    }


def prometheus_rule():
    rules = yaml.safe_load(RULES.read_text())
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "mediapipeline", "namespace": "mediapipeline",
                     "labels": {"app.kubernetes.io/name": "mediapipeline", "app.kubernetes.io/part-of": "mediapipeline"}},
        "spec": {"groups": rules["groups"]},
    }


def block_representer(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def outputs():
    yaml.add_representer(str, block_representer, Dumper=yaml.SafeDumper)
    header = "# Generated by deploy/monitoring/build.py from deploy/monitoring/mediapipeline.rules.yaml: do not edit.\n"
    return {
        DASHBOARD: json.dumps(dashboard(), indent=2) + "\n",
        PROMETHEUS_RULE: header + yaml.safe_dump(prometheus_rule(), sort_keys=False, width=200),
    }


def main(argv):
    stale = []
    for path, text in outputs().items():
        if "--check" in argv:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("out of date (run python3 deploy/monitoring/build.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
