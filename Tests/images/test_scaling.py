"""Scaling by queue depth, exercised: KEDA's part played with KEDA's own formula (keda.py) on the
values of k8s/keda.yaml, processor replicas as containers of our image started and stopped as the
formula says, jobs sent through the uploader container.

The run, on one devstorage container and one uploader container:

1. Trickle: a few jobs one at a time (full-size photos and clips among them). One message wakes the
   first replica (activationQueueLength); each job's processing time alone on a replica is measured;
   after cooldownPeriod the processors go back to zero.
2. Burst: BURST (300) mixed photo and clip jobs uploaded at once (8 concurrent `curl -F`). The
   queue's approximate message count (visible + leased, `queueLengthStrategy: all`) drives KEDA's
   activation and the HPA's ceil(length / queueLength), bounded by min/max and the scale-up policy.
3. Hold: once the burst has drained to HOLD messages, uploads keep the queue at HOLD messages (a
   steady stream that keeps most replicas busy): the HPA's proposal falls to ceil(HOLD / queueLength),
   and after the scale-down stabilization window it removes replicas one per policy period, each by
   SIGTERM (`podman stop`, as a kubelet does) while it runs jobs — until enough such scale-ins happened.
4. Drain and cooldown: the queue empties, KEDA scales to zero after cooldownPeriod.

Time is compressed by KEDA_TIME_SCALE (default 10): every interval read from keda.yaml (and the HPA
sync period) is divided by it; the formula is unchanged and the jobs run in real time. At the end:
every accepted job `succeeded`, exactly once (one "job succeeded" across all replica logs, attempts
1, one status document, one output set, nothing else under processed/), no poison entry, no message
left, every replica's temp directories empty, every SIGTERM'd replica exited 0, and the replica count
followed the formula (a replay of the recorded queue samples through a fresh keda.Autoscaler takes
the same decisions, and the containers started/stopped add up to them).

Prints the table (time, queue length, desired, running, jobs done, jobs/s), jobs/s per replica
count and the measured job times; with SCALING_REPORT=path it also writes them there (Markdown).

    CONTAINERS_CONF=$PWD/Tests/images/containers.conf .venv/bin/pytest -s -p no:cacheprovider \\
        --rootdir Tests/images Tests/images/test_scaling.py
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import random
import re
import statistics
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

import keda
import podman
from conftest import API_KEY, PHOTOS, Daemon, curl_upload, job_status, make_clip, profile_json, real_clip, unique

TIME_SCALE = float(os.environ.get("KEDA_TIME_SCALE", "10"))
BURST = int(os.environ.get("SCALING_BURST", "300"))
CLIP_SHARE = float(os.environ.get("SCALING_CLIP_SHARE", "0.2"))       # 1 clip in 5 jobs
HOLD = int(os.environ.get("SCALING_HOLD_MESSAGES", "32"))              # the steady stream's queue level
LOADED_SCALE_INS = int(os.environ.get("SCALING_LOADED_SCALE_INS", "3"))
HOLD_MAX_SECONDS = float(os.environ.get("SCALING_HOLD_MAX_SECONDS", "180"))
TABLE_STEP = float(os.environ.get("SCALING_TABLE_STEP", "10"))
UPLOAD_THREADS = 8
GRACE = 60                      # PROCESSOR_SHUTDOWN_GRACE_SECONDS for the replicas (the manifest's 3600 is for real videos)
STOP_TIMEOUT = GRACE + 15       # terminationGracePeriodSeconds: grace + margin
EXPECTED_OUTPUTS = {"photo": {"image.webp", "thumb.webp"}, "clip": {"video.mp4", "poster.webp", "storyboard.webp", "storyboard.vtt"}}


# This run takes minutes; another pytest session of Tests/images on the same machine removes every
# container labelled mediapipeline-test=1 when it starts and ends (conftest.remove_test_containers).
# Ours carry the same label key with their own value — the later --label wins — and this module
# removes them itself (and those of earlier runs whose pytest is gone).
LABEL_KEY = podman.LABEL.split("=")[0]
OWN_LABEL = ["--label", f"{LABEL_KEY}=scaling-{os.getpid()}"]


def remove_stale_containers() -> None:
    lines = podman.podman("ps", "-a", "--filter", f"label={LABEL_KEY}", "--format", f'{{{{.ID}}}} {{{{index .Labels "{LABEL_KEY}"}}}}',
                          check=False).stdout.decode().split("\n")
    for line in filter(None, lines):
        container, _, value = line.partition(" ")
        if value.startswith("scaling-") and not os.path.exists(f"/proc/{value.removeprefix('scaling-')}"):
            podman.podman("rm", "-f", "-t", "0", container, check=False)


class OwnDaemon(Daemon):
    def _run(self) -> podman.Container:
        return podman.run(podman.image(self.kind), self.name, env=self.env, volumes=self.volumes, tmpfs=[], args=self.args,
                          extra=OWN_LABEL)


class OwnDevStorage(podman.DevStorageContainer):
    def start(self) -> None:  # podman.DevStorageContainer.start, with our label
        if self.container is not None:
            self.container.remove()
        self.container = podman.run(podman.image("devstorage"), self.name, volumes={str(self.data): "/data"},
                                    env={"DEVSTORAGE_BLOB_PORT": str(self.blob_port), "DEVSTORAGE_QUEUE_PORT": str(self.queue_port),
                                         "DEVSTORAGE_LOG_LEVEL": "warning"}, extra=OWN_LABEL)
        podman.wait_for_port(self.blob_port, container=self.container)
        podman.wait_for_port(self.queue_port, container=self.container)


def log(message: str) -> None:
    print(f"[scaling {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- media --------------------------------------------------------------------------------------

def make_media(directory: Path) -> tuple[list[Path], list[Path]]:
    """Small photos from Debian's real photographs (three sizes each) and short H.264/AAC clips."""
    photos = []
    for source in sorted(PHOTOS.glob("*.jpg")):
        with Image.open(source) as image:
            image = image.convert("RGB")
            for edge in (800, 1000, 1200):
                copy = image.copy()
                copy.thumbnail((edge, edge))
                path = directory / f"{source.stem}-{edge}.jpg"
                copy.save(path, quality=88)
                photos.append(path)
    clips = [make_clip(directory / f"clip-{seconds}s-{size}.mp4", seconds=seconds, size=size)
             for seconds, size in ((1, "320x240"), (2, "320x240"), (2, "240x320"), (1, "256x144"))]
    return photos, clips


