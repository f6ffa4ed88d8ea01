"""The uploader's readiness through a storage blip, and its proxy-mode output links opened as a
browser opens them (no API key), against the real binaries (issue 13 item 8)."""
import json
import time
import urllib.error
import urllib.request

from conftest import photos, status_name


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def readyz(stack):
    status, _, body = get(f"{stack.uploader.url}/readyz")
    return status, json.loads(body)["status"]


def test_readyz_tolerates_a_storage_blip_and_reports_an_outage(make_stack):
    window = 4
    stack = make_stack(UPLOADER_READY_FAILURE_WINDOW_SECONDS=window)
    assert readyz(stack) == (200, "ready")
    stack.storage.stop()
    stopped = time.time()
    # A blip: storage is down, the pod stays in the load balancer (200 "degraded").
    assert readyz(stack) == (200, "degraded")
    seen = []
    while time.time() - stopped < window + 10:
        seen.append((time.time() - stopped, *readyz(stack)))
        if seen[-1][1] == 503:
            break
        time.sleep(0.5)
    # An outage: after the window, 503 "unavailable".
    assert seen[-1][1:] == (503, "unavailable"), seen
    assert window <= seen[-1][0] <= window + 4, seen
    assert all(s[1:] == (200, "degraded") for s in seen[:-1]), seen
    stack.storage.start()
    deadline = time.time() + 15
    while readyz(stack) != (200, "ready"):
        assert time.time() < deadline, "ready again once storage answers"
        time.sleep(0.5)
    # And the window starts afresh: the next failure is a blip again.
    stack.storage.stop()
    assert readyz(stack) == (200, "degraded")


def test_proxy_links_open_without_the_key(make_stack):
    stack = make_stack(UPLOADER_LINKS="proxy", UPLOADER_LOG_LEVEL="info")
    status, body = stack.uploader.curl("-F", f"file=@{photos(1)[0]}", f"{stack.uploader.url}/upload")
    assert status == 202, body
    job_id = body["jobId"]
    # Play the processor: an output and a succeeded status document.
    output = open(photos(2)[1], "rb").read()
    stack.blobs.get_blob_client("processed", f"{job_id}/image.jpg").upload_blob(output, overwrite=True)
    status_blob = stack.blobs.get_blob_client("jobstatus", status_name(job_id))
    document = json.loads(status_blob.download_blob().readall())
    document.update(status="succeeded", outputs=[{"name": "image.jpg", "contentType": "image/jpeg", "bytes": len(output),
                                                  "container": "processed", "blob": f"{job_id}/image.jpg"}])
    status_blob.upload_blob(json.dumps(document), overwrite=True)

    status, job = stack.uploader.curl(f"{stack.uploader.url}/jobs/{job_id}")
    assert status == 200, job
    url = job["outputs"][0]["url"]
    assert url.startswith(f"/jobs/{job_id}/outputs/image.jpg?tenant=") and "&expires=" in url and "&signature=" in url, url
    from conftest import API_KEY
    assert API_KEY not in url
    # What a browser does with the link: a plain GET, no key.
    status, headers, data = get(stack.uploader.url + url)
    assert status == 200 and data == output and headers["Content-Type"] == "image/jpeg"
    # The signature is bound to its path and cannot be edited.
    assert get(stack.uploader.url + url.replace("image.jpg", "other.jpg"))[0] == 401
    assert get(stack.uploader.url + url.replace("signature=", "signature=x"))[0] == 401
    assert get(stack.uploader.url + url.split("?")[0])[0] == 401
    # The uploader's access log has the requests, never the link's query nor the key.
    time.sleep(0.5)
    log = open(stack.uploader.log_path, errors="replace").read()
    assert f"/jobs/{job_id}/outputs/image.jpg" in log
    assert "signature=" not in log and API_KEY not in log
