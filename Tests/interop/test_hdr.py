"""HDR to SDR (issue 17, item 5): PQ and HLG 10-bit HEVC clips, made here with the ffmpeg CLI (libx265,
tagged BT.2020 / SMPTE ST 2084 or ARIB STD-B67 / BT.2020 NCL), through `processor process` and through
the service. The outputs must be 8-bit H.264 tagged BT.709 whose grey is SDR's grey.

What "mid-grey stays mid-grey" means here (ITU-R BT.2408): the 18 % grey card is shown at 26 cd/m² on
an HDR display (HLG 38 %, PQ 38 %) and HDR reference white at 203 cd/m² (HLG 75 %, PQ 58 %). Converted
to SDR with reference white at SDR white, the grey card is 26/203 = 12.8 % of SDR white in display
light, i.e. a BT.1886 (γ 2.4) code of 0.128^(1/2.4) = 42.5 %: 8-bit limited-range luma 16 + 219 × 0.425
≈ 109 — what an SDR camera records for the same card (the BT.709 OETF of 0.18 shown on a BT.1886
display). `expected_grey_luma` derives it from the fixture's code value through the HLG/PQ EOTFs.
Tolerance ±4 luma codes (≈ 2 % of the range): x265, x264 and zimg's rounding of a flat field stay
within 1–2 codes; the untouched path it replaces gives 99 for the same grey (the 38 % code read as
BT.709), and the common `npl=100` + Hable recipe gives 99 too (its toe darkens mid-tones).

Reference white must land high in SDR but below its white, leaving room for the highlights the curve
rolls off (HLG's 1000 cd/m² peak, PQ's declared peak): 82–95 % (luma 196–224). The untouched path
gives 180 (HLG) and 143 (PQ).
"""
import json
import math
import os
import struct
import subprocess

import pytest
from PIL import Image, ImageStat

from conftest import wait_until
from test_video import (VIDEO_OUTPUTS, check_mp4, check_poster, check_transcode, ffmpeg, probe, run, service_settings, set_display_rotation, streams,
                        tile, vtt_cues)

WIDTH, HEIGHT, FPS, SECONDS = 320, 240, 25, 2
GREY_CODE = 0.38  # the 18 % grey card: HLG 38 %, PQ 38 % (BT.2408 table 1)
WHITE_CODE = {"hlg": 0.75, "pq": 0.58}  # HDR reference white, 203 cd/m²
TRC = {"hlg": "arib-std-b67", "pq": "smpte2084"}
GREY_TOLERANCE = 4
WHITE_RANGE = (196, 224)
REFERENCE_WHITE_NITS = 203.0


# ---- the standard curves -------------------------------------------------------------------------

