"""tus 1.0 at /files/ with tuspy, a client we did not write: a real clip in 5 MiB chunks survives a
SIGKILLed uploader by resuming through a second uploader on another port (same storage); the blob is
byte-identical and exactly one job exists and succeeds. Also: keys and tenants (401, 404), the size
limit (413), concurrent appends (409), checksums (460), termination, expiry (410), non-media (415)."""
import base64
import hashlib
import http.client
import json
import os
import re
import socket
import time
import urllib.request

import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from conftest import API_KEY, Uploader, tenant_of, wait_until
from test_video import ffmpeg

CHUNK = 5 << 20
TUS = {"Tus-Resumable": "1.0.0"}


def noisy_clip(path, seconds=4):
    """A lossless H.264 clip of test pattern and noise: ~8 MB a second, made at test time."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}", "-f", "lavfi",
           "-i", f"nullsrc=s=640x360:r=25:d={seconds},geq=random(1)*255:128:128",
           "-filter_complex", "[0][1]blend=all_mode=average", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
           "-pix_fmt", "yuv420p", path)
    return path


def md5_of(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def request(uploader, method, path, body=None, headers=None, key=API_KEY):
    connection = http.client.HTTPConnection("127.0.0.1", uploader.port, timeout=120)
    all_headers = dict(TUS)
    if key:
        all_headers["X-API-Key"] = key
    all_headers.update(headers or {})
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def create(uploader, length, key=API_KEY, **headers):
    status, headers, body = request(uploader, "POST", "/files/", headers={"Upload-Length": str(length), **headers}, key=key)
    assert status == 201, (status, body)
    return headers["location"]


def patch(uploader, location, offset, data, key=API_KEY, **headers):
    return request(uploader, "PATCH", location, body=data, key=key,
                   headers={"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream", **headers})


def by_outcome(uploader, metric):
    """A counter of the uploader's /metrics summed by its `outcome` label."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{uploader.port}/metrics", timeout=10).read().decode()
    totals = {}
    for m in re.finditer(r'^' + metric + r'\{([^}]*)\} ([0-9.e+]+)$', text, re.M):
        outcome = re.search(r'outcome="([^"]*)"', m.group(1)).group(1)
        totals[outcome] = totals.get(outcome, 0) + float(m.group(2))
    return totals


def status_documents(stack, key=API_KEY):
    container = stack.blobs.get_container_client("jobstatus")
    return [json.loads(container.download_blob(b.name).readall())
            for b in container.list_blobs(name_starts_with=f"{tenant_of(key)}/")]


