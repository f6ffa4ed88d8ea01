"""The rules and the dashboard against a real Prometheus (Debian's 2.42, started here on loopback)
scraping the running stack — devstorage, uploader and processor from .build/debug — while real
uploads, a poisoned job and an injected storage outage happen:
  1. uploads (JPEGs, one with a W3C traceparent, one corrupt → poisoned, one refused 401, one 415);
  2. devstorage restarted with every GetBlob on `rawfiles` answering 503 (the processor cannot read
     any input) while 20 more jobs are uploaded: the queue backs up, storage calls fail;
  3. devstorage restored: the backlog drains and every job succeeds.
devstorage serves its own metrics on a separate listener (DEVSTORAGE_METRICS_PORT), scraped as job
`devstorage`: its request, latency, fault and queue series must be there, and its fault counter must
have counted the outage's 503s. The backlog, poison and storage-error alerts must reach `firing`; every dashboard panel's query must
return data; the rules must name only metrics the binaries export; one trace id must follow a job
through both daemons' logs, the status document and the webhook.

What is shortened for the live run (live_stack.LIVE_FOR): every alert's `for:` is 5 s instead of
5-15 minutes, and rules are evaluated every second. The expressions, windows ([5m], [10m]) and
thresholds are the shipped ones; `promtool test rules` covers the real `for:` durations.
Dashboard queries run with Grafana's $__rate_interval replaced by 1m."""
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import yaml

import live_stack
from conftest import RULES, alerts
from live_stack import Prometheus, WebhookReceiver, corrupt_jpeg, interop, jpeg, upload, wait_until

GOOD_JOBS = 6
OUTAGE_JOBS = 20
MUST_FIRE = ["MediaPipelineQueueBacklogGrowing", "MediaPipelineJobsPoisoned", "MediaPipelineStorageErrorRatioHigh"]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
# devstorage's own view of the run, queried while the outage's alerts fire
DEVSTORAGE_QUERIES = [
    'sum by (operation) (devstorage_faults_injected_total{kind="fail"})',
    'sum by (operation, status) (devstorage_requests_total{status="503"})',
    'sum by (operation) (devstorage_requests_total{status_class="2xx"})',
    'devstorage_request_duration_seconds_count{operation="PutBlob"}',
    'devstorage_queue_messages{queue="jobqueue"}',
]


def firing(prometheus):
    return {a["labels"]["alertname"] for a in prometheus.api("alerts")["alerts"] if a["state"] == "firing"}


