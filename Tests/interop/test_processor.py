"""The processor daemon with the uploader and devstorage, as deployed: end to end, duplicate
delivery (Q4), poison after the maximum attempts (Q5), quarantine without decoding (Q6), kill -9
mid-job (Q1), SIGTERM drain (Q8), hostile files through the service (D1/D2), Event Grid events,
the completion webhook. reliability.md's invariant is checked at the end of each."""
import base64
import hashlib
import hmac
import http.server
import io
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request

import pytest
from PIL import Image

from conftest import API_KEY, photos, wait_until


def upload(stack, path):
    status, body = stack.uploader.curl("-F", f"file=@{path}", f"{stack.uploader.url}/upload")
    assert status == 202, body
    return body["jobId"]


def job_status(stack, job_id):
    request = urllib.request.Request(f"{stack.uploader.url}/jobs/{job_id}", headers={"X-API-Key": API_KEY})
    return json.loads(urllib.request.urlopen(request).read())


def finished(stack, job_id):
    status = stack.status(job_id)
    return status if status and status["status"] in ("succeeded", "failed") else None


def check_invariant(stack, accepted):
    """Every accepted upload: one input blob and one output set or one poison entry; the queue drained."""
    blobs = {b.name for b in stack.raw_blobs()}
    poison = stack.poison()
    for job_id in accepted:
        status = stack.status(job_id)
        assert status["input"]["blob"] in blobs
        if status["status"] == "succeeded":
            assert stack.processed(job_id) == sorted(f"{job_id}/{o['name']}" for o in status["outputs"])
            assert not [p for p in poison if p["jobId"] == job_id]
        else:
            assert status["status"] == "failed" and status["error"]["reason"]
            assert len([p for p in poison if p["jobId"] == job_id]) == 1
    wait_until(lambda: stack.message_count() == 0, timeout=30, message="the job queue to drain")
    assert stack.processor.process.poll() is None, "the processor is still running"


def test_end_to_end_photo_becomes_webp_and_thumbnail(make_stack):
    stack = make_stack(processor={})
    started = time.time()
    job_id = upload(stack, photos(1)[0])
    wait_until(lambda: finished(stack, job_id), timeout=60, message="the job to finish")
    status = job_status(stack, job_id)
    assert status["status"] == "succeeded", status
    assert time.time() - started < 30
    names = {o["name"]: o for o in status["outputs"]}
    assert set(names) == {"image.webp", "thumb.webp"}
    for output in status["outputs"]:
        data = urllib.request.urlopen(output["url"]).read()  # the SAS link works as it is
        image = Image.open(io.BytesIO(data))
        assert image.format == "WEBP" and (image.width, image.height) == (output["width"], output["height"])
        assert len(data) == output["bytes"]
    assert max(names["thumb.webp"]["width"], names["thumb.webp"]["height"]) == 320
    assert status["attempts"] == 1 and status["error"] is None
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.processor.port}/metrics").read().decode()
    assert 'processor_jobs_total{media="image",outcome="succeeded"} 1' in metrics or \
        'processor_jobs_total{outcome="succeeded",media="image"} 1' in metrics, metrics[:3000]
    assert json.loads(urllib.request.urlopen(f"http://127.0.0.1:{stack.processor.port}/readyz").read())["status"] == "ready"
    check_invariant(stack, [job_id])


def test_q4_duplicate_delivery_gives_one_output_set(make_stack):
    stack = make_stack(processor={"PROCESSOR_CONCURRENCY": "2"})
    stack.processor.stop()  # queue the duplicates first, then let two workers race on them
    job_id = upload(stack, photos(1)[0])
    text = stack.queue.peek_messages()[0].content
    from azure.storage.queue import QueueClient, TextBase64EncodePolicy
    QueueClient.from_connection_string(stack.storage.connection_string(), "jobqueue",
                                       message_encode_policy=TextBase64EncodePolicy()).send_message(text)
    assert stack.message_count() == 2
    stack.processor.start()
    wait_until(lambda: finished(stack, job_id) and stack.message_count() == 0, timeout=60, message="both deliveries handled")
    assert stack.status(job_id)["status"] == "succeeded"
    assert stack.processed(job_id) == [f"{job_id}/image.webp", f"{job_id}/thumb.webp"]
    assert stack.poison() == []
    check_invariant(stack, [job_id])


