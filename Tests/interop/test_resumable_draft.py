"""The IETF "Resumable Uploads for HTTP" draft at /resumable/ (interop versions 3 to 6, as Apple's
URLSession and swift-nio-extras' NIOResumableUpload speak it), with raw HTTP: a creation request
cut off at ~50% is resumed with HEAD for the offset and PATCH from it; the blob is byte-identical and
the job succeeds. Also the 104 informational response, keys, tenants and the size limit."""
import hashlib
import json
import os
import socket
import time

from conftest import API_KEY, wait_until
from test_tus import noisy_clip, request as tus_request
import re
import urllib.request


def bytes_received(uploader):
    """`uploader_upload_bytes_total`, all tenants."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{uploader.port}/metrics", timeout=10).read().decode()
    return sum(float(v) for v in re.findall(r'^uploader_upload_bytes_total(?:\{[^}]*\})? ([0-9.e+]+)$', text, re.M))


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, rest


def request(uploader, method, path, body=b"", headers=None, key=API_KEY, version="6"):
    headers = dict(headers or {})
    if version:
        headers["Upload-Draft-Interop-Version"] = version
    if key:
        headers["X-API-Key"] = key
    status, response_headers, data = tus_request(uploader, method, path, body=body, headers=headers, key=None)
    return status, response_headers, data


def start_creation(uploader, length, version="6", complete="?1", extra=None):
    """Sends a creation request's head; returns the socket, the 104's headers and anything read after it."""
    s = socket.create_connection(("127.0.0.1", uploader.port), timeout=60)
    field = f"Upload-Complete: {complete}" if int(version) >= 5 else f"Upload-Incomplete: {'?0' if complete == '?1' else '?1'}"
    s.sendall((f"POST /resumable HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\nUpload-Draft-Interop-Version: {version}\r\n"
               f"{field}\r\nContent-Length: {length}\r\nX-File-Name: clip.mp4\r\n{extra or ''}\r\n").encode())
    status, headers, rest = read_head(s)
    return s, status, headers


def test_creation_cut_off_at_half_resumes_with_head_and_patch(make_stack, tmp_path):
    stack = make_stack(processor={})
    clip = noisy_clip(str(tmp_path / "clip.mp4"), seconds=2)
    data = open(clip, "rb").read()
    half = len(data) // 2
    received_before = bytes_received(stack.uploader)
    s, status, informational = start_creation(stack.uploader, len(data))
    assert status == 104, (status, informational)
    assert informational["upload-draft-interop-version"] == "6"
    location = informational["location"]
    assert location.startswith("/resumable/")
    s.sendall(data[:half])
    time.sleep(0.5)
    s.close()  # the network drops mid-body

    def offset():
        status, headers, _ = request(stack.uploader, "HEAD", location)
        assert status == 204 and headers["upload-complete"] == "?0" and headers["cache-control"] == "no-store"
        return int(headers["upload-offset"])
    kept = wait_until(lambda: offset() or None, timeout=10, message="the received half to be kept")
    assert 0 < kept <= half

    status, headers, body = request(stack.uploader, "PATCH", location, body=data[kept:], headers={
        "Upload-Offset": str(kept), "Upload-Complete": "?1", "Content-Type": "application/partial-upload"})
    assert status == 202, body
    assert headers["upload-complete"] == "?1" and headers["upload-offset"] == str(len(data))
    # Every byte the upload kept counts once: the cut-off piece's kept half and the rest.
    assert bytes_received(stack.uploader) - received_before == len(data)
    job = json.loads(body)
    assert job["input"]["bytes"] == len(data) and job["fileName"] == "clip.mp4"
    status, headers, _ = request(stack.uploader, "HEAD", location)
    assert status == 204 and headers["upload-complete"] == "?1"
    # an append to a complete upload is a conflict that tells the offset
    status, headers, _ = request(stack.uploader, "PATCH", location, body=b"x", headers={
        "Upload-Offset": str(len(data)), "Upload-Complete": "?1", "Content-Type": "application/partial-upload"})
    assert status == 409 and headers["upload-offset"] == str(len(data)) and headers["upload-complete"] == "?1"

    final = wait_until(lambda: (st := stack.status(job["jobId"])) and st["status"] in ("succeeded", "failed") and st,
                       timeout=180, message="the job to finish")
    assert final["status"] == "succeeded", final
    stored = stack.blobs.get_blob_client("rawfiles", job["input"]["blob"]).download_blob().readall()
    assert hashlib.md5(stored).hexdigest() == hashlib.md5(data).hexdigest()
    assert stack.processed(job["jobId"])


def test_interop_version_3_in_appends_and_a_complete_creation(stack, tmp_path):
    data = open(noisy_clip(str(tmp_path / "c.mp4"), seconds=1), "rb").read()[: 2 << 20]
    # version 3: Upload-Incomplete; an empty creation request, then two appends
    status, headers, body = request(stack.uploader, "POST", "/resumable", version="3", headers={"Upload-Incomplete": "?1"})
    assert status == 201 and headers["upload-incomplete"] == "?1" and headers["upload-offset"] == "0", body
    location = headers["location"]
    status, headers, _ = request(stack.uploader, "PATCH", location, body=data[:1000], version="3",
                                 headers={"Upload-Offset": "0", "Upload-Incomplete": "?1"})
    assert status == 201 and headers["upload-offset"] == "1000"
    status, headers, body = request(stack.uploader, "PATCH", location, body=data[1000:], version="3",
                                    headers={"Upload-Offset": "1000", "Upload-Incomplete": "?0"})
    assert status == 202 and headers["upload-incomplete"] == "?0", body
    # a creation request that carries everything is one upload, answered like /upload
    s, status, informational = start_creation(stack.uploader, len(data), version="5")
    assert status == 104
    s.sendall(data)
    status, headers, rest = read_head(s)
    s.close()
    assert status == 202 and headers["upload-complete"] == "?1" and headers["location"] == informational["location"]
    assert len(stack.raw_blobs()) >= 2


def test_keys_tenants_limits_and_refusals(make_stack):
    other_key = "draft-other-tenant-key-0123456789"
    stack = make_stack(UPLOADER_API_KEYS=f"{API_KEY},{other_key}", UPLOADER_MAX_UPLOAD_BYTES=1 << 20)
    status, _, _ = request(stack.uploader, "POST", "/resumable", key=None, headers={"Upload-Complete": "?0"})
    assert status == 401
    status, headers, _ = request(stack.uploader, "OPTIONS", "/resumable", key=None)
    assert status == 200 and f"max-size={1 << 20}" in headers["upload-limit"]
    status, _, body = request(stack.uploader, "POST", "/resumable", headers={"Upload-Complete": "?0", "Upload-Length": str((1 << 20) + 1)})
    assert status == 413, body
    status, _, _ = request(stack.uploader, "POST", "/resumable", headers={"Upload-Complete": "?1"}, body=b"x" * ((1 << 20) + 1))
    assert status == 413
    status, _, _ = request(stack.uploader, "POST", "/resumable", version="2", headers={"Upload-Complete": "?0"})
    assert status == 400
    status, headers, _ = request(stack.uploader, "POST", "/resumable", headers={"Upload-Complete": "?0"})
    assert status == 201
    location = headers["location"]
    for method in ("HEAD", "PATCH", "DELETE"):
        status, _, _ = request(stack.uploader, method, location, key=other_key,
                               headers={"Upload-Offset": "0", "Content-Type": "application/partial-upload"})
        assert status == 404, method
    status, _, _ = request(stack.uploader, "PATCH", location, body=b"\xff\xd8\xff", headers={"Upload-Offset": "0"})
    assert status == 415  # version 6 wants application/partial-upload
    status, headers, _ = request(stack.uploader, "PATCH", location, body=b"\xff\xd8\xff", headers={
        "Upload-Offset": "5", "Content-Type": "application/partial-upload"})
    assert status == 409 and headers["upload-offset"] == "0" and headers["upload-complete"] == "?0"
    status, _, _ = request(stack.uploader, "DELETE", location)
    assert status == 204
    assert request(stack.uploader, "HEAD", location)[0] == 404
