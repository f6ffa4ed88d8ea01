"""Direct-to-Blob uploads: `POST /uploads` hands out a create+write SAS for one blob in `rawfiles`,
the client uploads with Microsoft's SDK or curl, `POST /uploads/{jobId}/complete` verifies (size,
ranged-read sniff, MD5) and queues — or deletes the blob and fails the job."""
import base64
import hashlib
import json
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, ContainerClient, ContentSettings

from conftest import API_KEY, clips, photos, status_name, tenant_of, wait_until

OTHER_KEY = "other-tenant-key-0123456789abcdef"


def call(uploader, method, path, body=None, key=API_KEY):
    """One request to the uploader: (status, parsed JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(uploader.url + path, data=data, method=method,
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def grant(stack, **body):
    status, answer = call(stack.uploader, "POST", "/uploads", body)
    assert status == 201, answer
    return answer


def complete(stack, job_id, key=API_KEY, **body):
    return call(stack.uploader, "POST", f"/uploads/{job_id}/complete", body or None, key=key)


def raw(method, url, data=None, headers=None):
    """A storage request with the SAS alone (no account credential): its HTTP status."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def md5_of(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def uploads_counted(stack, outcome):
    """`uploader_uploads_total` for the key's tenant and `outcome`, from /metrics."""
    text = urllib.request.urlopen(f"{stack.uploader.url}/metrics", timeout=30).read().decode()
    labels = {f'outcome="{outcome}"', f'tenant="{tenant_of(API_KEY)}"'}
    for line in text.splitlines():
        if line.startswith("uploader_uploads_total{") and set(line[line.index("{") + 1:line.index("}")].split(",")) == labels:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


def raw_blob_exists(stack, name):
    return stack.blobs.get_blob_client("rawfiles", name).exists()


def test_sdk_blocks_and_curl_put_blob_both_succeed(make_stack):
    stack = make_stack(processor={})
    photo = open(photos(1)[0], "rb").read()
    clip_path = clips()[0]
    clip = open(clip_path, "rb").read()

    # Microsoft's SDK with a small single-put size: Put Block + Put Block List (no Content-MD5
    # property: the uploader computes it), the client names the MD5 it expects.
    sdk = grant(stack, fileName="photo.jpg", size=len(photo))
    assert sdk["method"] == "PUT" and sdk["maxBytes"] == 2 << 30
    query = urllib.parse.parse_qs(urllib.parse.urlparse(sdk["uploadUrl"]).query)
    assert query["sp"] == ["cw"] and query["sr"] == ["b"]
    assert urllib.parse.urlparse(sdk["uploadUrl"]).path.endswith("/rawfiles/" + sdk["blob"]["name"])
    client = BlobClient.from_blob_url(sdk["uploadUrl"], max_single_put_size=64 * 1024, max_block_size=64 * 1024)
    client.upload_blob(photo)
    blocks = stack.blobs.get_blob_client("rawfiles", sdk["blob"]["name"]).get_block_list("committed")[0]
    assert len(blocks) > 1, "the SDK was meant to upload in blocks"
    status, sdk_done = complete(stack, sdk["jobId"], md5=md5_of(photo))
    assert status == 202, sdk_done
    assert sdk_done["input"]["md5"] == md5_of(photo) and sdk_done["input"]["bytes"] == len(photo)
    assert sdk_done["input"]["mediaType"] == "image/jpeg" and sdk_done["fileName"] == "photo.jpg"

    # curl: one Put Blob (Azure, and devstorage, store its Content-MD5).
    put = grant(stack)
    result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                             "-H", "x-ms-blob-type: BlockBlob", "--data-binary", f"@{clip_path}", put["uploadUrl"]],
                            capture_output=True, text=True, timeout=120)
    assert result.stdout == "201", result.stderr
    status, curl_done = complete(stack, put["jobId"])
    assert status == 202, curl_done
    assert curl_done["input"]["md5"] == md5_of(clip) and curl_done["input"]["mediaType"] == "video/mp4"

    for job_id in (sdk["jobId"], put["jobId"]):
        done = wait_until(lambda: (stack.status(job_id) or {}).get("status") in ("succeeded", "failed") and stack.status(job_id),
                          timeout=240, message=f"job {job_id} to finish")
        assert done["status"] == "succeeded", done
        assert stack.processed(job_id)
        status, via_api = call(stack.uploader, "GET", f"/jobs/{job_id}")
        assert status == 200 and via_api["status"] == "succeeded"