def test_q5_transient_failures_poison_after_the_maximum_attempts(make_stack):
    # Reads of the uploaded file fail (the status document stays readable, so the first attempt's
    # time is known); a policy of 3 deliveries and no minimum age gives up at the 3rd.
    stack = make_stack(processor={"PROCESSOR_STORAGE_RETRIES": "1", "PROCESSOR_STORAGE_RETRY_BASE_MS": "20",
                                  "PROCESSOR_RETRY_DELAY_SECONDS": "1", "PROCESSOR_MAX_DEQUEUE_COUNT": "3",
                                  "PROCESSOR_POISON_MIN_AGE_SECONDS": "0"})
    stack.processor.stop()
    stack.storage.restart(DEVSTORAGE_FAULTS_RATE=1, DEVSTORAGE_FAULTS_STATUS=500, DEVSTORAGE_FAULTS_OPERATIONS="GetBlob",
                          DEVSTORAGE_FAULTS_RESOURCES="rawfiles")
    job_id = upload(stack, photos(1)[0])
    stack.processor.start()
    entry = wait_until(lambda: stack.poison(), timeout=90, message="the poison entry")[0]
    assert entry["jobId"] == job_id and entry["code"] == "transient"
    assert "gave up after 3 attempts" in entry["reason"] and entry["dequeueCount"] == 3
    assert entry["input"]["blob"] and entry["originalMessageId"]
    wait_until(lambda: stack.message_count() == 0, timeout=30, message="the job queue to drain")
    # Poison messages never expire.
    from azure.storage.queue import QueueClient
    poison_queue = QueueClient.from_connection_string(stack.storage.connection_string(), "jobqueue-poison")
    message = next(iter(poison_queue.peek_messages()))
    assert message.expires_on is None or message.expires_on.year >= 9999
    assert stack.processor.process.poll() is None


def test_q6_a_message_delivered_too_often_is_quarantined_without_decoding(make_stack):
    stack = make_stack(processor={"PROCESSOR_MAX_DEQUEUE_COUNT": "5", "PROCESSOR_POISON_MIN_AGE_SECONDS": "0"})
    stack.processor.stop()
    job_id = upload(stack, photos(1)[0])
    # Five deliveries that "crashed the worker": received and never completed.
    for _ in range(5):
        messages = list(stack.queue.receive_messages(visibility_timeout=1, max_messages=1))
        assert len(messages) == 1
        time.sleep(1.2)
    stack.processor.start()
    entry = wait_until(lambda: stack.poison(), timeout=30, message="the poison entry")[0]
    assert entry["code"] == "max_deliveries" and entry["dequeueCount"] == 6
    assert "max deliveries exceeded" in entry["reason"]
    status = stack.status(job_id)
    assert status["status"] == "failed" and status["error"]["code"] == "max_deliveries"
    assert status["attempts"] == 0  # never marked processing: it was not decoded
    assert stack.processed(job_id) == []
    check_invariant(stack, [job_id])


def slow_png(tmp_path):
    """A 40 MP PNG: several seconds of decoding and scaling in a debug build."""
    path = tmp_path / "slow.png"
    gradient = Image.linear_gradient("L").resize((8000, 5000))
    Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient)).save(path, compress_level=1)
    return path


def test_q1_kill_9_mid_job_gives_exactly_one_output_set(make_stack, tmp_path):
    stack = make_stack(processor={"PROCESSOR_VISIBILITY_TIMEOUT_SECONDS": "4"})
    job_id = upload(stack, slow_png(tmp_path))
    wait_until(lambda: (stack.status(job_id) or {}).get("status") == "processing", timeout=30, interval=0.02,
               message="the job to start")
    stack.processor.process.send_signal(signal.SIGKILL)
    stack.processor.process.wait()
    stack.processor.log.close()
    stack.processor.start()
    status = wait_until(lambda: finished(stack, job_id), timeout=120, message="the job to finish after the crash")
    assert status["status"] == "succeeded"
    assert status["attempts"] == 2  # redelivered once, after the visibility timeout
    assert stack.processed(job_id) == [f"{job_id}/image.webp", f"{job_id}/thumb.webp"]
    check_invariant(stack, [job_id])


def test_q8_sigterm_lets_the_running_job_finish(make_stack, tmp_path):
    stack = make_stack(processor={"PROCESSOR_SHUTDOWN_GRACE_SECONDS": "120"})
    job_id = upload(stack, slow_png(tmp_path))
    wait_until(lambda: (stack.status(job_id) or {}).get("status") == "processing", timeout=30, interval=0.02,
               message="the job to start")
    stack.processor.process.send_signal(signal.SIGTERM)
    assert stack.processor.process.wait(timeout=120) == 0
    status = stack.status(job_id)
    assert status["status"] == "succeeded"
    assert stack.message_count() == 0
    assert "processor stopped receiving" in stack.processor.logs()


def test_hostile_files_fail_with_a_reason_and_the_worker_keeps_going(make_stack, tmp_path):
    stack = make_stack(processor={})
    from test_images import png_claiming
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(20000, 20000))
    truncated = tmp_path / "cut.jpg"
    data = open(photos(1)[0], "rb").read()
    truncated.write_bytes(data[:data.index(b"\xff\xda")])  # cut before the first scan: no picture at all
    bad = [upload(stack, bomb), upload(stack, truncated)]
    good = upload(stack, photos(2)[1])
    for job_id in bad + [good]:
        wait_until(lambda: finished(stack, job_id), timeout=60, message=f"job {job_id}")
    assert stack.status(bad[0])["error"]["code"] == "limit" and "pixel limit" in stack.status(bad[0])["error"]["reason"]
    assert stack.status(bad[1])["error"]["code"] == "corrupt"
    assert stack.status(good)["status"] == "succeeded"
    assert sorted(p["code"] for p in stack.poison()) == ["corrupt", "limit"]
    check_invariant(stack, bad + [good])