def kind_of(path: Path) -> str:
    return "clip" if path.suffix == ".mp4" else "photo"


# ---- the Deployment: replicas as containers -----------------------------------------------------

@dataclass
class Replica:
    index: int
    requested_at: float
    daemon: Daemon | None = None
    state: str = "starting"          # starting → running → terminating → exited
    ready_at: float | None = None
    sigterm_at: float | None = None
    exited_at: float | None = None
    exit_code: int | None = None
    in_flight_at_sigterm: int | None = None   # processor_jobs_in_flight just before SIGTERM
    running_at_sigterm: int | None = None     # the processor's own count when it stopped receiving
    logs: str = ""
    start_error: str | None = None
    started: cf.Future | None = None
    stopped: cf.Future | None = None

    @property
    def name(self) -> str:
        return self.daemon.name if self.daemon else f"replica-{self.index}"


class Deployment:
    """spec.replicas → processor containers. Scale-out starts containers concurrently; scale-in picks
    victims the way a ReplicaSet ranks pods (not ready first, then the most recently ready) and stops
    them with SIGTERM, giving them the grace period, as a kubelet does."""

    def __init__(self, storage: podman.DevStorageContainer, clock) -> None:
        self.storage = storage
        self.clock = clock
        self.replicas: list[Replica] = []
        self.lock = threading.Lock()
        self.pool = cf.ThreadPoolExecutor(max_workers=48, thread_name_prefix="replica")
        self.env = {"AZURE_STORAGE_CONNECTION_STRING": storage.connection_string(), "PROCESSOR_STORAGE_CREATE": "true",
                    "PROCESSOR_SHUTDOWN_GRACE_SECONDS": str(GRACE), "PROCESSOR_LOG_LEVEL": "info"}

    def live(self) -> list[Replica]:
        with self.lock:
            return [r for r in self.replicas if r.state in ("starting", "running")]

    def count(self, *states: str) -> int:
        with self.lock:
            return sum(r.state in states for r in self.replicas)

    def scale(self, desired: int) -> None:
        with self.lock:
            live = [r for r in self.replicas if r.state in ("starting", "running")]
            for _ in range(desired - len(live)):
                replica = Replica(len(self.replicas), self.clock())
                self.replicas.append(replica)
                replica.started = self.pool.submit(self._start, replica)
            victims = sorted(live, key=lambda r: (r.state == "running", -(r.ready_at or 0)))[:max(0, len(live) - desired)]
            for replica in victims:
                replica.state = "terminating"
                replica.stopped = self.pool.submit(self._stop, replica)

    def _start(self, replica: Replica) -> None:
        try:
            replica.daemon = OwnDaemon("processor", dict(self.env), files={"profile": {"profile.json": profile_json()}},
                                    name=unique(f"scaling-processor-{replica.index}"))
            replica.daemon.wait_healthy(timeout=180)
        except Exception as error:  # noqa: BLE001 — reported at the end
            replica.start_error = repr(error)
            raise
        with self.lock:
            replica.ready_at = self.clock()
            if replica.state == "starting":
                replica.state = "running"

    def _stop(self, replica: Replica) -> None:
        replica.started.result()
        replica.in_flight_at_sigterm = in_flight(replica.daemon)
        replica.sigterm_at = self.clock()
        replica.exit_code = replica.daemon.container.stop(timeout=STOP_TIMEOUT)
        replica.logs = replica.daemon.container.logs()
        replica.running_at_sigterm = drain_running(replica.logs)
        with self.lock:
            replica.exited_at = self.clock()
            replica.state = "exited"

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for replica in list(self.replicas):
            for future in (replica.started, replica.stopped):
                if future is not None:
                    future.result(timeout=max(1, deadline - time.monotonic()))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for replica in self.replicas:
            if replica.daemon is not None:
                replica.daemon.close()


