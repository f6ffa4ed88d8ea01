"""The image pipeline through `processor process` (the same code the daemon runs): real photos,
all eight EXIF orientations, alpha, PNG variants, CMYK and progressive JPEG, animated GIF and WebP,
pixel bombs (D1) and corrupt or truncated files (D2). Fixtures are made here with Pillow."""
import io
import os
import random
import struct
import subprocess
import zlib

import pytest
from PIL import Image, ImageOps

from conftest import ROOT, photos

PROCESSOR_BIN = os.environ.get("PROCESSOR_BIN", os.path.join(ROOT, ".build/debug/processor"))
GNOME = "/usr/share/backgrounds/gnome"


def run(tmp_path, *inputs, profile=None):
    """Runs `processor process`; returns (exit code, stdout, stderr, peak RSS MiB)."""
    out = tmp_path / "out"
    command = ["/usr/bin/time", "-f", "%M", PROCESSOR_BIN, "process", *map(str, inputs), "--out", str(out)]
    if profile:
        command += ["--profile", str(profile)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    rss = int(result.stderr.strip().splitlines()[-1]) / 1024
    return result.returncode, result.stdout, result.stderr, rss


def output(tmp_path, stem, name="image.webp"):
    return Image.open(tmp_path / "out" / stem / name)


def quadrants(width=300, height=200):
    """Red, green / blue, yellow: any wrong turn or flip moves a colour."""
    image = Image.new("RGB", (width, height))
    colours = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 220, 30)]
    for index, colour in enumerate(colours):
        x, y = index % 2, index // 2
        image.paste(colour, (x * width // 2, y * height // 2, (x + 1) * width // 2, (y + 1) * height // 2))
    return image


def close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_real_photos_fit_the_box_keep_aspect_and_drop_metadata(tmp_path):
    inputs = photos(4) + sorted(os.path.join(GNOME, n) for n in os.listdir(GNOME) if n.endswith(".webp"))[:2]
    code, stdout, stderr, _ = run(tmp_path, *inputs)
    assert code == 0, stderr
    for path in inputs:
        stem = os.path.splitext(os.path.basename(path))[0]
        source = ImageOps.exif_transpose(Image.open(path))
        result = output(tmp_path, stem)
        assert result.format == "WEBP"
        assert max(result.size) <= 2048
        assert abs(result.size[0] / result.size[1] - source.size[0] / source.size[1]) < 0.01
        if max(source.size) <= 2048:
            assert result.size == source.size  # never enlarged
        assert "exif" not in result.info and "icc_profile" not in result.info
        thumb = output(tmp_path, stem, "thumb.webp")
        assert max(thumb.size) == min(320, max(result.size))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(tmp_path, orientation):
    upright = quadrants()
    # Store the pixels so that applying `orientation` shows the upright image.
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
               5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_270}[orientation]
    stored = upright.transpose(inverse) if inverse is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {2: (52, 31, 0), 4: (13, 24, 0)}  # a GPS position that must not leak
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(path)).size == upright.size
    code, _, stderr, _ = run(tmp_path, path)
    assert code == 0, stderr
    result = output(tmp_path, f"o{orientation}").convert("RGB")
    assert result.size == upright.size
    for x, y in [(75, 50), (225, 50), (75, 150), (225, 150)]:
        assert close(result.getpixel((x, y)), upright.getpixel((x, y))), (orientation, (x, y), result.getpixel((x, y)))
    assert b"GPS" not in (tmp_path / "out" / f"o{orientation}" / "image.webp").read_bytes()


def test_png_variants_and_alpha(tmp_path):
    base = quadrants(400, 300)
    rgba = base.convert("RGBA")
    alpha = Image.new("L", rgba.size, 255)
    alpha.paste(0, (0, 0, 200, 300))
    rgba.putalpha(alpha)
    variants = {
        "alpha": rgba,
        "palette": base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16),
        "grey": base.convert("L"),
        "grey16": base.convert("L").point(lambda v: v * 256, "I").convert("I;16"),
        "rgb": base,
    }
    paths = []
    for name, image in variants.items():
        path = tmp_path / f"{name}.png"
        image.save(path)
        paths.append(path)
    code, _, stderr, _ = run(tmp_path, *paths)
    assert code == 0, stderr
    result = output(tmp_path, "alpha")
    assert result.mode == "RGBA"
    assert result.getpixel((50, 150))[3] == 0 and result.getpixel((350, 150))[3] == 255
    assert close(result.getpixel((300, 50))[:3], (30, 200, 30))
    for name in ("palette", "grey", "grey16", "rgb"):
        image = output(tmp_path, name)
        assert image.size == (400, 300), name
    assert close(output(tmp_path, "palette").convert("RGB").getpixel((50, 50)), (220, 30, 30))


