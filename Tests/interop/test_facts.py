"""Facts in the status document (issue 17 item 1), end to end through the uploader and the processor
daemon: a phone-like JPEG made here with Pillow (make, model, DateTimeOriginal + OffsetTimeOriginal,
GPS, orientation 6), an animated GIF, and a clip made with the ffmpeg CLI (H.264 + stereo AAC,
creation time and a location tag). Checks `media`, that no location survives anywhere in the outputs,
and the ThumbHash placeholders on the image outputs and the poster (decoded here from the published
format: the header's average colour against `averageColor`, the factor count against the length)."""
import base64
import io
import json
import subprocess
import urllib.request

from PIL import Image

from conftest import wait_until
from test_processor import check_invariant, finished, job_status, upload

GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def phone_jpeg(path):
    """640×320 stored (left red, right blue), EXIF orientation 6: displayed 320×640."""
    image = Image.new("RGB", (640, 320), (40, 40, 200))
    image.paste((210, 40, 40), (0, 0, 320, 320))
    exif = Image.Exif()
    exif[0x010F] = "FactsCam"
    exif[0x0110] = "Model 17"
    exif[0x0112] = 6
    exif.get_ifd(EXIF_IFD).update({0x9003: "2024:05:01 12:34:56", 0x9011: "+02:00"})
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    image.save(path, "JPEG", quality=92, exif=exif.tobytes())
    # Pillow wrote what the test claims it wrote.
    written = Image.open(path).getexif()
    assert written[0x0112] == 6 and written.get_ifd(GPS_IFD)[1] == "N"


def thumbhash_facts(hash64):
    """(average #rrggbb, approximate aspect ratio) of a ThumbHash, after checking its length holds
    exactly the factors its header announces (the published layout)."""
    h = base64.b64decode(hash64, validate=True)
    assert 5 <= len(h) <= 25, len(h)
    header24 = h[0] | h[1] << 8 | h[2] << 16
    header16 = h[3] | h[4] << 8
    has_alpha, landscape = header24 >> 23, header16 >> 15
    long, short = (5 if has_alpha else 7), header16 & 7
    lx, ly = max(3, long if landscape else short), max(3, short if landscape else long)
    count = sum(1 for cy in range(ly) for cx in range(0 if cy else 1, 99) if cx * ly < lx * (ly - cy))
    count += 10 + (14 if has_alpha else 0)  # P and Q: 5 each; alpha 5×5 less DC
    assert len(h) == (6 if has_alpha else 5) + (count + 1) // 2, (len(h), count)
    l, p, q = (header24 & 63) / 63, ((header24 >> 6) & 63) / 31.5 - 1, ((header24 >> 12) & 63) / 31.5 - 1
    b = l - 2 / 3 * p
    r = (3 * l - b + q) / 2
    rgb = [round(255 * max(0, min(1, v))) for v in (r, r - q, b)]
    return rgb, (long / short if landscape else short / long)


def colour(hex_colour):
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


def check_placeholder(output, expect_landscape):
    assert output["averageColor"].startswith("#") and len(output["averageColor"]) == 7, output
    average, ratio = thumbhash_facts(output["thumbHash"])
    # The header's DC terms are 6-bit: within a few levels of the exact average.
    assert all(abs(a - b) <= 12 for a, b in zip(average, colour(output["averageColor"]))), (average, output["averageColor"])
    assert (ratio > 1) == expect_landscape, (ratio, output)


def fetch(output):
    return urllib.request.urlopen(output["url"]).read()


def riff_chunks(webp):
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    chunks, offset = [], 12
    while offset + 8 <= len(webp):
        size = int.from_bytes(webp[offset + 4:offset + 8], "little")
        chunks.append(webp[offset:offset + 4].decode())
        offset += 8 + size + (size & 1)
    return chunks


def run(stack, path, timeout=120):
    job_id = upload(stack, path)
    wait_until(lambda: finished(stack, job_id), timeout=timeout, interval=0.3, message="the job")
    status = job_status(stack, job_id)
    assert status["status"] == "succeeded", status
    return job_id, status