def test_event_grid_blob_created_events_are_processed(make_stack):
    stack = make_stack(processor={})
    data = open(photos(1)[0], "rb").read()
    stack.blobs.get_blob_client("rawfiles", "dropped/by-tool.jpg").upload_blob(data)
    url = f"{stack.storage.blob_url}/rawfiles/dropped/by-tool.jpg"
    event = {"id": "e1", "eventType": "Microsoft.Storage.BlobCreated", "subject": "/blobServices/default/containers/rawfiles/blobs/dropped/by-tool.jpg",
             "eventTime": "2026-11-23T10:00:00Z", "data": {"url": url, "contentType": "image/jpeg", "contentLength": len(data), "eTag": "0x1"},
             "dataVersion": "", "metadataVersion": "1"}
    from azure.storage.queue import QueueClient, TextBase64EncodePolicy
    QueueClient.from_connection_string(stack.storage.connection_string(), "jobqueue",
                                       message_encode_policy=TextBase64EncodePolicy()).send_message(json.dumps(event))
    wait_until(lambda: stack.message_count() == 0 and list(stack.blobs.get_container_client("processed").list_blobs()),
               timeout=60, message="the event's job")
    names = [b.name for b in stack.blobs.get_container_client("processed").list_blobs()]
    assert len(names) == 2 and all(n.endswith((".webp")) for n in names)
    job_id = names[0].split("/")[0]
    assert stack.status(job_id)["status"] == "succeeded"


def test_completion_webhook_is_signed_and_retried(make_stack):
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        calls = 0

        def do_POST(self):
            Hook.calls += 1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if Hook.calls == 1:
                self.send_response(503)  # the first delivery fails: it must be retried
                self.end_headers()
                return
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stack = make_stack(processor={"PROCESSOR_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/done",
                                      "PROCESSOR_WEBHOOK_SECRET": "shh"})
        job_id = upload(stack, photos(1)[0])
        wait_until(lambda: received, timeout=60, message="the webhook")
        headers, body = received[0]
        assert json.loads(body)["jobId"] == job_id and json.loads(body)["status"] == "succeeded"
        expected = "sha256=" + hmac.new(b"shh", body, hashlib.sha256).hexdigest()
        assert headers["X-MediaPipeline-Signature"] == expected
        assert Hook.calls == 2
    finally:
        server.shutdown()


def test_q2_a_long_job_keeps_its_lease(make_stack, tmp_path):
    # An animation long enough to take several visibility timeouts (2 s, renewed every second).
    frames = [Image.effect_noise((1000, 700), 60 + i).convert("RGB") for i in range(12)]
    path = tmp_path / "long.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"image": {"maxWidth": 1200, "maxHeight": 1200, "webp": {"quality": 85, "method": 6}},
                                   "limits": {"maxPixels": 100000000}}))
    stack = make_stack(processor={"PROCESSOR_VISIBILITY_TIMEOUT_SECONDS": "2", "PROCESSOR_PROFILE": str(profile),
                                  "PROCESSOR_CONCURRENCY": "2"})
    started = time.time()
    job_id = upload(stack, path)
    status = wait_until(lambda: finished(stack, job_id), timeout=240, message="the long job")
    took = time.time() - started
    assert status["status"] == "succeeded" and status["attempts"] == 1, status
    assert took > 4, f"the job took {took:.1f} s, not long enough to need renewals"
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.processor.port}/metrics").read().decode()
    renewals = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("queue_lease_renewals_total"))
    assert renewals >= 3, metrics
    assert "queue_lease_losses_total" not in metrics or all(
        line.split()[-1] in ("0", "0.0") for line in metrics.splitlines() if line.startswith("queue_lease_losses_total"))
    assert stack.processed(job_id) == [f"{job_id}/image.webp", f"{job_id}/thumb.webp"]
    check_invariant(stack, [job_id])


def test_d3_library_versions_are_logged_and_libwebp_has_the_cve_2023_4863_fix(make_stack):
    stack = make_stack(processor={})
    logs = wait_until(lambda: "codec libraries" in stack.processor.logs() and stack.processor.logs(), timeout=10, message="the log line")
    line = next(l for l in logs.splitlines() if "codec libraries" in l)
    for library in ("libjpeg-turbo", "libpng", "libwebp", "libavformat", "libavcodec", "libavutil", "libswscale", "giflib", "libheif"):
        assert f"{library}=" in line, (library, line)
    # Debian fixed CVE-2023-4863 (the WebP heap overflow) in 1.2.4-0.2+deb12u1; upstream in 1.3.2.
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libwebp7"], capture_output=True, text=True).stdout
    assert subprocess.run(["dpkg", "--compare-versions", version, "ge", "1.2.4-0.2+deb12u1"]).returncode == 0, version
