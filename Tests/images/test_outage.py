"""Health under a dead dependency: the devstorage container stopped for 60 s under a running uploader
and processor (containers, started as the manifests start them). The uploader stays alive for its
liveness probe, refuses uploads with 503 + Retry-After and is not ready; both daemons recover by
themselves when storage returns; jobs caught by the outage finish and nothing reaches the poison
queue."""
from __future__ import annotations

import subprocess
import threading
import time

from azure.storage.queue import QueueClient

import podman
from conftest import configmap_env, curl_upload, deployment, job_status, photos, processor, uploader, wait_until

OUTAGE_SECONDS = 60


class Prober(threading.Thread):
    """Calls a path the way the kubelet's probe does (period, timeout from the manifest) and keeps the
    longest run of consecutive failures."""

    def __init__(self, daemon, probe: dict) -> None:
        super().__init__(daemon=True)
        self.target, self.probe = daemon, probe
        self.results: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                status = self.target.get(self.probe["httpGet"]["path"], timeout=self.probe.get("timeoutSeconds", 1))[0]
            except OSError:
                status = 0
            self.results.append(status)
            self.stopped.wait(self.probe.get("periodSeconds", 10))

    def longest_failure_run(self) -> int:
        longest = current = 0
        for status in self.results:
            current = current + 1 if not 200 <= status < 400 else 0
            longest = max(longest, current)
        return longest


def test_storage_outage(storage) -> None:
    front = uploader(storage)
    # a shorter lease than the manifests' 300 s, so a job caught mid-flight comes back within the test
    worker = processor(storage, PROCESSOR_VISIBILITY_TIMEOUT_SECONDS="20")
    try:
        pictures = photos(4)
        status, body = curl_upload(front, pictures[0])
        assert status == 202, body
        wait_until(lambda: (job_status(front, body["jobId"]) or {}).get("status") == "succeeded", timeout=120, message="baseline job")

        # jobs accepted just before the outage: some are leased when storage goes away
        before = []
        for picture in pictures[1:]:
            status, body = curl_upload(front, picture)
            assert status == 202, body
            before.append(body["jobId"])

        probes = {}
        for kind, daemon in (("uploader", front), ("processor", worker)):
            spec = deployment(kind)["spec"]["template"]["spec"]["containers"][0]
            probes[kind] = Prober(daemon, spec["livenessProbe"])
            probes[kind].start()

        storage.stop()
        outage_start = time.time()
        try:
            # the manifests' readiness window: a blip keeps the pod in (200 "degraded"), a longer outage not
            window = int(configmap_env("uploader-env")["UPLOADER_READY_FAILURE_WINDOW_SECONDS"])
            assert window + 20 < OUTAGE_SECONDS
            wait_until(lambda: (r := front.get("/readyz"))[0] == 200 and b"degraded" in r[1], timeout=window / 2,
                       message="the uploader to report degraded and stay in the load balancer")
            wait_until(lambda: front.get("/readyz")[0] == 503, timeout=window + 20, message="the uploader to turn unready")
            assert time.time() - outage_start >= window - 1
            status, body, headers = front.get("/readyz")
            assert status == 503
            refused = []
            while time.time() - outage_start < OUTAGE_SECONDS:
                status, body = curl_upload(front, pictures[0])
                refused.append(status)
                time.sleep(5)
            assert refused and all(code == 503 for code in refused), refused
            # Retry-After on the refusal
            out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-D", "-", "-H", "X-API-Key: images-test-key-0123456789",
                                  "-F", f"file=@{pictures[0]}", f"{front.url}/upload"], capture_output=True, text=True, timeout=60)
            head = out.stdout.lower()
            assert head.startswith("http/1.1 503"), head
            assert "retry-after:" in head, head
            assert worker.get("/readyz")[0] == 503
        finally:
            podman.podman("start", storage.container.name)
        podman.wait_for_port(storage.blob_port, container=storage.container)
        podman.wait_for_port(storage.queue_port, container=storage.container)

        # recovered by themselves: no restart, ready again, uploads accepted, the earlier jobs done
        wait_until(lambda: front.get("/readyz")[0] == 200, timeout=60, message="the uploader to be ready again")
        wait_until(lambda: worker.get("/readyz")[0] == 200, timeout=60, message="the processor to be ready again")
        status, body = curl_upload(front, pictures[0])
        assert status == 202, body
        after = [body["jobId"]]
        for job_id in before + after:
            done = wait_until(lambda j=job_id: (s := job_status(front, j)) and s["status"] in ("succeeded", "failed") and s,
                              timeout=180, message=f"job {job_id}")
            assert done["status"] == "succeeded", done
        for prober in probes.values():
            prober.stopped.set()
        for kind, prober in probes.items():
            threshold = deployment(kind)["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["failureThreshold"]
            assert prober.longest_failure_run() < threshold, f"{kind} liveness would have failed: {prober.results}"
            assert len(prober.results) >= 3
        for daemon in (front, worker):
            assert daemon.container.running(), daemon.container.logs()[-3000:]
            assert daemon.container.inspect()["RestartCount"] == 0
        poison = QueueClient.from_connection_string(storage.connection_string(), "jobqueue-poison")
        assert poison.get_queue_properties().approximate_message_count == 0
        jobs = QueueClient.from_connection_string(storage.connection_string(), "jobqueue")
        wait_until(lambda: jobs.get_queue_properties().approximate_message_count == 0, timeout=60, message="an empty queue")
    finally:
        front.close()
        worker.close()