def test_the_sas_opens_its_one_blob_for_writing_only(stack):
    granted = grant(stack)
    url = granted["uploadUrl"]
    base, _, sas = url.partition("?")
    container = base.rsplit("/rawfiles/", 1)[0] + "/rawfiles"
    assert raw("PUT", url, b"\xff\xd8\xff\xe0 a start", {"x-ms-blob-type": "BlockBlob"}) == 201
    # Read, list, write another name, delete: 403 each.
    assert raw("GET", url) == 403
    assert raw("HEAD", url) == 403
    assert raw("GET", f"{container}?restype=container&comp=list&{sas}") == 403
    other = base[:-len(".upload")] + "-other.upload?" + sas
    assert raw("PUT", other, b"x", {"x-ms-blob-type": "BlockBlob"}) == 403
    assert raw("PUT", f"{container}/elsewhere.jpg?{sas}", b"x", {"x-ms-blob-type": "BlockBlob"}) == 403
    assert raw("DELETE", url) == 403
    # The same through Microsoft's SDK.
    with pytest.raises(HttpResponseError) as read:
        BlobClient.from_blob_url(url).download_blob().readall()
    assert read.value.status_code == 403
    with pytest.raises(HttpResponseError) as listing:
        list(ContainerClient.from_container_url(f"{container}?{sas}").list_blobs())
    assert listing.value.status_code == 403
    with pytest.raises(HttpResponseError) as write:
        BlobClient.from_blob_url(other).upload_blob(b"x")
    assert write.value.status_code == 403
    assert [b.name for b in stack.blobs.get_container_client("rawfiles").list_blobs()] == [granted["blob"]["name"]]


def test_not_media_is_failed_with_the_reason_and_deleted(stack):
    granted = grant(stack, fileName="notes.txt")
    BlobClient.from_blob_url(granted["uploadUrl"]).upload_blob(b"these are my notes, not a photo\n" * 100)
    name = granted["blob"]["name"]
    assert raw_blob_exists(stack, name)
    status, answer = complete(stack, granted["jobId"])
    assert status == 422 and answer["error"]["code"] == "UploadRejected", answer
    assert "not a supported image, video or audio file" in answer["error"]["message"]
    assert not raw_blob_exists(stack, name)
    status, job = call(stack.uploader, "GET", f"/jobs/{granted['jobId']}")
    assert status == 200 and job["status"] == "failed", job
    assert job["error"]["code"] == "unsupported" and "not a supported image, video or audio file" in job["error"]["reason"]
    assert stack.message_count() == 0
    # Completing again: the same answer, nothing queued, counted once.
    assert complete(stack, granted["jobId"])[0] == 422
    assert stack.message_count() == 0
    assert uploads_counted(stack, "UploadRejected") == 1


def test_oversize_is_refused_up_front_or_failed_and_deleted(make_stack):
    stack = make_stack(UPLOADER_MAX_UPLOAD_BYTES=100_000)
    status, answer = call(stack.uploader, "POST", "/uploads", {"size": 100_001})
    assert status == 413 and answer["error"]["code"] == "PayloadTooLarge"
    photo = next(open(p, "rb").read() for p in photos() if 100_000 < __import__("os").path.getsize(p) < 5_000_000)
    granted = grant(stack)
    assert granted["maxBytes"] == 100_000
    BlobClient.from_blob_url(granted["uploadUrl"]).upload_blob(photo)
    status, answer = complete(stack, granted["jobId"])
    assert status == 422, answer
    assert "more than the limit of 100000" in answer["error"]["message"]
    assert not raw_blob_exists(stack, granted["blob"]["name"])
    job = stack.status(granted["jobId"])
    assert job["status"] == "failed" and job["error"]["code"] == "tooLarge"
    assert stack.message_count() == 0


def test_wrong_md5_is_failed_and_deleted(stack):
    photo = open(photos(1)[0], "rb").read()
    granted = grant(stack)
    BlobClient.from_blob_url(granted["uploadUrl"]).upload_blob(photo, content_settings=ContentSettings(content_type="image/jpeg"))
    status, answer = complete(stack, granted["jobId"], md5=md5_of(b"something else"))
    assert status == 422 and "md5Mismatch" in answer["error"]["message"], answer
    assert not raw_blob_exists(stack, granted["blob"]["name"])
    assert stack.status(granted["jobId"])["error"]["code"] == "md5Mismatch"
    # A malformed MD5 is a bad request, not a verdict.
    other = grant(stack)
    assert complete(stack, other["jobId"], md5="abc")[0] == 400