@pytest.fixture(scope="module")
def run():
    directory = Path(tempfile.mkdtemp(prefix="monitoring-live-"))
    hook = WebhookReceiver()
    # devstorage's metrics listener (off by default); in the environment so every (re)start of the
    # stack's devstorage keeps it on the same port
    metrics_port = interop.free_port()
    saved_metrics_port = os.environ.get("DEVSTORAGE_METRICS_PORT")
    os.environ["DEVSTORAGE_METRICS_PORT"] = str(metrics_port)
    stack = interop.Stack(
        processor=dict(PROCESSOR_WEBHOOK_URL=hook.url, PROCESSOR_STORAGE_RETRIES="1", PROCESSOR_STORAGE_RETRY_BASE_MS="20",
                       PROCESSOR_RETRY_MAX_DELAY_SECONDS="3"),
        UPLOADER_LOG_LEVEL="info")
    prometheus = Prometheus(directory, {"uploader": f"127.0.0.1:{stack.uploader.port}", "processor": f"127.0.0.1:{stack.processor.port}",
                                        "devstorage": f"127.0.0.1:{metrics_port}"})
    result = {"stack": stack, "prometheus": prometheus, "hook": hook, "timeline": []}
    began = time.time()

    def mark(event):
        result["timeline"].append((round(time.time() - began, 1), event, sorted(firing(prometheus))))
    try:
        wait_until(lambda: len(prometheus.query("up == 1")) == 3, 30, "Prometheus scraping both daemons and devstorage")
        # the poison counter is exported at 0 before anything is poisoned, so its rise is seen
        wait_until(lambda: prometheus.query("processor_poisoned_total == 0"), 30, "processor_poisoned_total at 0")
        mark("scraping")

        # 1. real uploads, one traced, one corrupt
        jobs = []
        for index in range(GOOD_JOBS):
            status, body = upload(stack, directory, f"good-{index}.jpg", jpeg(index))
            assert status == 202, body
            jobs.append(body["jobId"])
        status, body = upload(stack, directory, "traced.jpg", jpeg(99), "-H", f"traceparent: 00-{TRACE_ID}-00f067aa0ba902b7-01")
        assert status == 202, body
        result["traced"] = body["jobId"]
        jobs.append(body["jobId"])
        status, body = upload(stack, directory, "broken.jpg", corrupt_jpeg())
        assert status == 202, body
        result["poisoned"] = body["jobId"]
        assert upload(stack, directory, "nokey.jpg", jpeg(1), key=None)[0] == 401
        assert upload(stack, directory, "notes.txt", b"just some text, not an image\n" * 10)[0] == 415
        wait_until(lambda: all((stack.status(j) or {}).get("status") == "succeeded" for j in jobs), 90, "the good jobs to succeed")
        wait_until(lambda: len(stack.poison()) == 1, 30, "the corrupt job on the poison queue")
        mark("jobs done, one poisoned")
        wait_until(lambda: "MediaPipelineJobsPoisoned" in firing(prometheus), 60, "MediaPipelineJobsPoisoned firing")
        mark("poison alert firing")

        # 2. the storage outage: no input can be read while uploads go on
        stack.storage.restart(DEVSTORAGE_FAULTS_RATE=1, DEVSTORAGE_FAULTS_STATUS=503, DEVSTORAGE_FAULTS_OPERATIONS="GetBlob",
                              DEVSTORAGE_FAULTS_RESOURCES="rawfiles")
        mark("outage began")
        outage_jobs = []
        for index in range(OUTAGE_JOBS):
            status, body = upload(stack, directory, f"outage-{index}.jpg", jpeg(100 + index))
            assert status == 202, body
            outage_jobs.append(body["jobId"])
        mark(f"{OUTAGE_JOBS} jobs uploaded during the outage")
        wait_until(lambda: set(MUST_FIRE) <= firing(prometheus), 120, f"{MUST_FIRE} firing", interval=1)
        mark("backlog, poison and storage alerts firing")
        result["states"] = prometheus.rule_states()
        result["alerts"] = prometheus.api("alerts")["alerts"]
        result["panels"] = panel_results(prometheus)
        result["metric_names"] = set(prometheus.api("label/__name__/values"))
        wait_until(lambda: prometheus.query('sum(devstorage_faults_injected_total{kind="fail",operation="GetBlob"}) > 0'), 30,
                   "devstorage's fault counter scraped above 0")
        result["devstorage"] = {expr: prometheus.query(expr) for expr in DEVSTORAGE_QUERIES}

        # 3. storage back: the backlog drains
        stack.storage.restart()
        mark("outage ended")
        wait_until(lambda: all((stack.status(j) or {}).get("status") == "succeeded" for j in outage_jobs), 120,
                   "the outage's jobs to succeed")
        mark("outage's jobs succeeded")
        wait_until(lambda: prometheus.query("max(processor_queue_depth) == 0"), 30, "the queue depth gauge back at 0")
        mark("queue empty")
        result["outage_jobs"] = outage_jobs
        result["seconds"] = time.time() - began
        print("\n--- live run timeline (seconds, event, alerts firing)")
        for line in result["timeline"]:
            print("  ", line)
        yield result
    finally:
        if saved_metrics_port is None:
            os.environ.pop("DEVSTORAGE_METRICS_PORT", None)
        else:
            os.environ["DEVSTORAGE_METRICS_PORT"] = saved_metrics_port
        prometheus.stop()
        hook.stop()
        stack.close()
        shutil.rmtree(directory, ignore_errors=True)


def panel_results(prometheus):
    dashboard = __import__("json").loads(live_stack.ROOT.joinpath("deploy/monitoring/grafana/mediapipeline.json").read_text())
    results = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m")
            results.append((panel["title"], target["legendFormat"], expr, prometheus.query(expr)))
    return results


def test_backlog_poison_and_storage_alerts_fire(run):
    print("\n--- alert states when the three had fired (live for: %s)" % live_stack.LIVE_FOR)
    for name, state in sorted(run["states"].items()):
        print(f"   {state:8} {name}")
    for alert in run["alerts"]:
        if alert["state"] == "firing":
            print(f"   firing: {alert['labels']} value={float(alert['value']):.3g}: {alert['annotations']['summary']}")
    for name in MUST_FIRE:
        assert run["states"][name] == "firing", name
    storage = [a for a in run["alerts"] if a["labels"]["alertname"] == "MediaPipelineStorageErrorRatioHigh" and a["state"] == "firing"]
    assert {(a["labels"]["job"], a["labels"]["operation"]) for a in storage} == {("processor", "GetBlob")}
    # Nothing in this run should page for uploads: they all went through (bar the two refused on purpose).
    for name in ("MediaPipelineUpload5xxRatioHigh", "MediaPipelineUpload503RatioHigh", "MediaPipelineProcessorOOMKilled"):
        assert run["states"][name] == "inactive", name


def test_every_dashboard_panel_query_returns_data(run):
    print("\n--- dashboard panel queries (series: first values)")
    empty = []
    for title, legend, expr, result in run["panels"]:
        shown = ", ".join(f"{ {k: v for k, v in r['metric'].items()} or '{}'}={float(r['value'][1]):.3g}" for r in result[:4])
        print(f"   {title} [{legend}]: {len(result)} series: {shown}{' …' if len(result) > 4 else ''}")
        if not result:
            empty.append(f"{title}: {expr}")
    assert not empty, f"panel queries without data: {empty}"
    assert len(run["panels"]) >= 16


