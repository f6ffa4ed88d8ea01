"""Streams whose format changes half-way (issue 12, item 1): every fixture is two ordinary pieces
joined with `cat` — what a phone's editor, a concatenating tool or a spliced broadcast produces —
and muxed with the ffmpeg CLI. Before the fix, the stereo→mono MP3 in an MKV killed the processor
with SIGSEGV (the resampler was set up from the first audio frame only). Each must give an output
(or a clean failure with a reason), never a signal death; the outputs are checked for what was kept:
audio over the whole duration, and pictures of the second half scaled, not garbled."""
import os

import pytest
from PIL import ImageChops, ImageStat

from test_video import check_transcode, decoded_frame, ffmpeg, probe, run, streams

SECONDS = 2  # each half


def tone(path, frequency, channels, rate, *codec):
    ffmpeg("-f", "lavfi", "-i", f"sine=f={frequency}:r={rate}:d={SECONDS}", "-ac", channels, "-ar", rate, *codec, path)


def h264(path, source, pix_fmt):
    ffmpeg("-f", "lavfi", "-i", f"{source}:r=25:d={SECONDS}", "-pix_fmt", pix_fmt, "-c:v", "libx264", "-preset", "ultrafast",
           "-bsf:v", "h264_mp4toannexb", "-f", "h264", path)


def joined(directory, name, first, second):
    path = directory / name
    path.write_bytes(first.read_bytes() + second.read_bytes())
    return path


def with_video(directory, name, audio):
    """A 4 s H.264 track beside `audio` (copied as it is), in Matroska."""
    path = directory / name
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={2 * SECONDS}", "-i", audio, "-map", "0:v", "-map", "1:a",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", path)
    return path


def with_audio(directory, name, video):
    """`video` (raw H.264 at 25 fps, copied) beside a 4 s AAC tone, in Matroska."""
    path = directory / name
    ffmpeg("-r", 25, "-i", video, "-f", "lavfi", "-i", f"sine=f=440:d={2 * SECONDS}", "-c:v", "copy", "-c:a", "aac", "-shortest", path)
    return path


def audio_change(directory, name, first, second, extension, *codec):
    a, b = directory / f"{name}-a.{extension}", directory / f"{name}-b.{extension}"
    tone(a, 440, *first, *codec)
    tone(b, 660, *second, *codec)
    return with_video(directory, f"{name}.mkv", joined(directory, f"{name}.{extension}", a, b))


def video_change(directory, name, first, second):
    a, b = directory / f"{name}-a.h264", directory / f"{name}-b.h264"
    h264(a, *first)
    h264(b, *second)
    return with_audio(directory, f"{name}.mkv", joined(directory, f"{name}.h264", a, b))


FIXTURES = {
    # MP3 frames carry their own channel mode and rate: the decoder follows them frame by frame.
    "audio-layout-stereo-to-mono": lambda d: audio_change(d, "layout", (2, 44100), (1, 44100), "mp3"),
    "audio-layout-mono-to-stereo": lambda d: audio_change(d, "layout2", (1, 44100), (2, 44100), "mp3"),
    "audio-rate-44100-to-22050": lambda d: audio_change(d, "rate", (2, 44100), (2, 22050), "mp3"),
    # FLAC 16-bit then 24-bit: the decoder's sample format would go s16 → s32 (FFmpeg refuses the
    # switch and drops those frames: the output keeps the first half's audio).
    "audio-format-s16-to-s32": lambda d: audio_change(d, "format", (2, 44100), (2, 44100), "flac", "-sample_fmt", "s32"),
    "video-size-320-to-640": lambda d: video_change(d, "size", ("testsrc=s=320x240", "yuv420p"), ("testsrc2=s=640x360", "yuv420p")),
    "video-size-640-to-160": lambda d: video_change(d, "size2", ("testsrc=s=640x480", "yuv420p"), ("testsrc2=s=160x120", "yuv420p")),
    "video-pixfmt-420-to-444": lambda d: video_change(d, "pixfmt", ("testsrc=s=320x240", "yuv420p"), ("testsrc2=s=320x240", "yuv444p")),
    "video-pixfmt-422-to-420": lambda d: video_change(d, "pixfmt2", ("testsrc=s=320x240", "yuv422p"), ("testsrc2=s=320x240", "yuv420p")),
}


def audio_seconds(path):
    audio = streams(probe(path), "audio")
    return float(audio[0]["duration"]) if audio and "duration" in audio[0] else 0.0


@pytest.mark.parametrize("name", list(FIXTURES))
def test_a_format_change_mid_stream_gives_an_output(tmp_path, name):
    source = FIXTURES[name](tmp_path)
    result = run(tmp_path, source)
    assert result.code == 0, (name, result.code, result.stderr[-3000:])  # a signal death is a negative code
    video, _, _ = check_transcode(result, source)
    output = result.out / source.stem / "video.mp4"
    if name.startswith("audio-format"):
        # Only the first half decodes (see FIXTURES); what did is kept.
        assert audio_seconds(output) >= SECONDS - 0.1, audio_seconds(output)
    else:
        assert audio_seconds(output) >= 2 * SECONDS - 0.15, audio_seconds(output)
    if name.startswith("video"):
        # The second half, after the change: the output frame is the source frame scaled to the
        # output size (a scaler left on the first half's size or format would garble it).
        width, height = streams(video, "video")[0]["width"], streams(video, "video")[0]["height"]
        expected = decoded_frame(source, SECONDS + 1).resize((width, height))
        actual = decoded_frame(output, SECONDS + 1)
        difference = ImageStat.Stat(ImageChops.difference(expected, actual)).mean
        assert max(difference) < 12, (name, difference)
