"""Tenants over real sockets: the uploader binary with `tenant:key` entries, driven with curl and
http.client. A job is its tenant's only (another tenant gets the 404 of an unknown id, for its
status, its outputs and in its list), and a tenant's list pages newest first through 120 jobs with
a cursor, with no duplicates or gaps while uploads go on; daily quotas hold with two uploader
processes sharing one storage account; each tenant's webhook hears only about its jobs."""
import hashlib
import hmac
import http.client
import http.server
import json
import threading

from conftest import Uploader, photos, wait_until

KEYS = {"alpha": ["alpha-key-one-0123456789", "alpha-key-two-0123456789"], "beta": ["beta-key-0123456789abcdef"]}
ENTRIES = ",".join(f"{tenant}:{key}" for tenant, keys in KEYS.items() for key in keys)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def request(port, method, path, key, body=None, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={"X-API-Key": key} if key else {})
        response = connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data.decode(errors="replace")
    finally:
        if own:
            connection.close()


def test_a_job_is_its_tenants_only(make_stack):
    stack = make_stack(UPLOADER_API_KEYS=ENTRIES, UPLOADER_LINKS="proxy")
    port = stack.uploader.port
    alpha, alpha_two = KEYS["alpha"]
    beta = KEYS["beta"][0]
    status, body = stack.uploader.curl("-F", f"file=@{photos(1)[0]}", f"{stack.uploader.url}/upload", key=alpha)
    assert status == 202, body
    job_id = body["jobId"]
    assert stack.jobs()[0]["tenant"] == "alpha"
    document = json.loads(stack.blobs.get_blob_client("jobstatus", f"alpha/{job_id}.json").download_blob().readall())
    assert document["tenant"] == "alpha"

    # The owner's other key sees it; the other tenant gets exactly an unknown id's answer.
    assert request(port, "GET", f"/jobs/{job_id}", alpha_two)[0] == 200
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/outputs/image.webp"):
        theirs = request(port, "GET", path, beta)
        unknown = request(port, "GET", path.replace(job_id, UNKNOWN), beta)
        assert theirs[0] == unknown[0] == 404
        assert json.dumps(theirs[1]).replace(job_id, UNKNOWN) == json.dumps(unknown[1])
    assert request(port, "GET", "/jobs", beta) == (200, {"jobs": [], "nextCursor": None})
    status, listed = request(port, "GET", "/jobs", alpha_two)
    assert status == 200 and [j["jobId"] for j in listed["jobs"]] == [job_id]
    assert all(j["tenant"] == "alpha" for j in listed["jobs"])
    assert request(port, "GET", "/jobs", "wrong-key")[0] == 401


def test_the_list_pages_newest_first_with_no_duplicates_or_gaps_while_uploads_continue(make_stack):
    stack = make_stack(UPLOADER_API_KEYS=ENTRIES, UPLOADER_RATE_PER_SECOND="0")
    port = stack.uploader.port
    alpha = KEYS["alpha"][0]
    picture = open(photos(1)[0], "rb").read()

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    accepted = []
    for _ in range(120):
        status, body = request(port, "POST", "/upload", alpha, body=picture, connection=connection)
        assert status == 202, body
        accepted.append(body["jobId"])
    connection.close()

    # Uploads go on while the client pages (as the same tenant, and as another).
    stop = threading.Event()
    during = []

    def upload_more():
        more = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            for key in (alpha, KEYS["beta"][0]):
                status, body = request(port, "POST", "/upload", key, body=picture, connection=more)
                assert status == 202, body
                during.append(body["jobId"])
        more.close()

    uploader = threading.Thread(target=upload_more, daemon=True)
    uploader.start()
    try:
        seen, pages, cursor = [], 0, None
        while True:
            path = "/jobs?limit=25" + (f"&cursor={cursor}" if cursor else "")
            status, page = request(port, "GET", path, alpha)
            assert status == 200, page
            pages += 1
            seen += [(j["jobId"], j["createdAt"]) for j in page["jobs"]]
            cursor = page["nextCursor"]
            if pages == 1:
                # what arrives from now on is newer than the first page: it must not show up later
                first_page_ids = {job for job, _ in seen}
                assert first_page_ids <= set(accepted) | set(during)
            if not cursor:
                break
    finally:
        stop.set()
        uploader.join(timeout=60)
    assert len(during) > 0, "uploads went on while paging"
    ids = [job for job, _ in seen]
    assert len(ids) == len(set(ids)), "no duplicates"
    later = [job for job in ids if job not in accepted]
    # Only jobs accepted before the first page was read can be listed, all of them, newest first.
    assert set(accepted) <= set(ids), f"gaps: {sorted(set(accepted) - set(ids))[:5]}"
    assert all(job in during for job in later)
    created = [c for _, c in seen]
    assert created == sorted(created, reverse=True), "newest first"
    assert ids[-120:] == list(reversed(accepted)), "the 120 in reverse order of acceptance, last"
    assert pages >= 5

    # A status filter (nothing is processed here) and the other tenant's view.
    assert request(port, "GET", "/jobs?status=succeeded", alpha)[1]["jobs"] == []
    _, beta_page = request(port, "GET", "/jobs?limit=100", KEYS["beta"][0])
    assert set(j["jobId"] for j in beta_page["jobs"]).isdisjoint(accepted)