def pq_nits(code):
    """SMPTE ST 2084 EOTF: a PQ code (0…1) to cd/m²."""
    m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = code ** (1 / m2)
    return 10000 * (max(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)


def hlg_nits(code, peak=1000.0):
    """BT.2100 HLG EOTF for a grey (R = G = B) on the nominal 1000 cd/m² display: inverse OETF, then
    the OOTF with system gamma 1.2."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    scene = code * code / 3 if code <= 0.5 else (math.exp((code - c) / a) + b) / 12
    return peak * scene ** 1.2


def nits(transfer, code):
    return hlg_nits(code) if transfer == "hlg" else pq_nits(code)


def expected_grey_luma(transfer):
    """SDR luma of an HDR grey, BT.2408's display-light mapping (reference white = SDR white), BT.1886."""
    relative = nits(transfer, GREY_CODE) / REFERENCE_WHITE_NITS
    return 16 + 219 * relative ** (1 / 2.4)


def test_the_fixture_levels_are_bt2408s():
    assert abs(hlg_nits(0.75) - 203) < 2 and abs(pq_nits(0.58) - 203) < 5
    assert abs(hlg_nits(GREY_CODE) - 26) < 1 and abs(pq_nits(GREY_CODE) - 26) < 2
    assert all(abs(expected_grey_luma(t) - 109) < 1.5 for t in TRC)


# ---- fixtures ------------------------------------------------------------------------------------

def ten_bit_field(transfer):
    """One yuv420p10le frame: the left half the grey card, the right half reference white; neutral chroma."""
    def luma(code):
        return struct.pack("<H", round(64 + 876 * code))
    row = luma(GREY_CODE) * (WIDTH // 2) + luma(WHITE_CODE[transfer]) * (WIDTH // 2)
    chroma = struct.pack("<H", 512) * (WIDTH * HEIGHT // 4)
    return row * HEIGHT + chroma + chroma


def hdr_clip(path, transfer, codec=("libx265", "-x265-params", "log-level=error")):
    frame = ten_bit_field(transfer)
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{WIDTH}x{HEIGHT}",
               "-r", str(FPS), "-i", "-", "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}", "-c:v", codec[0], *codec[1:], "-preset", "ultrafast",
               "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", TRC[transfer], "-colorspace", "bt2020nc",
               "-color_range", "tv", "-c:a", "aac", "-shortest", str(path)]
    result = subprocess.run(command, input=frame * (FPS * SECONDS), capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    stream = streams(probe(path), "video")[0]
    assert (stream["pix_fmt"], stream["color_primaries"], stream["color_transfer"], stream["color_space"]) == \
        ("yuv420p10le", "bt2020", TRC[transfer], "bt2020nc"), stream
    return path


def sdr_clip(path):
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={WIDTH}x{HEIGHT}:r={FPS}:d={SECONDS}", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", path)
    return path


@pytest.fixture(scope="module")
def hdr_clips(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hdr")
    return {t: hdr_clip(directory / f"{t}.mp4", t) for t in TRC} | {"sdr": sdr_clip(directory / "sdr.mp4")}


# ---- measuring -----------------------------------------------------------------------------------

def middle_luma(path, seconds=SECONDS / 2):
    """The decoded luma plane (8-bit) of the frame at `seconds`, as (width, height, bytes)."""
    info = streams(probe(path), "video")[0]
    width, height = info["width"], info["height"]
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-noautorotate", "-ss", str(seconds), "-i", str(path), "-frames:v", "1",
                             "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return width, height, result.stdout


def region_mean(width, plane, box):
    left, top, right, bottom = box
    values = [plane[y * width + x] for y in range(top, bottom) for x in range(left, right)]
    return sum(values) / len(values)


def halves(width, height):
    """The centres of the left and right halves (away from the edge between them)."""
    return (width // 8, height // 4, 3 * width // 8, 3 * height // 4), (5 * width // 8, height // 4, 7 * width // 8, 3 * height // 4)


def check_sdr_tags(video):
    stream = streams(video, "video")[0]
    assert stream["codec_name"] == "h264" and stream["pix_fmt"] == "yuv420p", stream
    assert (stream.get("color_primaries"), stream.get("color_transfer"), stream.get("color_space"), stream.get("color_range")) == \
        ("bt709", "bt709", "bt709", "tv"), stream
    assert stream.get("bits_per_raw_sample", "8") == "8", stream


def check_grey_and_white(transfer, grey, white, what):
    expected = expected_grey_luma(transfer)
    assert abs(grey - expected) <= GREY_TOLERANCE, f"{what}: grey card {grey:.1f}, expected {expected:.1f} ± {GREY_TOLERANCE}"
    assert WHITE_RANGE[0] <= white <= WHITE_RANGE[1], f"{what}: reference white {white:.1f}, expected within {WHITE_RANGE}"


def luma_of(rgb):
    """BT.709 limited-range luma of a full-range RGB mean (the poster is RGB)."""
    r, g, b = rgb
    return 16 + 219 / 255 * (0.2126 * r + 0.7152 * g + 0.0722 * b)


# ---- one-shot ------------------------------------------------------------------------------------

@pytest.mark.parametrize("transfer", list(TRC))
def test_hdr_clips_become_bt709_sdr_with_grey_kept(tmp_path, hdr_clips, transfer):
    source = hdr_clips[transfer]
    samples = {"everySeconds": 1, "maxCount": 2, "maxSize": 160, "quality": 90}
    result = run(tmp_path, source, profile={"video": {"frameSamples": samples}})
    assert result.code == 0, result.stderr[-3000:]
    directory = result.out / source.stem
    video = check_mp4(directory / "video.mp4", source)
    poster = check_poster(directory / "poster.webp", video)
    check_sdr_tags(video)
    line = result.lines[0]
    assert line["outputs"] == {name: os.path.getsize(directory / name) for name in VIDEO_OUTPUTS + ["frames.zip"]}, line["outputs"]
    media = line["media"]
    assert (media["hdrTransfer"], media["toneMapped"], media["bitDepth"]) == (transfer, True, 10), media
    assert line["timings"].get("toneMap", 0) > 0, line["timings"]

    width, height, frame = middle_luma(directory / "video.mp4")
    grey_box, white_box = halves(width, height)
    grey, white = region_mean(width, frame, grey_box), region_mean(width, frame, white_box)
    print(f"{transfer}: video.mp4 grey card {grey:.1f} (expected {expected_grey_luma(transfer):.1f}), reference white {white:.1f}")
    check_grey_and_white(transfer, grey, white, "video.mp4")
    # Neutral stays neutral: the chroma planes are at 128.
    chroma = frame[width * height:]
    assert abs(sum(chroma) / len(chroma) - 128) < 2

    # The poster, the storyboard and the frame samples come from the same tone-mapped pictures.
    stills = {"poster": poster, "storyboard": Image.open(directory / "storyboard.webp").convert("RGB")}
    import io
    import zipfile
    with zipfile.ZipFile(directory / "frames.zip") as archive:
        stills["frame sample"] = Image.open(io.BytesIO(archive.read("frame-0001.webp"))).convert("RGB")
    stills["storyboard"] = tile(stills["storyboard"], vtt_cues((directory / "storyboard.vtt").read_text())[0])
    for what, image in stills.items():
        w, h = image.size
        grey_box, white_box = halves(w, h)
        grey_rgb, white_rgb = ImageStat.Stat(image.crop(grey_box)).mean, ImageStat.Stat(image.crop(white_box)).mean
        assert max(grey_rgb) - min(grey_rgb) < 4, (what, grey_rgb)  # still grey, not tinted
        print(f"{transfer}: {what} grey card RGB {[round(v, 1) for v in grey_rgb]}, reference white RGB {[round(v, 1) for v in white_rgb]}")
        check_grey_and_white(transfer, luma_of(grey_rgb), luma_of(white_rgb), what)


def test_an_sdr_clip_builds_no_filter_graph_and_says_so(tmp_path, hdr_clips):
    source = hdr_clips["sdr"]
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    video, _, line = check_transcode(result, source)
    check_sdr_tags(video)
    media = line["media"]
    assert media["hdrTransfer"] is None and media["toneMapped"] is False and media["bitDepth"] == 8, media
    # The tone-mapping stage's timing exists only when a filter graph was built.
    assert "toneMap" not in line["timings"], line["timings"]


def test_a_turned_and_scaled_hlg_clip_keeps_its_grey_where_it_belongs(tmp_path, hdr_clips):
    # A phone's portrait clip (display matrix: 90° clockwise), scaled into a 160×160 box: the tone
    # mapping comes first, then the scaler and the rotation in today's order, so the grey card (the
    # stored frame's left half) ends up on top, and the output is 120×160.
    source = tmp_path / "portrait.mp4"
    source.write_bytes(hdr_clips["hlg"].read_bytes())
    set_display_rotation(source, 90)
    tiers = [{"maxInputBytes": None, "maxWidth": 160, "maxHeight": 160, "crf": 23, "preset": "veryfast"}]
    result = run(tmp_path, source, profile={"video": {"tiers": tiers}})
    assert result.code == 0, result.stderr[-3000:]
    video, _, line = check_transcode(result, source, tiers, rotation=90)
    check_sdr_tags(video)
    assert (line["width"], line["height"]) == (120, 160) and line["media"]["toneMapped"] is True, line
    width, height, frame = middle_luma(result.out / "portrait" / "video.mp4")
    top = region_mean(width, frame, (width // 4, height // 8, 3 * width // 4, 3 * height // 8))
    bottom = region_mean(width, frame, (width // 4, 5 * height // 8, 3 * width // 4, 7 * height // 8))
    check_grey_and_white("hlg", top, bottom, "portrait video.mp4")


def test_an_odd_sized_vp9_hlg_clip_is_tone_mapped_too(tmp_path):
    # zimg takes no odd-sized 4:2:0 picture: a 321×241 VP9 profile 2 clip (libvpx codes odd sizes;
    # x265 and x264 round them) goes through 4:4:4 in the graph. The grey field must come out grey.
    width, height = 321, 241
    chroma = ((width + 1) // 2) * ((height + 1) // 2)
    frame = struct.pack("<H", round(64 + 876 * GREY_CODE)) * (width * height) + struct.pack("<H", 512) * (2 * chroma)
    source = tmp_path / "odd.mkv"
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{width}x{height}", "-r", "10",
               "-i", "-", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p10le",
               "-color_primaries", "bt2020", "-color_trc", TRC["hlg"], "-colorspace", "bt2020nc", str(source)]
    made = subprocess.run(command, input=frame * 10, capture_output=True, timeout=300)
    assert made.returncode == 0, made.stderr.decode(errors="replace")[-2000:]
    assert (streams(probe(source), "video")[0]["width"], streams(probe(source), "video")[0]["height"]) == (width, height)
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    assert result.lines[0]["media"]["toneMapped"] is True, result.lines[0]
    video = check_mp4(result.out / "odd" / "video.mp4", source)
    check_sdr_tags(video)
    w, h, plane = middle_luma(result.out / "odd" / "video.mp4", seconds=0.5)
    grey = region_mean(w, plane, (w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    assert abs(grey - expected_grey_luma("hlg")) <= GREY_TOLERANCE, grey


# ---- the service ---------------------------------------------------------------------------------

def test_end_to_end_the_status_says_the_source_was_hdr(make_stack, tmp_path, hdr_clips):
    from test_processor import finished, job_status, upload
    _, _, settings = service_settings(tmp_path)
    stack = make_stack(processor=settings)
    jobs = {name: upload(stack, hdr_clips[name]) for name in ("pq", "sdr")}
    for job_id in jobs.values():
        wait_until(lambda: finished(stack, job_id), timeout=300, interval=0.5, message=f"job {job_id}")
    pq, sdr = job_status(stack, jobs["pq"]), job_status(stack, jobs["sdr"])
    assert pq["status"] == sdr["status"] == "succeeded", (pq, sdr)
    assert (pq["media"]["hdrTransfer"], pq["media"]["toneMapped"], pq["media"]["bitDepth"]) == ("pq", True, 10), pq["media"]
    assert (sdr["media"]["hdrTransfer"], sdr["media"]["toneMapped"], sdr["media"]["bitDepth"]) == ("none", False, 8), sdr["media"]
    assert "toneMap" in pq["timings"] and "toneMap" not in sdr["timings"], (pq["timings"], sdr["timings"])
    import urllib.request
    output = next(o for o in pq["outputs"] if o["name"] == "video.mp4")
    path = tmp_path / "pq-video.mp4"
    path.write_bytes(urllib.request.urlopen(output["url"]).read())
    check_sdr_tags(probe(path))
    width, height, frame = middle_luma(path)
    grey_box, white_box = halves(width, height)
    check_grey_and_white("pq", region_mean(width, frame, grey_box), region_mean(width, frame, white_box), "service video.mp4")