def test_completion_is_idempotent_and_tenant_scoped(make_stack):
    stack = make_stack(UPLOADER_API_KEYS=f"{API_KEY},{OTHER_KEY}")
    photo = open(photos(1)[0], "rb").read()
    granted = grant(stack)
    job_id = granted["jobId"]
    # Before any upload: 400 NoFile, and the upload can still be completed afterwards.
    status, answer = complete(stack, job_id)
    assert status == 400 and answer["error"]["code"] == "NoFile", answer
    BlobClient.from_blob_url(granted["uploadUrl"]).upload_blob(photo)
    # Another tenant: 404 for the completion and for the job, exactly as an unknown id.
    status, answer = complete(stack, job_id, key=OTHER_KEY)
    assert status == 404 and answer["error"]["code"] == "JobNotFound"
    assert complete(stack, "00000000-0000-4000-8000-000000000000")[0] == 404
    # Concurrent completions, then more: one job, one message.
    results = []
    threads = [threading.Thread(target=lambda: results.append(complete(stack, job_id))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert 202 in statuses and set(statuses) <= {202, 409}, results
    for status, answer in results:
        assert status == 202 or answer["error"]["code"] == "CompletionInProgress"
    again = complete(stack, job_id)
    assert again[0] == 202 and again[1]["input"]["md5"] == md5_of(photo)
    assert stack.message_count() == 1
    assert uploads_counted(stack, "accepted") == 1
    assert [job["jobId"] for job in stack.jobs()] == [job_id]
    assert stack.status(job_id)["status"] == "queued"
    assert stack.blobs.get_blob_client("jobstatus", status_name(job_id)).exists()
    assert call(stack.uploader, "GET", f"/jobs/{job_id}", key=OTHER_KEY)[0] == 404
    assert complete(stack, job_id, key=OTHER_KEY)[0] == 404
    # The blob now names its job.
    metadata = stack.blobs.get_blob_client("rawfiles", granted["blob"]["name"]).get_blob_properties().metadata
    assert metadata["jobid"] == job_id


def test_requests_are_checked(stack):
    assert call(stack.uploader, "POST", "/uploads", {"size": -1})[0] == 400
    assert call(stack.uploader, "POST", "/uploads", {"fileName": 5})[0] == 400
    assert call(stack.uploader, "POST", "/uploads", None, key="wrong-key")[0] == 401
    assert complete(stack, "not-a-job-id")[0] == 404
    granted = grant(stack, fileName="../../etc/passwd")
    assert granted["expiresAt"].endswith("Z")
    document = json.loads(stack.blobs.get_blob_client(
        "jobstatus", f"_direct/{status_name(granted['jobId']).split('/')[0]}/{granted['jobId']}.json").download_blob().readall())
    assert document["originalName"] == "passwd" and document["state"] == "awaitingUpload"


def test_a_stale_claim_is_taken_over_without_a_second_job(stack):
    """A completion that died holding the claim: a fresh claim makes others wait (409), a stale one
    (older than 120 s) is taken over; if the dead request had already queued the job, the new owner
    finds its status document and queues nothing more."""
    import datetime
    photo = open(photos(1)[0], "rb").read()
    granted = grant(stack)
    job_id = granted["jobId"]
    BlobClient.from_blob_url(granted["uploadUrl"]).upload_blob(photo)
    state = stack.blobs.get_blob_client("jobstatus", f"_direct/{status_name(job_id).split('/')[0]}/{job_id}.json")

    def claim(seconds_ago):
        document = json.loads(state.download_blob().readall())
        document["state"] = "completing"
        when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
        document["claimedAt"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        state.upload_blob(json.dumps(document), overwrite=True)

    claim(5)
    status, answer = complete(stack, job_id)
    assert status == 409 and answer["error"]["code"] == "CompletionInProgress", answer
    assert stack.message_count() == 0
    claim(600)
    status, answer = complete(stack, job_id)
    assert status == 202, answer
    assert stack.message_count() == 1
    # The job is queued; a dead completion's claim is left again: the takeover queues nothing new.
    claim(600)
    status, answer = complete(stack, job_id)
    assert status == 202 and answer["input"]["md5"] == md5_of(photo), answer
    assert stack.message_count() == 1
    assert json.loads(state.download_blob().readall())["state"] == "queued"
