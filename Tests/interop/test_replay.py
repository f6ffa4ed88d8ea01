"""`processor replay` as an operator runs it (issue 13 item 3): a job poisoned, the cause fixed, the
entry inspected with --dry-run and replayed with the real binary; the job ends `succeeded`. Before
replay existed there was no way back: the status said `failed`, so a message sent again by hand was
deleted as already done."""
import json
import os
import subprocess

from conftest import PROCESSOR_BIN, photos, wait_until
from test_processor import check_invariant, finished, upload


def replay(stack, *args):
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=stack.storage.connection_string())
    return subprocess.run([PROCESSOR_BIN, "replay", *args], env=env, capture_output=True, text=True, timeout=120)


def corrupt_jpeg(tmp_path):
    """A JPEG cut before its first scan: accepted by the uploader (JPEG by its first bytes), `corrupt` in the processor."""
    data = open(photos(1)[0], "rb").read()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:data.index(b"\xff\xda")])
    return path


def test_a_corrupt_upload_fixed_and_replayed_succeeds(make_stack, tmp_path):
    stack = make_stack(processor={})
    job_id = upload(stack, corrupt_jpeg(tmp_path))
    entry = wait_until(lambda: stack.poison(), timeout=60, message="the poison entry")[0]
    assert entry["jobId"] == job_id and entry["code"] == "corrupt"
    assert stack.status(job_id)["status"] == "failed"

    # Inspect: every entry with its job id, code, reason and time; nothing changes.
    listed = replay(stack, "--dry-run", "--json")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(l["jobId"], l["code"], l["action"], l["status"]) for l in lines] == [(job_id, "corrupt", "would_replay", "failed")]
    assert lines[0]["reason"] and lines[0]["failedAt"] and lines[0]["input"]["blob"] == entry["input"]["blob"]
    table = replay(stack, "--list")
    assert table.returncode == 0 and job_id in table.stdout and "corrupt" in table.stdout, table
    assert len(stack.poison()) == 1 and stack.status(job_id)["status"] == "failed"

    # Without a selection nothing is replayed.
    refused = replay(stack)
    assert refused.returncode != 0 and "--all" in refused.stderr

    # Fix: the raw blob replaced by a good copy of the file; then replay by job id.
    good = open(photos(1)[0], "rb").read()
    stack.blobs.get_blob_client("rawfiles", entry["input"]["blob"]).upload_blob(good, overwrite=True)
    done = replay(stack, "--job-id", job_id, "--refresh-input")
    assert done.returncode == 0, done.stderr
    assert "replayed" in done.stdout and "1 replayed" in done.stderr, done

    status = wait_until(lambda: finished(stack, job_id), timeout=60, message="the replayed job to finish")
    assert status["status"] == "succeeded", status
    assert status["error"] is None and status["input"]["bytes"] == len(good)
    assert stack.processed(job_id) == [f"{job_id}/image.webp", f"{job_id}/thumb.webp"]
    assert stack.poison() == []
    check_invariant(stack, [job_id])


def test_jobs_poisoned_by_a_storage_outage_are_replayed_by_code(make_stack):
    # Every read of an uploaded file fails (status documents stay readable, so the first attempt's
    # time is known): with 2 deliveries and no minimum age the jobs are poisoned as transient.
    stack = make_stack(processor={"PROCESSOR_STORAGE_RETRIES": "0", "PROCESSOR_RETRY_DELAY_SECONDS": "1",
                                  "PROCESSOR_MAX_DEQUEUE_COUNT": "2", "PROCESSOR_POISON_MIN_AGE_SECONDS": "0"})
    stack.processor.stop()
    stack.storage.restart(DEVSTORAGE_FAULTS_RATE=1, DEVSTORAGE_FAULTS_STATUS=503, DEVSTORAGE_FAULTS_OPERATIONS="GetBlob",
                          DEVSTORAGE_FAULTS_RESOURCES="rawfiles")
    jobs = [upload(stack, p) for p in photos(2)]
    stack.processor.start()
    wait_until(lambda: len(stack.poison()) == 2, timeout=120, message="both jobs poisoned")
    assert {p["code"] for p in stack.poison()} == {"transient"}

    # The outage ends (devstorage again, same data, no faults); the backlog is replayed by its code.
    stack.storage.restart()
    done = replay(stack, "--code", "transient")
    assert done.returncode == 0, done.stderr
    for job_id in jobs:
        status = wait_until(lambda: finished(stack, job_id), timeout=90, message=f"job {job_id}")
        assert status["status"] == "succeeded", status
    assert stack.poison() == []
    check_invariant(stack, jobs)