def drain_running(logs: str) -> int | None:
    """The jobs a processor still ran when SIGTERM made it stop receiving (its own log line)."""
    for line in logs.splitlines():
        if "letting running jobs finish" in line:
            match = re.search(r"\brunning=(\d+)", line)
            return int(match.group(1)) if match else None
    return None


def queue_length(client, strategy: str) -> int:
    """What the azure-queue scaler reads: the approximate count (`all`), or a peek (`visibleonly`)."""
    from azure.core.exceptions import ResourceNotFoundError
    try:
        approximate = client.get_queue_properties().approximate_message_count
    except ResourceNotFoundError:
        return 0
    peeked = len(client.peek_messages(max_messages=32)) if strategy == "visibleonly" else None
    return keda.queue_metric(approximate, peeked, strategy)


def in_flight(daemon: Daemon) -> int | None:
    try:
        with urllib.request.urlopen(f"{daemon.url}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    match = re.search(r"^processor_jobs_in_flight(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    return int(float(match.group(1))) if match else None


# ---- KEDA's part ---------------------------------------------------------------------------------

@dataclass
class Row:
    at: float
    queue_length: int
    desired: int
    running: int
    terminating: int


class Scaler(threading.Thread):
    """Plays the KEDA operator and the HPA controller: reads the queue as the azure-queue scaler does,
    runs keda.Autoscaler's loops on their (compressed) periods and applies the replica count."""

    def __init__(self, spec: keda.Spec, deployment: Deployment, queue, clock) -> None:
        super().__init__(name="keda", daemon=True)
        self.spec = spec
        self.deployment = deployment
        self.queue = queue
        self.clock = clock
        self.auto = keda.Autoscaler(spec, clock=clock)
        self.samples: list[tuple[float, int, int]] = []
        self.rows: list[Row] = []
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                now = self.clock()
                status = len(self.deployment.live())

                def read(now=now, status=status) -> int:
                    length = queue_length(self.queue, self.spec.queue_length_strategy)
                    self.samples.append((now, length, status))
                    return length
                for decision in self.auto.tick(read, status, now=now):
                    if decision.changed:
                        log(f"t={decision.at:7.1f}s {decision.loop:4} queue {decision.queue_length:3}: "
                            f"{decision.before} → {decision.after} ({decision.reason})")
                        self.deployment.scale(decision.after)
                if self.samples and self.samples[-1][0] == now:
                    self.rows.append(Row(now, self.samples[-1][1], self.auto.replicas, self.deployment.count("running"),
                                         self.deployment.count("terminating")))
                self.halt.wait(0.05)
        except BaseException as error:  # noqa: BLE001 — re-raised by the test
            self.error = error
            log(f"scaler stopped: {error!r}")


# ---- helpers -------------------------------------------------------------------------------------

def iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    return f"median {statistics.median(values):.2f} s, p90 {percentile(values, 90):.2f} s (n={len(values)})"


@pytest.fixture()
def storage():
    remove_stale_containers()
    server = OwnDevStorage(unique("scaling-devstorage"))
    yield server
    server.close()


@pytest.fixture()
def stack(storage):
    """The uploader as conftest.uploader starts it (no rate limit: the burst comes from one key)."""
    front = OwnDaemon("uploader", {"AZURE_STORAGE_CONNECTION_STRING": storage.connection_string(), "UPLOADER_STORAGE_CREATE": "true",
                                   "UPLOADER_LOG_LEVEL": "info", "UPLOADER_RATE_PER_SECOND": "0"},
                      files={"api-keys": {"keys": API_KEY + "\n"}}, name=unique("scaling-uploader"))
    try:
        front.wait_healthy()
        yield front
    finally:
        front.close()


def test_scaling_follows_keda_formula(storage, stack, tmp_path: Path) -> None:
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy

    real = keda.load()
    spec = real.compressed(TIME_SCALE)
    log(f"k8s/keda.yaml: {real.describe()}")
    log(f"played as:     {spec.describe()}")
    photos, clips = make_media(tmp_path)
    pixels = {}
    for path in PHOTOS.glob("*.jpg"):
        with Image.open(path) as image:
            pixels[path] = image.size[0] * image.size[1]
    full_size = sorted(pixels, key=lambda p: (pixels[p], p.name))[-2:]

    connection = storage.connection_string()
    blobs = BlobServiceClient.from_connection_string(connection)
    queue = QueueClient.from_connection_string(connection, "jobqueue", message_decode_policy=TextBase64DecodePolicy())
    poison = QueueClient.from_connection_string(connection, "jobqueue-poison", message_decode_policy=TextBase64DecodePolicy())

    t0 = time.monotonic()
    t0_wall = time.time()
    clock = lambda: time.monotonic() - t0  # noqa: E731
    deployment = Deployment(storage, clock)
    scaler = Scaler(spec, deployment, QueueClient.from_connection_string(connection, "jobqueue"), clock)
    jobs: dict[str, dict] = {}
    lock = threading.Lock()
    depth = lambda: queue_length(queue, spec.queue_length_strategy)  # noqa: E731

    def submit(path: Path, phase: str) -> str:
        at = clock()
        status, body = curl_upload(stack, path)
        assert status == 202, f"{path.name}: {status} {body}"
        job_id = body["jobId"]
        with lock:
            jobs[job_id] = {"kind": kind_of(path), "file": path.name, "phase": phase, "submitted": at}
        return job_id

    def status_of(job_id: str) -> dict | None:
        try:
            return job_status(stack, job_id)
        except Exception:  # noqa: BLE001 — not there yet
            return None

    def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if scaler.error:
                raise scaler.error
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    scaler.start()
    try:
        # 1. Trickle: one job at a time; the first one wakes a replica from zero.
        # a 10-s 720p clip stands for real videos: its time per second of video scales to longer ones
        hd = make_clip(tmp_path / "clip-10s-1280x720.mp4", seconds=10, size="1280x720")
        trickle = [photos[0], clips[1], full_size[0], real_clip(), full_size[1], photos[-1], clips[0], hd]
        log(f"trickle: {len(trickle)} jobs one at a time")
        for path in trickle:
            job_id = submit(path, "trickle")
            done = wait_for(lambda: (s := status_of(job_id)) and s["status"] in ("succeeded", "failed") and s, 300,
                            f"trickle job {path.name}", interval=0.2)
            assert done["status"] == "succeeded", done
            assert scaler.auto.replicas == 1, "one message at a time never needs a second replica"
        trickle_end = clock()
        wait_for(lambda: scaler.auto.replicas == 0 and not deployment.live(), spec.cooldown_period + 120,
                 "KEDA to scale to zero after cooldownPeriod")
        deployment.wait_idle(STOP_TIMEOUT + 30)
        log(f"back to zero {clock() - trickle_end:.1f} s after the last trickle job (cooldownPeriod {spec.cooldown_period:g} s)")

        # 2. Burst.
        rng = random.Random(6)
        clip_count = round(BURST * CLIP_SHARE)
        burst = [rng.choice(clips) for _ in range(clip_count)] + [rng.choice(photos) for _ in range(BURST - clip_count)]
        rng.shuffle(burst)
        burst_start = clock()
        log(f"burst: {len(burst)} jobs ({clip_count} clips, {BURST - clip_count} photos), {UPLOAD_THREADS} uploads at a time")
        with cf.ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(lambda p: submit(p, "burst"), burst))
        burst_uploaded = clock()
        log(f"burst uploaded in {burst_uploaded - burst_start:.1f} s")

        # 3. Hold the queue at HOLD messages until enough replicas were SIGTERM'd while running jobs.
        wait_for(lambda: depth() <= HOLD, 900, f"the burst to drain to {HOLD} messages")
        hold_start = clock()
        log(f"hold: keeping {HOLD} messages queued (HPA proposal ceil({HOLD}/{spec.queue_length:g}) = "
            f"{math.ceil(HOLD / spec.queue_length)})")
        extra = iter(rng.choice(clips) if rng.random() < CLIP_SHARE else rng.choice(photos) for _ in range(100000))
        uploading = [0]

        def stream(path: Path) -> None:
            try:
                submit(path, "hold")
            finally:
                with lock:
                    uploading[0] -= 1

        def loaded_scale_ins() -> int:
            return sum(1 for r in list(deployment.replicas) if (r.running_at_sigterm or 0) > 0)

        streamed: list[cf.Future] = []
        with cf.ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            while loaded_scale_ins() < LOADED_SCALE_INS and clock() - hold_start < HOLD_MAX_SECONDS:
                if scaler.error:
                    raise scaler.error
                missing = HOLD - depth() - uploading[0]
                for _ in range(max(0, min(missing, UPLOAD_THREADS - uploading[0]))):
                    with lock:
                        uploading[0] += 1
                    streamed.append(pool.submit(stream, next(extra)))
                time.sleep(0.25)
        for future in streamed:
            future.result()
        hold_end = clock()
        log(f"hold ended after {hold_end - hold_start:.1f} s with {loaded_scale_ins()} scale-ins of busy replicas")

        # 4. Drain, then cooldown to zero.
        wait_for(lambda: depth() == 0, 900, "the queue to empty")
        drained = clock()
        wait_for(lambda: scaler.auto.replicas == 0 and not deployment.live(), spec.cooldown_period + 120,
                 "KEDA to scale to zero")
        deployment.wait_idle(STOP_TIMEOUT + 60)
        scaler.halt.set()
        scaler.join(10)
        if scaler.error:
            raise scaler.error
        finished = clock()
        log(f"queue empty at t={drained:.1f}s, zero replicas at t={finished:.1f}s")

        report = verify_and_report(spec, real, scaler, deployment, jobs, blobs, queue, poison, t0_wall,
                                   phases={"trickle end": trickle_end, "burst start": burst_start, "burst uploaded": burst_uploaded,
                                           "hold start": hold_start, "hold end": hold_end, "queue empty": drained,
                                           "zero replicas": finished})
        print(report, flush=True)
        if os.environ.get("SCALING_REPORT"):
            Path(os.environ["SCALING_REPORT"]).write_text(report)
    finally:
        scaler.halt.set()
        scaler.join(10)
        deployment.close()


def verify_and_report(spec, real, scaler, deployment, jobs, blobs, queue, poison, t0_wall, phases) -> str:
    # ---- every job succeeded exactly once ----
    statuses = {}
    for blob in blobs.get_container_client("jobstatus").list_blobs():
        statuses[blob.name.rsplit("/", 1)[-1].removesuffix(".json")] = json.loads(
            blobs.get_blob_client("jobstatus", blob.name).download_blob().readall())
    assert set(statuses) == set(jobs), "one status document per accepted job, and no other"
    not_done = {j: s["status"] for j, s in statuses.items() if s["status"] != "succeeded"}
    assert not not_done, f"jobs not succeeded: {not_done}"
    retried = {j: s["attempts"] for j, s in statuses.items() if s["attempts"] != 1}
    processed = defaultdict(dict)
    for blob in blobs.get_container_client("processed").list_blobs():
        job_id, _, name = blob.name.partition("/")
        processed[job_id][name] = blob.size
    assert set(processed) == set(jobs), f"outputs of unknown jobs: {set(processed) - set(jobs)}"
    for job_id, job in jobs.items():
        outputs = {o["name"]: o["bytes"] for o in statuses[job_id]["outputs"]}
        assert set(processed[job_id]) == EXPECTED_OUTPUTS[job["kind"]] == set(outputs), (job_id, processed[job_id], outputs)
        assert processed[job_id] == outputs, f"{job_id}: the blobs are not the outputs its status document names"

    succeeded_lines: Counter = Counter()
    trouble = []
    for replica in deployment.replicas:
        assert replica.start_error is None, f"{replica.name} did not start: {replica.start_error}"
        for line in replica.logs.splitlines():
            if "job succeeded" in line:
                succeeded_lines[re.search(r"\bjob\.id=(\S+)", line).group(1)] += 1
            elif re.search(r"lease lost|released for another worker|transient failure|job poisoned|already done|job failed", line):
                trouble.append(f"{replica.name}: {line}")
    twice = {j: n for j, n in succeeded_lines.items() if n != 1}
    assert not twice, f"jobs processed to success more than once: {twice}"
    assert set(succeeded_lines) == set(jobs), f"jobs without a 'job succeeded' line: {set(jobs) - set(succeeded_lines)}"
    assert not trouble, "\n".join(trouble[:20])
    assert not retried, f"jobs delivered more than once (a scale-in restarted them): {retried}"

    # ---- nothing left behind ----
    assert queue.get_queue_properties().approximate_message_count == 0 and not list(queue.peek_messages(max_messages=32))
    assert poison.get_queue_properties().approximate_message_count == 0 and not list(poison.peek_messages(max_messages=32))
    for replica in deployment.replicas:
        for mount, directory in replica.daemon.dirs.items():
            if mount.startswith("/etc/"):
                continue
            left = [str(p.relative_to(directory)) for p in directory.rglob("*")]
            assert not left, f"{replica.name}: files left in {mount}: {left[:10]}"
        assert replica.exit_code == 0, f"{replica.name} exited {replica.exit_code} after SIGTERM: {replica.logs[-2000:]}"

    # ---- the replica count followed the formula ----
    decisions = scaler.auto.decisions
    again = keda.replay(spec, scaler.samples)
    assert [(d.at, d.loop, d.before, d.after) for d in again] == [(d.at, d.loop, d.before, d.after) for d in decisions]
    ups = sum(d.after - d.before for d in decisions if d.after > d.before)
    downs = sum(d.before - d.after for d in decisions if d.after < d.before)
    assert len(deployment.replicas) == ups, "one container started per replica the formula added"
    assert sum(r.sigterm_at is not None for r in deployment.replicas) == downs, "one SIGTERM per replica the formula removed"
    peak_length = max(length for _, length, _ in scaler.samples)
    peak = max(d.after for d in decisions)
    assert peak == min(spec.max_replica_count, math.ceil(peak_length / spec.queue_length))
    assert all(d.after <= spec.max_replica_count for d in decisions)
    busy = [r for r in deployment.replicas if (r.running_at_sigterm or 0) > 0]
    assert len(busy) >= LOADED_SCALE_INS, "replicas stopped by SIGTERM while running jobs"

    return report(spec, real, scaler, deployment, jobs, statuses, t0_wall, phases, busy)


def report(spec, real, scaler, deployment, jobs, statuses, t0_wall, phases, busy) -> str:
    done_at = {j: iso(s["updatedAt"]) - t0_wall for j, s in statuses.items()}
    seconds = {j: sum(s["timings"].get(k, 0) for k in s["timings"] if k != "queueWait") for j, s in statuses.items()}
    latency = {j: iso(s["updatedAt"]) - iso(s["createdAt"]) for j, s in statuses.items()}
    rows = scaler.rows
    out = []
    w = out.append
    w(f"KEDA_TIME_SCALE={TIME_SCALE:g}: every interval of k8s/keda.yaml ÷{TIME_SCALE:g} — {spec.describe()}")
    counts = lambda key: ", ".join(f"{n} {k}" for k, n in Counter(j[key] for j in jobs.values()).items())  # noqa: E731
    w(f"jobs: {len(jobs)} ({counts('phase')}; {counts('kind')}); all succeeded exactly once")
    w("phases (test time): " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))
    w("")
    w("| t (s) | queue length | desired | running | stopping | jobs done | jobs/s |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    end = phases["zero replicas"]
    t = 0.0
    while t < end:
        inside = [r for r in rows if t <= r.at < t + TABLE_STEP]
        if inside:
            last = inside[-1]
            finished = sum(1 for j, at in done_at.items() if t <= at < t + TABLE_STEP)
            w(f"| {t:.0f} | {max(r.queue_length for r in inside)} | {last.desired} | {last.running} | {last.terminating} | "
              f"{finished} | {finished / TABLE_STEP:.1f} |")
        t += TABLE_STEP
    w("")
    w("(queue length: the highest approximate count in the interval, leased messages included; desired, running, "
      "stopping: at its end)")
    w("")
    # jobs/s per running replica count, over the time the queue had work
    time_at, done_in = defaultdict(float), defaultdict(int)
    ordered = sorted(done_at.values())
    for a, b in zip(rows, rows[1:]):
        if a.queue_length == 0 or a.at < phases["burst start"]:
            continue
        time_at[a.running] += b.at - a.at
        done_in[a.running] += sum(1 for x in ordered if a.at <= x < b.at)
    w(f"jobs/s per running replica count (intervals of at least 3 s with work queued; all replicas share this machine's "
      f"{os.cpu_count()} CPUs):")
    w("")
    w("| running replicas | seconds with work queued | jobs done | jobs/s | jobs/s per replica |")
    w("|---:|---:|---:|---:|---:|")
    for r in sorted(time_at):
        if r > 0 and time_at[r] >= 3:
            w(f"| {r} | {time_at[r]:.0f} | {done_in[r]} | {done_in[r] / time_at[r]:.2f} | "
              f"{done_in[r] / time_at[r] / max(r, 1):.2f} |")
    w("")
    by = lambda phase, kind: [seconds[j] for j, job in jobs.items() if job["phase"] == phase and job["kind"] == kind]  # noqa: E731
    w("processing time per job (status document timings: download … upload):")
    w(f"- alone on one replica (trickle): photos {spread(by('trickle', 'photo'))}; clips {spread(by('trickle', 'clip'))}")
    for j, job in jobs.items():
        if job["phase"] == "trickle":
            media = statuses[j].get("media") or {}
            per = (f", {seconds[j] / media['durationSeconds']:.2f} s per second of {media.get('width')}x{media.get('height')} video"
                   if media.get("durationSeconds") else "")
            w(f"  - {job['file']}: {seconds[j]:.2f} s processing{per}, {latency[j]:.2f} s upload→done")
    w(f"- burst and hold (up to {max(d.after for d in scaler.auto.decisions)} replicas × 2 jobs on this machine's "
      f"{os.cpu_count()} CPUs): photos {spread(by('burst', 'photo') + by('hold', 'photo'))}; "
      f"clips {spread(by('burst', 'clip') + by('hold', 'clip'))}")
    w(f"- upload→succeeded in the burst: {spread([latency[j] for j, job in jobs.items() if job['phase'] == 'burst'])}")
    starts = [r.ready_at - r.requested_at for r in deployment.replicas if r.ready_at]
    w(f"- replica start (podman run → listening): {spread(starts)}")
    drains = [r.exited_at - r.sigterm_at for r in deployment.replicas if r.exited_at and r.sigterm_at]
    w(f"- SIGTERM → exit: {spread(drains)}; SIGTERM'd with jobs running: {len(busy)} "
      f"(running {[r.running_at_sigterm for r in busy]}), every job finished, all exited 0")
    warnings = Counter(f"{m.group(1)}: {m.group(2)}" for r in deployment.replicas for line in r.logs.splitlines()
                       if (m := re.match(r"^\S+ (warning|error|critical) .*? \[[A-Za-z]+\] (.*)$", line)))
    w(f"- processor warnings/errors: {dict(warnings) or 'none'}")
    ups = sum(d.after - d.before for d in scaler.auto.decisions if d.after > d.before)
    downs = sum(d.before - d.after for d in scaler.auto.decisions if d.after < d.before)
    w(f"- decisions: {sum(d.changed for d in scaler.auto.decisions)} changes of {len(scaler.auto.decisions)} loop runs; "
      f"{ups} replicas started, {downs} stopped; replay of {len(scaler.samples)} queue samples: identical")
    return "\n".join(out)