def test_a_phone_jpeg_reports_its_facts_and_loses_its_location(make_stack, tmp_path):
    stack = make_stack(processor={})
    path = tmp_path / "phone.jpg"
    phone_jpeg(path)
    job_id, status = run(stack, path)
    media = status["media"]
    assert media == {
        "format": "jpeg", "width": 320, "height": 640, "orientation": 6, "orientationApplied": True, "colorSpace": "sRGB",
        "iccConverted": False, "bitDepth": 8, "frameCount": 1, "captureTime": "2024-05-01T12:34:56+02:00",
        "cameraMake": "FactsCam", "cameraModel": "Model 17", "locationRemoved": True, "audioCodec": None}, media

    # No location anywhere: not in the status document, not in any output's bytes or metadata.
    document = json.dumps(status)
    assert "GPS" not in document and "48.8" not in document and "51, 24" not in document
    outputs = {o["name"]: o for o in status["outputs"]}
    assert set(outputs) >= {"image.webp", "thumb.webp"}, outputs
    for name, output in outputs.items():
        data = fetch(output)
        assert b"Exif" not in data and b"FactsCam" not in data and b"Model 17" not in data, name
        if output["contentType"] == "image/webp":
            assert not {"EXIF", "XMP "} & set(riff_chunks(data)), (name, riff_chunks(data))
        picture = Image.open(io.BytesIO(data))
        assert not picture.getexif(), name
        assert picture.size == (output["width"], output["height"])
        check_placeholder(output, expect_landscape=False)  # turned upright: portrait
        # The placeholder's average is the picture's: half red, half blue.
        red, green, blue = colour(output["averageColor"])
        assert red > 90 and blue > 90 and green < 70, output["averageColor"]
    assert outputs["image.webp"]["thumbHash"] == outputs["thumb.webp"]["thumbHash"]
    check_invariant(stack, [job_id])


def test_an_animated_gif_counts_its_frames(make_stack, tmp_path):
    stack = make_stack(processor={})
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (64, 48), c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    _, status = run(stack, path)
    media = status["media"]
    assert media["format"] == "gif" and media["frameCount"] == 3 and abs(media["durationSeconds"] - 0.3) < 0.011, media
    assert (media["width"], media["height"]) == (64, 48) and media["locationRemoved"] is False and "captureTime" not in media
    main = status["outputs"][0]
    check_placeholder(main, expect_landscape=True)
    assert colour(main["averageColor"])[0] > 150, main  # the first frame, red


def ffprobe(path):
    result = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_a_clip_reports_frames_codecs_audio_and_bit_rates(make_stack, tmp_path):
    stack = make_stack(processor={})
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-ac", "2",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-b:v", "300k", "-c:a", "aac", "-b:a", "96k",
         "-metadata", "creation_time=2024-05-01T12:34:56Z", "-metadata", "location=+48.8566+002.3522/", str(clip)],
        check=True, timeout=120)
    source = ffprobe(clip)
    assert source["format"]["tags"].get("location"), source["format"]  # the fixture has a location
    job_id, status = run(stack, clip, timeout=300)
    media = status["media"]
    assert media["videoCodec"] == "h264" and media["audioCodec"] == "aac", media
    assert media["frameCount"] == 50, media  # 2 s at 25 fps, every frame decoded
    assert media["audioChannels"] == 2 and media["audioSampleRate"] == 48000, media
    video = next(s for s in source["streams"] if s["codec_type"] == "video")
    audio = next(s for s in source["streams"] if s["codec_type"] == "audio")
    assert media["videoBitRate"] == int(video["bit_rate"]) and media["audioBitRate"] == int(audio["bit_rate"]), media
    assert 20_000 < media["videoBitRate"] < 1_000_000 and 50_000 < media["audioBitRate"] < 150_000, media
    assert media["bitDepth"] == 8 and media["hdrTransfer"] == "none" and media["toneMapped"] is False, media
    assert media["captureTime"].startswith("2024-05-01T12:34:56"), media
    assert media["locationRemoved"] is True, media
    assert "GPS" not in json.dumps(status) and "48.8566" not in json.dumps(status)

    outputs = {o["name"]: o for o in status["outputs"]}
    check_placeholder(outputs["poster.webp"], expect_landscape=True)
    for name in ("video.mp4", "storyboard.webp", "storyboard.vtt"):
        assert "thumbHash" not in outputs.get(name, {}) and "averageColor" not in outputs.get(name, {}), name
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes(fetch(outputs["video.mp4"]))
    assert "location" not in ffprobe(mp4)["format"].get("tags", {})
    check_invariant(stack, [job_id])


def test_processor_process_prints_the_image_facts(tmp_path):
    """`processor process` (the one-shot CLI) reports the same facts under `image`."""
    import os
    from conftest import ROOT
    path = tmp_path / "phone.jpg"
    phone_jpeg(path)
    binary = os.environ.get("PROCESSOR_BIN", os.path.join(ROOT, ".build/debug/processor"))
    result = subprocess.run([binary, "process", str(path), "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["image"]["orientation"] == 6 and report["image"]["locationRemoved"] is True, report
    assert report["image"]["captureTime"] == "2024-05-01T12:34:56+02:00" and (report["width"], report["height"]) == (320, 640), report