def test_tuspy_resumes_through_a_second_uploader_after_sigkill(make_stack, tmp_path):
    stack = make_stack(processor={})
    clip = noisy_clip(str(tmp_path / "clip.mp4"))
    size = os.path.getsize(clip)
    assert size > 20 << 20
    second = Uploader(stack.storage)
    try:
        first = tus_client.TusClient(f"{stack.uploader.url}/files/", headers={"X-API-Key": API_KEY})
        upload = first.uploader(clip, chunk_size=CHUNK, metadata={"filename": "clip.mp4"})
        while upload.offset < 0.4 * size:
            upload.upload_chunk()
        location = upload.url.replace(stack.uploader.url, "")
        acknowledged = upload.offset
        # The next chunk is cut off mid-body: the uploader dies with 2 MiB of it received.
        connection = socket.create_connection(("127.0.0.1", stack.uploader.port))
        connection.sendall((f"PATCH {location} HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\nTus-Resumable: 1.0.0\r\n"
                            f"Upload-Offset: {acknowledged}\r\nContent-Type: application/offset+octet-stream\r\n"
                            f"Content-Length: {CHUNK}\r\n\r\n").encode())
        with open(clip, "rb") as f:
            f.seek(acknowledged)
            connection.sendall(f.read(2 << 20))
        time.sleep(0.5)
        stack.uploader.stop(kill=True)
        assert stack.uploader.process.returncode == -9
        connection.close()
        with pytest.raises((TusCommunicationError, OSError)):
            upload.upload_chunk()

        # Resumed through the other replica: tuspy asks it for the offset (HEAD) and continues.
        other = tus_client.TusClient(f"{second.url}/files/", headers={"X-API-Key": API_KEY})
        resumed = other.uploader(clip, chunk_size=CHUNK, url=f"{second.url}{location}")
        assert acknowledged <= resumed.offset < size
        resumed.upload()
        assert resumed.offset == size

        status, headers, _ = request(second, "HEAD", location)
        assert status == 200 and headers["upload-offset"] == str(size) and headers["upload-length"] == str(size)
        job_id = headers["x-job-id"]
        documents = status_documents(stack)
        assert [d["jobId"] for d in documents] == [job_id]
        final = wait_until(lambda: (s := stack.status(job_id)) and s["status"] in ("succeeded", "failed") and s, timeout=240,
                           message="the job to finish")
        assert final["status"] == "succeeded", final
        assert final["originalName"] == "clip.mp4"
        blob = stack.blobs.get_blob_client("rawfiles", final["input"]["blob"])
        data = blob.download_blob().readall()
        assert hashlib.md5(data).hexdigest() == md5_of(clip)
        assert base64.b64decode(final["input"]["md5"]).hex() == md5_of(clip)
        assert blob.get_blob_properties().content_settings.content_type == "video/mp4"
        assert any(name.endswith(".mp4") for name in stack.processed(job_id))
        assert len(status_documents(stack)) == 1
    finally:
        second.stop()


