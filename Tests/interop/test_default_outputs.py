"""Defaults unchanged (issue 17): with the built-in profile, the processor writes today's outputs
under today's names with today's bytes, whatever the profile can now ask for (facts, ThumbHash,
AVIF, HLS, HDR tone mapping, audio). `data/default-outputs.sha256` holds what the processor wrote
before issue 17 (built from 0c6b81f) on the same inputs, made here the same way each time (a real
photo from mate-backgrounds, and a still, a GIF and a clip the ffmpeg CLI makes bit-exactly with one
thread). The only outputs the default profile may add are the ones the issue turns on by default:
the storyboard (item 4).

Re-record after a Debian update of a codec library changes bytes legitimately:
`RECORD_DEFAULT_OUTPUTS=1 PROCESSOR_BIN=<processor of the commit before the change> pytest Tests/interop/test_default_outputs.py`."""
import hashlib
import os
import pathlib
import subprocess

from conftest import PROCESSOR_BIN

HERE = pathlib.Path(__file__).parent
RECORD = HERE / "data" / "default-outputs.sha256"
PHOTO = "/usr/share/backgrounds/mate/nature/FreshFlower.jpg"
# Outputs the issue turns on by default (item 4: `profile.video.storyboard`, default on).
ADDED_BY_DEFAULT = {"clip/storyboard.webp", "clip/storyboard.vtt"}


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


def make_inputs(directory):
    photo = directory / "photo.jpg"
    photo.write_bytes(pathlib.Path(PHOTO).read_bytes())
    still, anim, clip = directory / "still.png", directory / "anim.gif", directory / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", str(still))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1", "-threads", "1", str(anim))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
           "-t", "4", "-c:v", "libx264", "-threads", "1", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
           "-shortest", "-fflags", "+bitexact", "-map_metadata", "-1", str(clip))
    return [photo, still, anim, clip]


def digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def recorded():
    entries = {}
    for line in RECORD.read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split()
            entries[name] = digest
    return entries


def test_the_default_profile_writes_todays_outputs_byte_for_byte(tmp_path):
    inputs = make_inputs(tmp_path)
    out = tmp_path / "out"
    # As a user runs it: the built-in profile, each file in an isolated child.
    result = subprocess.run([PROCESSOR_BIN, "process", *map(str, inputs), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    now = digests(out)
    if os.environ.get("RECORD_DEFAULT_OUTPUTS") == "1":
        header = [line for line in RECORD.read_text().splitlines() if line.startswith("#")]
        RECORD.write_text("\n".join(header + [f"{digest}  {name}" for name, digest in now.items()]) + "\n")
        return
    before = recorded()
    assert before, "no recorded outputs"
    missing = sorted(set(before) - set(now))
    assert not missing, f"outputs the default profile no longer writes: {missing}"
    changed = sorted(name for name in before if now[name] != before[name])
    assert not changed, f"outputs whose bytes changed under the default profile: {changed}"
    added = set(now) - set(before)
    assert added <= ADDED_BY_DEFAULT, f"the default profile writes outputs it did not before: {sorted(added - ADDED_BY_DEFAULT)}"
