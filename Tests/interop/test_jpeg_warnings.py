"""JPEG damage that the world shows (issue 12, item 6): libjpeg *warnings* are not errors. A file
that libjpeg-turbo's own `djpeg` decodes with a warning (its exit status 2) and that Pillow decodes
(truncated files in Pillow's lenient mode, `ImageFile.LOAD_TRUNCATED_IMAGES`, which fills the
missing tail with grey as libjpeg does) is processed, and our pixels match theirs; what has no
picture at all stays `corrupt`."""
import io
import subprocess

import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat

from conftest import photos
from test_images import run


@pytest.fixture(scope="module")
def jpeg():
    """A real photo (mate-backgrounds) re-encoded at 800 px: the damage is made to known bytes."""
    image = Image.open(photos(1)[0])
    image.thumbnail((800, 800))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def djpeg(path):
    """(exit status, stderr, decoded image) from libjpeg-turbo's djpeg."""
    result = subprocess.run(["djpeg", "-ppm", str(path)], capture_output=True, timeout=60)
    image = Image.open(io.BytesIO(result.stdout)).convert("RGB") if result.stdout else None
    return result.returncode, result.stderr.decode(errors="replace"), image


def pillow(data, lenient):
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image.convert("RGB")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def difference(a, b):
    return max(ImageStat.Stat(ImageChops.difference(a, b)).mean)


def processed(tmp_path, name, data):
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(data)
    code, _, stderr, _ = run(tmp_path, path)
    assert code == 0, (name, code, stderr[-2000:])  # before: 1, "corrupt: JPEG: Corrupt JPEG data: ..."
    return Image.open(tmp_path / "out" / name / "image.webp").convert("RGB"), path


def test_extraneous_bytes_before_a_marker_are_skipped(tmp_path, jpeg):
    end = jpeg.rindex(b"\xff\xd9")
    data = jpeg[:end] + bytes(range(1, 17)) + jpeg[end:]
    ours, path = processed(tmp_path, "extraneous", data)
    status, stderr, reference = djpeg(path)
    assert status == 2 and "extraneous bytes before marker" in stderr, (status, stderr)  # a warning
    assert difference(ours, pillow(data, lenient=False).resize(ours.size, Image.LANCZOS)) < 3
    assert difference(ours, reference.resize(ours.size, Image.LANCZOS)) < 3


@pytest.mark.parametrize("missing", [2, 64, "half"])
def test_a_truncated_tail_renders_grey_like_libjpeg(tmp_path, jpeg, missing):
    cut = len(jpeg) // 2 if missing == "half" else len(jpeg) - missing
    data = jpeg[:cut]
    ours, path = processed(tmp_path, f"cut-{missing}", data)
    status, stderr, reference = djpeg(path)
    assert status == 2 and "Premature end of JPEG file" in stderr, (status, stderr)
    with pytest.raises(OSError):
        pillow(data, lenient=False)  # Pillow's default refuses; its lenient mode decodes the same pixels as djpeg
    lenient = pillow(data, lenient=True)
    assert difference(lenient, reference) < 1
    assert difference(ours, reference.resize(ours.size, Image.LANCZOS)) < 3
    if missing == "half":
        # The missing half is libjpeg's grey, not black or noise.
        bottom = ours.crop((0, ours.height * 9 // 10, ours.width, ours.height))
        assert all(abs(mean - 128) < 6 for mean in ImageStat.Stat(bottom).mean), ImageStat.Stat(bottom).mean


def test_no_picture_at_all_stays_corrupt(tmp_path, jpeg):
    start = jpeg.index(b"\xff\xda")  # the first scan's header: nothing of the picture follows
    length = int.from_bytes(jpeg[start + 2:start + 4], "big")
    cases = {
        "header-only": jpeg[:start + 2 + length],
        "header-cut": jpeg[:start // 2],
        "garbage-after-soi": b"\xff\xd8\xff" + bytes(range(256)) * 8,
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(data)
        code, _, stderr, _ = run(tmp_path, path)
        assert code == 1 and "corrupt" in stderr, (name, code, stderr[-2000:])
        assert not (tmp_path / "out" / name).exists()
