"""The upload page's resumable uploads (issue 16, item 4) in headless Chromium: a large file goes
over tus in pieces; the network is cut for a few seconds mid-upload (DevTools network emulation) and
the upload completes on its own; a reload mid-upload resumes when the same file is chosen again
instead of starting over — the uploader's byte counter shows the file's bytes once (plus at most the
piece that was in flight), not the resumed part twice; and an upload can be cancelled."""
import hashlib
import os
import re
import time
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import API_KEY, clips
from test_webpage import browser, rows  # noqa: F401 (the fixture)

SIZE = int(os.environ.get("RESUMABLE_PAGE_BYTES", 300 * 1024 * 1024))
CHUNK = 16 * 1024 * 1024  # resumable.js's CHUNK_BYTES


@pytest.fixture
def big_file(tmp_path):
    """A real clip's bytes first (the uploader sniffs them), then filler up to SIZE."""
    path = tmp_path / "long-take.mp4"
    head = open(clips()[0], "rb").read()
    with open(path, "wb") as out:
        out.write(head)
        block = os.urandom(1 << 20)
        while out.tell() < SIZE:
            out.write(block[: min(len(block), SIZE - out.tell())])
    return path


def md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def bytes_received(stack):
    text = urllib.request.urlopen(stack.uploader.url + "/metrics", timeout=10).read().decode()
    return sum(float(m.group(1)) for m in re.finditer(r'^uploader_upload_bytes_total\{[^}]*\} ([0-9.e+]+)$', text, re.M))


def sign_in(driver, stack):
    driver.get(stack.uploader.url + "/")
    wait = WebDriverWait(driver, 30)
    key = wait.until(lambda d: d.find_element(By.ID, "api-key"))
    key.send_keys(API_KEY)
    driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait.until(lambda d: not d.find_element(By.ID, "key-form").is_displayed())


def progress(driver):
    return int(rows(driver)[0].find_element(By.TAG_NAME, "progress").get_attribute("value") or 0)


def raw_blob_md5(stack, job_id):
    for blob in stack.raw_blobs():
        if job_id in blob.name and not blob.name.startswith("_uploads/"):
            data = stack.blobs.get_blob_client("rawfiles", blob.name).download_blob().readall()
            return hashlib.md5(data).hexdigest()
    return None


def test_a_network_cut_mid_upload_is_retried_to_the_end(make_stack, browser, big_file):  # noqa: F811
    stack = make_stack()
    sign_in(browser, stack)
    browser.find_element(By.ID, "file-input").send_keys(str(big_file))
    wait = WebDriverWait(browser, 300, poll_frequency=0.2)
    wait.until(lambda d: rows(d) and progress(d) >= 30)
    browser.set_network_conditions(offline=True, latency=0, download_throughput=-1, upload_throughput=-1)
    wait.until(lambda d: rows(d)[0].get_attribute("data-state") == "waiting")  # it noticed, and waits to retry
    assert "connection lost" in rows(browser)[0].find_element(By.CLASS_NAME, "detail").text
    cut_at = progress(browser)
    time.sleep(4)
    assert rows(browser)[0].get_attribute("data-state") == "waiting" and progress(browser) == cut_at  # nothing got through
    browser.set_network_conditions(offline=False, latency=0, download_throughput=-1, upload_throughput=-1)
    wait.until(lambda d: rows(d)[0].get_attribute("data-job-id"))
    job_id = rows(browser)[0].get_attribute("data-job-id")
    assert rows(browser)[0].get_attribute("data-state") in ("queued", "processing", "succeeded")
    assert raw_blob_md5(stack, job_id) == md5(big_file)
    assert [j["jobId"] for j in stack.jobs()] == [job_id]
    # It went on from where the server stood, not from zero: each byte arrived once.
    assert bytes_received(stack) <= SIZE + CHUNK, (bytes_received(stack), SIZE)
    assert browser.execute_script("return localStorage.getItem('mediapipeline.resumable')") == "{}"


def test_a_reload_mid_upload_resumes_instead_of_starting_over(make_stack, browser, big_file):  # noqa: F811
    stack = make_stack()
    sign_in(browser, stack)
    browser.find_element(By.ID, "file-input").send_keys(str(big_file))
    wait = WebDriverWait(browser, 300, poll_frequency=0.2)
    wait.until(lambda d: rows(d) and progress(d) >= 40)
    browser.refresh()
    # The page lists the interrupted upload; choosing the same file again resumes it.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs .job.paused"))
    before = bytes_received(stack)
    assert before >= 0.3 * SIZE, before
    browser.find_element(By.ID, "file-input").send_keys(str(big_file))
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#jobs .job.paused"))  # its row took the paused one's place
    wait.until(lambda d: rows(d)[0].get_attribute("data-job-id"))
    job_id = rows(browser)[0].get_attribute("data-job-id")
    # Each byte arrived once: after the reload, only what was missing (a restart would count
    # what came before the reload twice).
    after = bytes_received(stack)
    assert after <= SIZE + CHUNK, (after, before, SIZE)
    # The page asked the server where the upload stood (HEAD) and went on from there: at least
    # the pieces the server had confirmed (plus what it kept of the one the reload cut off).
    resumed_at = int(rows(browser)[0].get_attribute("data-resumed-at") or 0)
    assert resumed_at >= before, (resumed_at, before)
    assert after - before <= SIZE - resumed_at + CHUNK, (after, before, resumed_at)
    assert raw_blob_md5(stack, job_id) == md5(big_file)
    assert [j["jobId"] for j in stack.jobs()] == [job_id]


def test_cancel_ends_the_upload_on_the_server(make_stack, browser, big_file):  # noqa: F811
    stack = make_stack()
    sign_in(browser, stack)
    browser.find_element(By.ID, "file-input").send_keys(str(big_file))
    wait = WebDriverWait(browser, 300, poll_frequency=0.2)
    wait.until(lambda d: rows(d) and progress(d) >= 10)
    assert [b for b in stack.raw_blobs() if b.name.startswith("_uploads/")]  # the upload's state, in storage
    rows(browser)[0].find_element(By.CSS_SELECTOR, "button.cancel").click()
    wait.until(lambda d: rows(d)[0].get_attribute("data-state") == "cancelled")
    # The DELETE has been answered before the page says so: the state is gone already.
    assert not [b for b in stack.raw_blobs() if b.name.startswith("_uploads/")]
    assert browser.execute_script("return localStorage.getItem('mediapipeline.resumable')") == "{}"
    assert stack.jobs() == []

    # An upload interrupted by a reload can be cancelled from its paused row, without the file.
    browser.find_element(By.ID, "file-input").send_keys(str(big_file))
    wait.until(lambda d: rows(d)[0].get_attribute("data-state") == "uploading" and progress(d) >= 10)
    browser.refresh()
    paused = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs .job.paused"))[0]
    assert [b for b in stack.raw_blobs() if b.name.startswith("_uploads/")]
    paused.find_element(By.CSS_SELECTOR, "button.cancel").click()
    wait.until(lambda d: rows(d)[0].get_attribute("data-state") == "cancelled")
    assert not [b for b in stack.raw_blobs() if b.name.startswith("_uploads/")]
    assert browser.execute_script("return localStorage.getItem('mediapipeline.resumable')") == "{}"
    assert stack.jobs() == []
