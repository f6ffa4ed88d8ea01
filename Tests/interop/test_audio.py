"""Audio-only uploads (issue 17 item 6) through the real uploader and processor: M4A (AAC), MP3,
Ogg/Opus, Ogg/Vorbis, WAV, FLAC and an MP4 whose only stream is audio, made here with the ffmpeg
CLI (a few seconds of tones), uploaded with curl -F, through tus and straight to Blob. Each becomes
`audio.m4a` (checked with ffprobe: AAC-LC, the source's duration within 0.1 s, `moov` before
`mdat`) and `waveform.png` (decoded with Pillow: the profile's size, loud where the source is loud,
a flat line where it is silent); the status names the source's codec, channels, rate and duration.
Damaged files behind an audio magic fail as `corrupt`, and the processor keeps running."""
import io
import json
import os
import subprocess
import urllib.request

import pytest
from PIL import Image

from conftest import API_KEY, Stack, wait_until
from test_video import DURATION_TOLERANCE, boxes, ffmpeg, probe, streams
from test_webpage import browser  # noqa: F401 (the headless Chromium fixture)

# The built-in profile's `audio` section.
AUDIO = {"bitRate": 128000, "sampleRate": 48000, "channels": 2, "waveform": {"width": 1024, "height": 160}}
SECONDS = 3
# Two tones for 2 s (stereo, 44.1 kHz), then 1 s of silence: the waveform's last third is flat.
TONES = ["-f", "lavfi", "-i", "sine=f=440:r=44100:d=2", "-f", "lavfi", "-i", "sine=f=660:r=44100:d=2",
         "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo:d=1",
         "-filter_complex", "[0][1]amerge=inputs=2,volume=4[a];[a][2]concat=n=2:v=0:a=1[out]", "-map", "[out]"]

# name → (file name, encoder arguments, the source codec ffprobe names, the container the status names)
FORMATS = {
    "m4a-aac": ("tones.m4a", ["-c:a", "aac", "-b:a", "96k"], "aac", "mp4"),
    "mp3": ("tones.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"], "mp3", "mp3"),
    "ogg-opus": ("tones.opus.ogg", ["-c:a", "libopus", "-b:a", "64k", "-f", "ogg"], "opus", "ogg"),
    "ogg-vorbis": ("tones.vorbis.ogg", ["-c:a", "libvorbis", "-f", "ogg"], "vorbis", "ogg"),
    "wav": ("tones.wav", ["-c:a", "pcm_s16le"], "pcm_s16le", "wav"),
    "flac": ("tones.flac", ["-c:a", "flac"], "flac", "flac"),
    "mp4-audio-only": ("tones.mp4", ["-c:a", "aac", "-f", "mp4"], "aac", "mp4"),
}


@pytest.fixture(scope="module")
def audio_stack():
    stack = Stack(processor={})
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    directory = tmp_path_factory.mktemp("audio")
    made = {}
    for key, (name, arguments, _, _) in FORMATS.items():
        path = directory / name
        ffmpeg(*TONES, *arguments, path)
        made[key] = path
    return made


def upload(stack, path):
    status, body = stack.uploader.curl("-F", f"file=@{path}", f"{stack.uploader.url}/upload")
    assert status == 202, body
    return body["jobId"]


def finished(stack, job_id, timeout=120):
    return wait_until(lambda: (stack.status(job_id) or {}).get("status") in ("succeeded", "failed") and stack.status(job_id),
                      timeout=timeout, message=f"job {job_id} to finish")


def via_api(stack, job_id):
    request = urllib.request.Request(f"{stack.uploader.url}/jobs/{job_id}", headers={"X-API-Key": API_KEY})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def source_duration(path):
    return float(probe(path)["format"]["duration"])


