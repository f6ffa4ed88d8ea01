"""The AVIF rendition (issue 17 item 2): with `image.avif.enabled`, `processor process` and the daemon
write `image.avif` beside `image.webp` from the same pixels, and the status lists both. Decoded with
Pillow's AVIF plugin (libavif + dav1d) and checked against the WebP."""
import json
import os
import subprocess

from PIL import Image, ImageChops, ImageDraw, ImageStat

from conftest import ROOT, photos, wait_until

PROCESSOR_BIN = os.environ.get("PROCESSOR_BIN", os.path.join(ROOT, ".build/debug/processor"))
AVIF_PROFILE = {"image": {"avif": {"enabled": True, "quality": 60, "speed": 8}}}


def write_profile(tmp_path, profile=AVIF_PROFILE):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    return path


def process(tmp_path, *inputs, profile):
    out = tmp_path / "out"
    command = [PROCESSOR_BIN, "process", *map(str, inputs), "--out", str(out), "--profile", str(profile)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out, [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def mean_difference(a, b):
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def test_a_real_photo_and_a_translucent_png_get_an_avif_beside_the_webp(tmp_path):
    photo = photos(1)[0]
    png = tmp_path / "alpha.png"
    image = Image.new("RGBA", (320, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 300, 180), fill=(200, 60, 40, 255))
    draw.rectangle((120, 60, 200, 140), fill=(30, 90, 220, 128))
    image.save(png)

    out, reports = process(tmp_path, photo, png, profile=write_profile(tmp_path))
    assert len(reports) == 2
    for report in reports:
        assert {"image.webp", "image.avif", "thumb.webp"} <= set(report["outputs"]), report
        assert report["outputs"]["image.avif"] > 0

    stem = os.path.splitext(os.path.basename(photo))[0]
    webp = Image.open(out / stem / "image.webp")
    avif = Image.open(out / stem / "image.avif")
    assert avif.format == "AVIF" and avif.size == webp.size and avif.mode == "RGB"
    # Same pixels in, same picture out: a wrong matrix, range or channel order would be far off.
    assert mean_difference(avif.convert("RGB"), webp.convert("RGB")) < 4

    avif = Image.open(out / "alpha" / "image.avif")
    assert avif.size == (320, 200) and avif.mode == "RGBA"
    alpha = avif.getchannel("A")
    assert alpha.getpixel((5, 5)) < 8 and alpha.getpixel((60, 100)) > 247 and abs(alpha.getpixel((160, 100)) - 128) < 12
    assert max(abs(a - b) for a, b in zip(avif.getpixel((60, 100))[:3], (200, 60, 40))) < 12


def test_the_avif_is_tagged_bt709_srgb_for_browsers(tmp_path):
    out, _ = process(tmp_path, photos(1)[0], profile=write_profile(tmp_path))
    path = next(out.glob("*/image.avif"))
    probe = subprocess.run(["avifdec", "--info", str(path)], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    info = probe.stdout
    facts = {k.strip(" *"): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines()) if v}
    assert facts["Bit Depth"] == "8" and facts["Format"] == "YUV420" and facts["Range"] == "Full", info
    assert (facts["Color Primaries"], facts["Transfer Char."], facts["Matrix Coeffs."]) == ("1", "13", "1"), info


def test_default_profile_writes_no_avif(tmp_path):
    out, reports = process(tmp_path, photos(1)[0], profile=write_profile(tmp_path, {}))
    assert "image.avif" not in reports[0]["outputs"]
    assert not list(out.glob("*/image.avif"))


def test_the_daemon_lists_image_avif_in_the_status(make_stack, tmp_path):
    stack = make_stack(processor={"PROCESSOR_PROFILE": str(write_profile(tmp_path))})
    photo = photos(1)[0]
    status, body = stack.uploader.curl("-F", f"file=@{photo}", f"{stack.uploader.url}/upload")
    assert status == 202, body
    job_id = body["jobId"]
    wait_until(lambda: (stack.status(job_id) or {}).get("status") in ("succeeded", "failed"), timeout=180, message="job done")
    document = stack.status(job_id)
    assert document["status"] == "succeeded", document
    outputs = {o["name"]: o for o in document["outputs"]}
    assert {"image.webp", "image.avif", "thumb.webp"} <= set(outputs)
    assert outputs["image.avif"]["contentType"] == "image/avif"
    assert (outputs["image.avif"]["width"], outputs["image.avif"]["height"]) == (outputs["image.webp"]["width"], outputs["image.webp"]["height"])
    assert f"{job_id}/image.avif" in stack.processed(job_id)
