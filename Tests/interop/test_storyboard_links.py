"""The storyboard's WebVTT names its sheet relatively (`storyboard.webp#xywh=…`): resolved against a
signed output link, that reference keeps the path and loses the signature, so a player fetching the
sheet gets 401 (proxy links) or 403 (SAS). The uploader serves a job's cues itself, with each cue
pointing at the sheet's own signed link, in both link modes; a player (no API key) opens every
cue's sheet."""
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import API_KEY, photos, status_name

CUES = ("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.webp#xywh=0,0,160,90\n\n"
        "00:00:02.000 --> 00:00:03.500\nstoryboard.webp#xywh=160,0,160,90\n")


def get(url):
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize("links", ["proxy", "sas"])
def test_storyboard_cues_point_at_the_signed_sheet(make_stack, links):
    stack = make_stack(UPLOADER_LINKS=links)
    status, body = stack.uploader.curl("-F", f"file=@{photos(1)[0]}", f"{stack.uploader.url}/upload")
    assert status == 202, body
    job_id = body["jobId"]
    # Play the processor: the storyboard's two outputs and a succeeded status document.
    sheet = open(photos(2)[1], "rb").read()
    outputs = []
    for name, content_type, data in [("storyboard.webp", "image/webp", sheet), ("storyboard.vtt", "text/vtt", CUES.encode())]:
        stack.blobs.get_blob_client("processed", f"{job_id}/{name}").upload_blob(data, overwrite=True)
        outputs.append({"name": name, "contentType": content_type, "bytes": len(data), "container": "processed", "blob": f"{job_id}/{name}"})
    status_blob = stack.blobs.get_blob_client("jobstatus", status_name(job_id))
    document = json.loads(status_blob.download_blob().readall())
    document.update(status="succeeded", outputs=outputs)
    status_blob.upload_blob(json.dumps(document), overwrite=True)

    status, job = stack.uploader.curl(f"{stack.uploader.url}/jobs/{job_id}")
    assert status == 200, job
    urls = {output["name"]: output["url"] for output in job["outputs"]}
    # The cues come from the uploader in both modes; the sheet's link is the mode's.
    assert urls["storyboard.vtt"].startswith(f"/jobs/{job_id}/outputs/storyboard.vtt?"), urls
    if links == "sas":
        assert urls["storyboard.webp"].startswith(stack.storage.blob_url) and "sig=" in urls["storyboard.webp"], urls
    # What a player does: fetch the cues, then each cue's sheet, with no key.
    status, headers, data = get(urllib.parse.urljoin(stack.uploader.url, urls["storyboard.vtt"]))
    assert status == 200 and headers["Content-Type"].startswith("text/vtt"), (status, data)
    text = data.decode()
    assert API_KEY not in text
    targets = [line for line in text.splitlines() if "#xywh=" in line]
    assert [t.split("#", 1)[1] for t in targets] == ["xywh=0,0,160,90", "xywh=160,0,160,90"]
    assert text.replace(targets[0].split("#")[0], "storyboard.webp") == CUES  # only the references changed
    vtt_url = urllib.parse.urljoin(stack.uploader.url, urls["storyboard.vtt"])
    for target in targets:
        link = urllib.parse.urljoin(vtt_url, target.split("#", 1)[0])
        status, _, fetched = get(link)
        assert status == 200 and fetched == sheet, (link, status)
    # The relative reference a player would have resolved before: refused (it carries no signature).
    assert get(urllib.parse.urljoin(vtt_url, "storyboard.webp"))[0] in (401, 403)