def check_outputs(stack, job_id, source, tmp_path):
    """The job succeeded with audio.m4a and waveform.png as the contract says; returns the status."""
    done = finished(stack, job_id)
    assert done["status"] == "succeeded", done
    status = via_api(stack, job_id)
    outputs = {o["name"]: o for o in status["outputs"]}
    assert [o["name"] for o in status["outputs"]] == ["audio.m4a", "waveform.png"], status["outputs"]
    assert stack.processed(job_id) == [f"{job_id}/audio.m4a", f"{job_id}/waveform.png"]

    m4a = tmp_path / f"{job_id}.m4a"
    data = urllib.request.urlopen(outputs["audio.m4a"]["url"], timeout=60).read()
    m4a.write_bytes(data)
    assert outputs["audio.m4a"]["contentType"] == "audio/mp4" and outputs["audio.m4a"]["bytes"] == len(data)
    info = probe(m4a)
    assert streams(info, "video") == [] and len(info["streams"]) == 1, info["streams"]
    audio = streams(info, "audio")[0]
    assert (audio["codec_name"], audio.get("profile"), audio["sample_rate"], audio["channels"]) == \
        ("aac", "LC", str(AUDIO["sampleRate"]), AUDIO["channels"]), audio
    expected = source_duration(source)
    assert abs(float(info["format"]["duration"]) - expected) <= DURATION_TOLERANCE, (info["format"]["duration"], expected)
    assert abs(outputs["audio.m4a"]["durationSeconds"] - expected) <= DURATION_TOLERANCE, outputs["audio.m4a"]
    top = [kind for kind, *_ in boxes(data)]
    assert top[0] == b"ftyp" and data[8:12] == b"M4A ", top
    assert top.index(b"moov") < top.index(b"mdat"), f"fast start: moov before mdat, got {top}"

    png = urllib.request.urlopen(outputs["waveform.png"]["url"], timeout=60).read()
    assert outputs["waveform.png"]["contentType"] == "image/png" and outputs["waveform.png"]["bytes"] == len(png)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA"
    width, height = AUDIO["waveform"]["width"], AUDIO["waveform"]["height"]
    assert image.size == (width, height) == (outputs["waveform.png"]["width"], outputs["waveform.png"]["height"])
    alpha = image.getchannel("A")
    painted = [sum(1 for y in range(height) if alpha.getpixel((x, y)) > 0) for x in range(width)]
    loud_end = int(width * 2 / SECONDS)
    assert min(painted[8:loud_end - 8]) > height // 4, painted[:loud_end]
    # Silence is the middle line (a lossy codec's near-silence may reach the row beside it).
    assert max(painted[loud_end + 8:width - 4]) <= 2, painted[loud_end:]
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((width - 1, height - 1)) == 0, "a transparent background"
    colours = {image.getpixel((x, y))[:3] for x in range(0, width, 7) for y in range(height) if alpha.getpixel((x, y)) > 0}
    assert len(colours) == 1, colours
    return status


@pytest.mark.parametrize("key", list(FORMATS))
def test_an_audio_upload_becomes_an_m4a_and_a_waveform(audio_stack, sources, tmp_path, key):
    source = sources[key]
    job_id = upload(audio_stack, source)
    status = check_outputs(audio_stack, job_id, source, tmp_path)
    _, _, codec, container = FORMATS[key]
    src_audio = streams(probe(source), "audio")[0]
    media = status["media"]
    assert media["audioCodec"] == codec == src_audio["codec_name"], media
    assert media["container"] == container, media
    assert media["audioChannels"] == src_audio["channels"] == 2 and media["audioSampleRate"] == int(src_audio["sample_rate"]), media
    assert abs(media["durationSeconds"] - source_duration(source)) <= DURATION_TOLERANCE, media
    assert media.get("bitRate", 1) > 0
    assert "videoCodec" not in media and "width" not in media and "height" not in media, media
    expected_type = "video/mp4" if key == "mp4-audio-only" else {"m4a-aac": "audio/mp4", "mp3": "audio/mpeg", "wav": "audio/wav",
                                                                  "flac": "audio/flac"}.get(key, "audio/ogg")
    assert status["input"]["mediaType"] == expected_type, status["input"]


def test_an_mp4_song_with_cover_art_is_audio_not_a_still_video(audio_stack, sources, tmp_path):
    """An `isom` MP4 whose only moving stream is audio, with the album cover as an attached picture
    (a second, one-frame video stream): the audio pipeline's, not a video of the cover."""
    covered = tmp_path / "covered.mp4"
    ffmpeg("-i", sources["m4a-aac"], "-f", "lavfi", "-i", "color=c=red:s=64x64:d=1", "-map", "0:a", "-map", "1:v",
           "-frames:v", "1", "-c:a", "copy", "-c:v", "mjpeg", "-disposition:v:0", "attached_pic", "-f", "mp4", covered)
    kinds = [(s["codec_type"], s.get("disposition", {}).get("attached_pic")) for s in probe(covered)["streams"]]
    assert kinds == [("audio", 0), ("video", 1)], kinds
    assert covered.read_bytes()[8:12] == b"isom"
    job_id = upload(audio_stack, covered)
    status = check_outputs(audio_stack, job_id, covered, tmp_path)
    assert status["input"]["mediaType"] == "video/mp4" and status["media"]["audioCodec"] == "aac", status
    assert "videoCodec" not in status["media"], status["media"]


