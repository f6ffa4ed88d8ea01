"""Tenants over real sockets: the uploader binary with `tenant:key` entries, driven with curl and
http.client. A job is its tenant's only (another tenant gets the 404 of an unknown id, for its
status, its outputs and in its list), and a tenant's list pages newest first through 120 jobs with
a cursor, with no duplicates or gaps while uploads go on."""
import http.client
import json
import threading

from conftest import photos

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