def interlaced_png(image):
    """An Adam7-interlaced 8-bit RGB PNG (Pillow writes only non-interlaced ones)."""
    width, height = image.size
    pixels = image.convert("RGB").load()
    raw = bytearray()
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        columns = range(x0, width, dx)
        if not columns:
            continue
        for y in range(y0, height, dy):
            raw += b"\0" + bytes(c for x in columns for c in pixels[x, y])

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def test_interlaced_png(tmp_path):
    base = quadrants(301, 203)  # odd sizes: every Adam7 pass has partial blocks
    (tmp_path / "adam7.png").write_bytes(interlaced_png(base))
    check = Image.open(tmp_path / "adam7.png")
    assert check.info.get("interlace") == 1 and check.convert("RGB").tobytes() == base.tobytes()
    code, _, stderr, _ = run(tmp_path, tmp_path / "adam7.png")
    assert code == 0, stderr
    result = output(tmp_path, "adam7").convert("RGB")
    assert result.size == (301, 203)
    for x, y in [(75, 50), (225, 50), (75, 150), (225, 150)]:
        assert close(result.getpixel((x, y)), base.getpixel((x, y)), 12), (x, y, result.getpixel((x, y)))


def display_p3_profile():
    """An ICC v2 matrix/TRC profile with Display P3's primaries (D50-adapted, as in Apple's profile)
    and a 2.2 gamma, built byte by byte (no P3 profile ships on this machine)."""
    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"Display P3"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text) + 1) + text + b"\0" + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    gamma = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", round(2.2 * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
            (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)), (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
            (b"rTRC", gamma), (b"gTRC", gamma), (b"bTRC", gamma)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp"
              + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def test_display_p3_photo_is_converted_to_srgb(tmp_path):
    from PIL import ImageCms
    p3 = display_p3_profile()
    base = Image.new("RGB", (400, 300))
    patches = [(200, 100, 50), (50, 180, 90), (60, 80, 200), (230, 220, 30)]
    for index, colour in enumerate(patches):
        base.paste(colour, ((index % 2) * 200, (index // 2) * 150, (index % 2 + 1) * 200, (index // 2 + 1) * 150))
    base.save(tmp_path / "p3.jpg", quality=98, subsampling=0, icc_profile=p3)
    expected = ImageCms.profileToProfile(
        Image.open(tmp_path / "p3.jpg"), ImageCms.ImageCmsProfile(io.BytesIO(p3)), ImageCms.createProfile("sRGB"), outputMode="RGB")
    points = [(100, 75), (300, 75), (100, 225), (300, 225)]
    # The conversion is visible: a pipeline that kept the P3 numbers as sRGB would fail below.
    assert any(max(abs(a - b) for a, b in zip(expected.getpixel(p), base.getpixel(p))) > 12 for p in points)
    code, _, stderr, _ = run(tmp_path, tmp_path / "p3.jpg")
    assert code == 0, stderr
    result = output(tmp_path, "p3").convert("RGB")
    assert "icc_profile" not in output(tmp_path, "p3").info  # sRGB pixels, no profile needed
    for point in points:
        assert close(result.getpixel(point), expected.getpixel(point), 6), (point, result.getpixel(point), expected.getpixel(point))


def test_heic_from_libheif(tmp_path):
    """An iPhone-style HEIC (HEVC in HEIF, made with libheif's heif-enc) decodes through libheif."""
    base = quadrants(640, 480)
    base.save(tmp_path / "source.png")
    subprocess.run(["heif-enc", "-q", "90", str(tmp_path / "source.png"), "-o", str(tmp_path / "photo.heic")], check=True, capture_output=True)
    assert (tmp_path / "photo.heic").read_bytes()[4:12] == b"ftypheic"
    code, stdout, stderr, _ = run(tmp_path, tmp_path / "photo.heic")
    assert code == 0, stderr
    result = output(tmp_path, "photo").convert("RGB")
    assert result.size == (640, 480)
    for x, y in [(160, 120), (480, 120), (160, 360), (480, 360)]:
        assert close(result.getpixel((x, y)), base.getpixel((x, y)), 20), (x, y, result.getpixel((x, y)))
    assert "exif" not in output(tmp_path, "photo").info


def test_cmyk_and_progressive_jpeg(tmp_path):
    base = quadrants(400, 300)
    base.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    base.save(tmp_path / "progressive.jpg", quality=90, progressive=True)
    code, _, stderr, _ = run(tmp_path, tmp_path / "cmyk.jpg", tmp_path / "progressive.jpg")
    assert code == 0, stderr
    for stem in ("cmyk", "progressive"):
        result = output(tmp_path, stem).convert("RGB")
        for x, y in [(100, 75), (300, 75), (100, 225), (300, 225)]:
            assert close(result.getpixel((x, y)), base.getpixel((x, y)), 45), (stem, result.getpixel((x, y)))


def test_animated_gif_and_webp_stay_animated(tmp_path):
    frames = [quadrants(240, 160).rotate(angle) for angle in (0, 90, 180, 270)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=120, loop=0)
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], duration=120, loop=0)
    frames[0].save(tmp_path / "still.gif")
    code, _, stderr, _ = run(tmp_path, tmp_path / "anim.gif", tmp_path / "anim.webp", tmp_path / "still.gif")
    assert code == 0, stderr
    for stem in ("anim", "still"):
        result = output(tmp_path, stem)
        assert result.format == "WEBP"
    animated = Image.open(tmp_path / "out" / "anim" / "image.webp")
    assert getattr(animated, "n_frames", 1) == 4
    assert not getattr(output(tmp_path, "still"), "is_animated", False)


def png_claiming(width, height):
    """A valid PNG signature and header claiming a huge canvas, with a tiny compressed body."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    body = zlib.compress(b"\x00" * 1024, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    data = bytearray(io.BytesIO().getvalue())
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_with_frames(count):
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x21\xf9\x04\x00\x01\x00\x00\x00" + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame * count + b"\x3b"


def test_d1_pixel_bombs_are_refused_from_the_header(tmp_path):
    bombs = {
        "png20k": png_claiming(20000, 20000),
        "png1m": png_claiming(1_000_000, 1_000_000),
        "jpeg60k": jpeg_claiming(60000, 60000),
        "gif10kframes": gif_with_frames(10000),
    }
    # WebP with a 16383×16383 canvas (VP8X): a real tiny WebP with its canvas fields patched.
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 128)).save(buffer, "WEBP", lossless=True)
    riff = bytearray(buffer.getvalue())
    if riff[12:16] == b"VP8X":
        riff[24:27] = (16382).to_bytes(3, "little")
        riff[27:30] = (16382).to_bytes(3, "little")
        bombs["webp16k"] = bytes(riff)
    for name, data in bombs.items():
        (tmp_path / f"{name}.bin").write_bytes(data)
        code, _, stderr, rss = run(tmp_path, tmp_path / f"{name}.bin")
        assert code == 1, (name, stderr)
        assert "limit" in stderr, (name, stderr)
        assert rss < 100, (name, rss)
        assert not (tmp_path / "out" / name).exists()


def noise_png():
    """A 300×200 PNG of random pixels (~180 KB: a 1 % cut lands in pixel data)."""
    png = io.BytesIO()
    Image.frombytes("RGB", (300, 200), random.Random(7).randbytes(300 * 200 * 3)).save(png, "PNG")
    return png.getvalue()


def bit_flipped(data, copies=5, flips=50):
    """`copies` versions of `data`, each with `flips` random bits flipped past its first 200 bytes."""
    rng = random.Random(20261123)
    versions = []
    for _ in range(copies):
        flipped = bytearray(data)
        for _ in range(flips):
            flipped[rng.randrange(200, len(flipped))] ^= 1 << rng.randrange(8)
        versions.append(bytes(flipped))
    return versions


def bad_crc(png):
    """`png` with a byte of IHDR changed: its CRC no longer matches."""
    changed = bytearray(png)
    changed[30] ^= 0xFF
    return bytes(changed)


def test_d2_corrupt_and_truncated_files_fail_cleanly(tmp_path):
    photo = open(photos(1)[0], "rb").read()
    png = noise_png()
    cases = {}
    # (A truncated JPEG renders its missing tail grey, as libjpeg's own tools do: test_jpeg_warnings.py.)
    for fraction in (0.1, 0.5, 0.99):
        cases[f"png{int(fraction * 100)}"] = png[:int(len(png) * fraction)]
    for seed, flipped in enumerate(bit_flipped(photo)):
        cases[f"flip{seed}"] = flipped
    cases["badcrc"] = bad_crc(png)
    for name, data in cases.items():
        (tmp_path / f"{name}.img").write_bytes(data)
        code, _, stderr, rss = run(tmp_path, tmp_path / f"{name}.img")
        assert code in (0, 1), (name, code, stderr)  # never a crash (a signal gives a negative code)
        if code == 1:
            assert "corrupt" in stderr, (name, stderr)
        elif name.startswith("flip"):
            pass  # a flip in entropy-coded data can decode to different pixels: still a valid image
        else:
            raise AssertionError(f"{name} was accepted")
        assert rss < 200, (name, rss)


def test_unsupported_files_say_so(tmp_path):
    (tmp_path / "x.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    code, _, stderr, _ = run(tmp_path, tmp_path / "x.svg")
    assert code == 1 and "unsupported" in stderr