def upload_with_headers(port, key, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", "/upload", body=body, headers={"X-API-Key": key})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), dict(response.getheaders())
    finally:
        connection.close()


def test_daily_quotas_hold_across_two_uploaders_sharing_storage(make_stack):
    settings = dict(UPLOADER_API_KEYS=ENTRIES, UPLOADER_QUOTA_DAILY_UPLOADS="10", UPLOADER_RATE_PER_SECOND="0")
    stack = make_stack(**settings)
    second = Uploader(stack.storage, **settings)
    try:
        alpha, beta = KEYS["alpha"][0], KEYS["beta"][0]
        picture = open(photos(1)[0], "rb").read()
        results = []
        threads = [threading.Thread(target=lambda port=port: results.append(upload_with_headers(port, alpha, picture)))
                   for port in [stack.uploader.port, second.port] * 8]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        codes = sorted(status for status, _, _ in results)
        assert codes == [202] * 10 + [429] * 6, codes
        for status, body, headers in results:
            if status == 429:
                assert body["error"]["code"] == "QuotaExceeded", body
                assert "10 uploads" in body["error"]["message"]
                assert 0 < int(headers["Retry-After"]) <= 86400
        assert len([m for m in stack.jobs() if m["tenant"] == "alpha"]) == 10
        # Another tenant has its own quota; the usage document says what was counted.
        assert upload_with_headers(second.port, beta, picture)[0] == 202
        usage = [b.name for b in stack.blobs.get_container_client("jobstatus").list_blobs(name_starts_with="_quotas/")]
        alpha_usage = json.loads(stack.blobs.get_blob_client("jobstatus", next(n for n in usage if n.endswith("/alpha.json")))
                                 .download_blob().readall())
        assert alpha_usage["uploads"] == 10 and alpha_usage["bytes"] == 10 * len(picture)
        # Quota documents are no tenant's jobs.
        assert len(request(stack.uploader.port, "GET", "/jobs?limit=100", alpha)[1]["jobs"]) == 10
    finally:
        second.stop()


def test_a_daily_byte_quota_admits_uploads_while_under_it(make_stack):
    picture = open(photos(1)[0], "rb").read()
    stack = make_stack(UPLOADER_API_KEYS=ENTRIES, UPLOADER_QUOTA_DAILY_BYTES=str(int(len(picture) * 2.5)))
    alpha = KEYS["alpha"][0]
    codes = [upload_with_headers(stack.uploader.port, alpha, picture)[0] for _ in range(4)]
    assert codes == [202, 202, 202, 429], codes
    status, body, headers = upload_with_headers(stack.uploader.port, alpha, picture)
    assert (status, body["error"]["code"]) == (429, "QuotaExceeded") and "bytes" in body["error"]["message"]
    assert upload_with_headers(stack.uploader.port, KEYS["beta"][0], picture)[0] == 202


def test_each_tenant_hears_only_about_its_own_jobs(make_stack, tmp_path):
    received = {"alpha": [], "beta": [], "platform": []}

    def receiver(name):
        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                received[name].append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    servers = {name: receiver(name) for name in received}
    hooks = tmp_path / "webhooks.yaml"
    hooks.write_text("".join(f"{name}:\n  url: http://127.0.0.1:{servers[name].server_port}/done\n  secret: {name}-secret\n"
                             for name in ("alpha", "beta")))
    try:
        stack = make_stack(UPLOADER_API_KEYS=ENTRIES + ",gamma:gamma-key-0123456789",
                           processor={"PROCESSOR_WEBHOOK_TENANTS_FILE": str(hooks),
                                      "PROCESSOR_WEBHOOK_URL": f"http://127.0.0.1:{servers['platform'].server_port}/all"})
        jobs = {}
        for tenant, key in (("alpha", KEYS["alpha"][0]), ("beta", KEYS["beta"][0]), ("gamma", "gamma-key-0123456789")):
            status, body = stack.uploader.curl("-F", f"file=@{photos(1)[0]}", f"{stack.uploader.url}/upload", key=key)
            assert status == 202, body
            jobs[tenant] = body["jobId"]
        wait_until(lambda: all(received.values()), timeout=120, message="every webhook")
        for name, expected in (("alpha", "alpha"), ("beta", "beta"), ("platform", "gamma")):
            assert len(received[name]) == 1, received[name]
            headers, body = received[name][0]
            document = json.loads(body)
            assert document["jobId"] == jobs[expected] and document["tenant"] == expected
            if name != "platform":
                assert headers["X-MediaPipeline-Signature"] == "sha256=" + hmac.new(f"{name}-secret".encode(), body, hashlib.sha256).hexdigest()
    finally:
        for server in servers.values():
            server.shutdown()