def test_keys_tenants_and_the_size_limit(make_stack):
    other_key = "tus-other-tenant-key-0123456789"
    stack = make_stack(UPLOADER_API_KEYS=f"{API_KEY},{other_key}", UPLOADER_MAX_UPLOAD_BYTES=1 << 20)
    status, headers, _ = request(stack.uploader, "POST", "/files/", headers={"Upload-Length": "100"}, key=None)
    assert status == 401
    status, headers, body = request(stack.uploader, "POST", "/files/", headers={"Upload-Length": str((1 << 20) + 1)})
    assert status == 413 and headers["tus-resumable"] == "1.0.0", body
    status, headers, _ = request(stack.uploader, "OPTIONS", "/files/", key=None)
    assert status == 204 and headers["tus-max-size"] == str(1 << 20)
    assert "creation-defer-length" in headers["tus-extension"] and headers["tus-checksum-algorithm"] == "sha1,md5"
    location = create(stack.uploader, 1000)
    for method in ("HEAD", "PATCH", "DELETE"):
        status, _, _ = request(stack.uploader, method, location, key=other_key,
                               headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert status == 404, method
    status, headers, _ = request(stack.uploader, "HEAD", location)
    assert status == 200 and headers["upload-offset"] == "0"
    # A deferred length over the limit is refused when it is declared; so are bytes past the limit.
    status, headers, _ = request(stack.uploader, "POST", "/files/", headers={"Upload-Defer-Length": "1"})
    assert status == 201
    status, _, _ = patch(stack.uploader, headers["location"], 0, b"\xff\xd8\xff" + b"\0" * 100, **{"Upload-Length": str(2 << 20)})
    assert status == 413
    status, _, _ = request(stack.uploader, "POST", "/files/", headers={"Upload-Length": "10", "Tus-Resumable": "0.2.2"})
    assert status == 412


def test_concurrent_appends_do_not_corrupt_and_the_loser_gets_409(stack, tmp_path):
    data = open(noisy_clip(str(tmp_path / "c.mp4"), seconds=1), "rb").read()[: 3 << 20]
    uploads_before = by_outcome(stack.uploader, "uploader_uploads_total")
    appends_before = by_outcome(stack.uploader, "uploader_resumable_appends_total")
    location = create(stack.uploader, len(data))
    half = len(data) // 2

    def start(chunk):
        s = socket.create_connection(("127.0.0.1", stack.uploader.port))
        s.sendall((f"PATCH {location} HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                   f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(chunk)}\r\n\r\n").encode())
        s.sendall(chunk[:1000])
        return s

    def finish(s, chunk):
        s.sendall(chunk[1000:])
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += s.recv(65536)
        s.close()
        return int(answer.split()[1])

    garbage = b"\xff\xd8\xff" + os.urandom(half - 3)
    a, b = start(data[:half]), start(garbage)  # both read the upload at offset 0
    time.sleep(0.5)
    assert finish(a, data[:half]) == 204
    assert finish(b, garbage) == 409
    status, headers, _ = request(stack.uploader, "HEAD", location)
    assert headers["upload-offset"] == str(half)
    status, headers, _ = patch(stack.uploader, location, 0, data[:10])
    assert status == 409 and headers["upload-offset"] == str(half)
    status, headers, _ = patch(stack.uploader, location, half, data[half:])
    assert status == 204 and headers["upload-offset"] == str(len(data))
    blob = stack.blobs.get_blob_client("rawfiles", stack.status(headers["x-job-id"])["input"]["blob"])
    assert blob.download_blob().readall() == data
    # The upload came in two pieces but counts as one accepted upload; every piece that sent bytes
    # or was refused counts as an append, and a refused one also as a refused upload request.
    uploads = {k: v - uploads_before.get(k, 0) for k, v in by_outcome(stack.uploader, "uploader_uploads_total").items()}
    appends = {k: v - appends_before.get(k, 0) for k, v in by_outcome(stack.uploader, "uploader_resumable_appends_total").items()}
    assert uploads.get("accepted") == 1 and appends.get("accepted") == 1 and appends.get("appended") == 1, (uploads, appends)
    refused = {k: v for k, v in appends.items() if k not in ("accepted", "appended") and v}
    assert refused and all(uploads.get(k) == v for k, v in refused.items()), (uploads, appends)


def test_checksums_creation_with_upload_termination_and_refusals(make_stack, tmp_path):
    stack = make_stack(UPLOADER_RESUMABLE_EXPIRY_SECONDS=2)
    data = open(noisy_clip(str(tmp_path / "c.mp4"), seconds=1), "rb").read()[: 1 << 20]
    # creation-with-upload, with a checksum
    first = data[:4096]
    status, headers, body = request(stack.uploader, "POST", "/files/", body=first, headers={
        "Upload-Length": str(len(data)), "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(first).digest()).decode()})
    assert status == 201 and headers["upload-offset"] == "4096", body
    location = headers["location"]
    status, headers, body = patch(stack.uploader, location, 4096, data[4096:8192],
                                  **{"Upload-Checksum": "md5 " + base64.b64encode(hashlib.md5(b"other").digest()).decode()})
    assert status == 460, body
    status, headers, _ = request(stack.uploader, "HEAD", location)
    assert headers["upload-offset"] == "4096"
    status, _, _ = patch(stack.uploader, location, 4096, data[4096:8192], **{"Content-Type": "application/octet-stream"})
    assert status == 415
    # termination
    status, _, _ = request(stack.uploader, "DELETE", location)
    assert status == 204
    status, _, _ = request(stack.uploader, "HEAD", location)
    assert status == 404
    # not media: refused at the first 64 bytes, the upload ended
    location = create(stack.uploader, 10000)
    status, _, body = patch(stack.uploader, location, 0, b"hello, this is text and not a photo or a video at all" * 3)
    assert status == 415, body
    assert request(stack.uploader, "HEAD", location)[0] == 404
    # expiration
    location = create(stack.uploader, 10000)
    status, headers, _ = request(stack.uploader, "HEAD", location)
    assert "upload-expires" in headers
    time.sleep(2.5)
    status, _, _ = patch(stack.uploader, location, 0, data[:100])
    assert status == 410
    assert stack.message_count() == 0