def test_rules_read_only_metrics_the_binaries_export(run):
    """Every metric a rule reads is one Prometheus scraped from the stack (kube-state-metrics'
    series excepted: there is no Kubernetes here)."""
    exprs = " ".join(r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"])
    # drop label matchers, grouping clauses and strings; what is left of the identifiers are
    # functions (followed by "("), keywords, recorded series (with ":") and metric names
    bare = re.sub(r'\{[^}]*\}|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|"[^"]*"', " ", exprs)
    tokens = [name for name, call in re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", bare) if not call]
    names = {t for t in tokens if "_" in t and ":" not in t}
    missing = sorted(n for n in names if not n.startswith("kube_") and n not in run["metric_names"])
    print("\n--- metrics the rules read:", ", ".join(sorted(names)))
    assert "processor_queue_oldest_age_seconds" in names and "storage_errors_total" in names
    assert not missing, f"rules read metrics the stack does not export: {missing}"


def test_one_trace_id_from_upload_to_webhook(run):
    stack, job = run["stack"], run["traced"]
    status = stack.status(job)
    assert status["traceId"] == TRACE_ID
    hooks = [h for h in run["hook"].received if h["body"]["jobId"] == job]
    assert len(hooks) == 1
    parent = hooks[0]["headers"]["traceparent"]
    assert re.fullmatch(rf"00-{TRACE_ID}-[0-9a-f]{{16}}-01", parent) and not parent.endswith("00f067aa0ba902b7-01")
    assert hooks[0]["body"]["traceId"] == TRACE_ID
    # every log line of either daemon that names the job carries its trace id
    for name, path in (("uploader", stack.uploader.log_path), ("processor", stack.processor.log_path)):
        lines = [line for line in Path(path).read_text(errors="replace").splitlines() if job in line]
        assert lines, f"no {name} log line names job {job}"
        without = [line for line in lines if f"trace.id={TRACE_ID}" not in line]
        assert not without, f"{name} log lines without the trace id: {without}"
        print(f"\n--- {name} log lines of job {job}:", *lines, sep="\n   ")
    # the poisoned job: its own (generated) trace id in its status, its webhook and its log lines
    poisoned = stack.status(run["poisoned"])
    assert poisoned["status"] == "failed" and re.fullmatch(r"[0-9a-f]{32}", poisoned["traceId"])
    hook = next(h for h in run["hook"].received if h["body"]["jobId"] == run["poisoned"])
    assert poisoned["traceId"] in hook["headers"]["traceparent"]
    assert all(f"trace.id={poisoned['traceId']}" in line
               for line in Path(stack.processor.log_path).read_text(errors="replace").splitlines() if run["poisoned"] in line)


def test_storage_lines_of_a_job_carry_its_trace_id(run):
    """StorageKit's own lines (the outage's failed GetBlob calls) name the job and its trace."""
    stack = run["stack"]
    failed = [line for line in Path(stack.processor.log_path).read_text(errors="replace").splitlines()
              if "[StorageKit] storage call failed" in line and "storage.operation=GetBlob" in line]
    assert failed, "no failed GetBlob logged during the outage"
    traces = {}
    for line in failed:
        job = re.search(r"job\.id=(\S+)", line)
        trace = re.search(r"trace\.id=([0-9a-f]{32})", line)
        assert job and trace, f"a storage line without its job's ids: {line}"
        traces.setdefault(job.group(1), set()).add(trace.group(1))
    assert set(traces) <= set(run["outage_jobs"])
    for job, ids in traces.items():
        assert ids == {stack.status(job)["traceId"]}, job
    print(f"\n--- {len(failed)} failed GetBlob lines, each with its job's trace id; e.g.\n   {failed[0]}")


def test_devstorage_metrics_scraped(run):
    """devstorage's listener was scraped as job `devstorage`: its series are there, the outage's
    injected GetBlob 503s were counted as faults and as 503 answers, and its names do not collide
    with the daemons' (all `devstorage_`)."""
    print("\n--- devstorage series during the outage")
    for expr, result in run["devstorage"].items():
        shown = ", ".join(f"{r['metric']}={float(r['value'][1]):.3g}" for r in result[:4])
        print(f"   {expr}: {len(result)} series: {shown}{' …' if len(result) > 4 else ''}")
        assert result, f"no data: {expr}"
        assert all(r["metric"].get("job", "devstorage") == "devstorage" for r in result), result
    faults = {r["metric"]["operation"]: float(r["value"][1]) for r in run["devstorage"][DEVSTORAGE_QUERIES[0]]}
    assert faults.get("GetBlob", 0) > 0 and set(faults) == {"GetBlob"}, faults
    answered_503 = {r["metric"]["operation"]: float(r["value"][1]) for r in run["devstorage"][DEVSTORAGE_QUERIES[1]]}
    assert answered_503.get("GetBlob", 0) > 0, answered_503
    assert {"devstorage_requests_total", "devstorage_request_duration_seconds_bucket", "devstorage_faults_injected_total",
            "devstorage_queue_messages"} <= run["metric_names"]


def test_every_alert_was_evaluated(run):
    """The live Prometheus loaded the whole rule file (a rule it rejected would be missing)."""
    assert sorted(run["states"]) == sorted(a["alert"] for a in alerts())
    print(f"\n--- live run took {run['seconds']:.0f} s")