def test_resumable_and_direct_uploads_take_audio_too(audio_stack, sources, tmp_path):
    from test_tus import create, patch, request
    source = sources["flac"]
    data = source.read_bytes()
    location = create(audio_stack.uploader, len(data))
    half = len(data) // 2
    for offset, chunk in ((0, data[:half]), (half, data[half:])):
        status, _, body = patch(audio_stack.uploader, location, offset, chunk)
        assert status == 204, (status, body)
    status, headers, _ = request(audio_stack.uploader, "HEAD", location)
    assert status == 200 and headers["upload-offset"] == str(len(data)), headers
    check_outputs(audio_stack, headers["x-job-id"], source, tmp_path)

    from test_direct_upload import complete, grant
    mp3 = sources["mp3"]
    put = grant(audio_stack, fileName="tones.mp3", size=mp3.stat().st_size)
    result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "x-ms-blob-type: BlockBlob",
                             "--data-binary", f"@{mp3}", put["uploadUrl"]], capture_output=True, text=True, timeout=120)
    assert result.stdout == "201", result.stderr
    status, accepted = complete(audio_stack, put["jobId"])
    assert status == 202 and accepted["input"]["mediaType"] == "audio/mpeg", accepted
    check_outputs(audio_stack, put["jobId"], mp3, tmp_path)


def test_damaged_audio_fails_as_corrupt_and_the_processor_goes_on(audio_stack, sources, tmp_path):
    m4a = sources["m4a-aac"].read_bytes()
    flac = sources["flac"].read_bytes()
    cases = {
        # The FLAC signature and then noise.
        "noise.flac": b"fLaC" + bytes((i * 7919 + 13) % 251 for i in range(20000)),
        # An M4A cut inside its header: the ftyp box and the start of what follows.
        "cut.m4a": m4a[:600],
        # A FLAC file's metadata blocks and then noise where its frames were.
        "frames-noise.flac": flac[:8192] + bytes((i * 31 + 7) % 256 for i in range(40000)),
        # An ID3 tag's header and then noise: no MPEG audio frame anywhere.
        "id3-noise.mp3": sources["mp3"].read_bytes()[:10] + bytes((i * 7919 + 13) % 251 for i in range(20000)),
        # A WAV's RIFF header alone.
        "riff-only.wav": sources["wav"].read_bytes()[:12],
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        job_id = upload(audio_stack, path)
        done = finished(audio_stack, job_id)
        assert done["status"] == "failed" and done["error"]["code"] == "corrupt", (name, done)
        assert done["error"]["reason"], done
        assert audio_stack.processed(job_id) == []
    assert audio_stack.processor.process.poll() is None, "the processor is still running"


def test_the_page_plays_the_m4a_and_shows_the_waveform(audio_stack, sources, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(audio_stack.uploader.url + "/")
    wait = WebDriverWait(browser, 120)
    wait.until(lambda d: d.find_element(By.ID, "api-key")).send_keys(API_KEY)
    browser.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait.until(lambda d: not d.find_element(By.ID, "key-form").is_displayed())
    browser.find_element(By.ID, "file-input").send_keys(str(sources["mp3"]))
    row = wait.until(lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#jobs .job") if r.get_attribute("data-state") == "succeeded"])[0]
    player = wait.until(lambda d: row.find_element(By.CSS_SELECTOR, ".previews audio"))
    # The browser reads the M4A's header from its link: its duration is the source's.
    duration = wait.until(lambda d: d.execute_script("return arguments[0].readyState >= 1 && arguments[0].duration", player))
    assert abs(duration - source_duration(sources["mp3"])) <= DURATION_TOLERANCE, duration
    image = row.find_element(By.CSS_SELECTOR, ".previews img")
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image))
    assert browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", image) == \
        [AUDIO["waveform"]["width"], AUDIO["waveform"]["height"]]
    if os.environ.get("AUDIO_PAGE_SCREENSHOT"):
        browser.save_screenshot(os.environ["AUDIO_PAGE_SCREENSHOT"])
