"""Nothing loaded at start-up that a job does not use (issue 19 item 2): the processor is not linked
against libavformat, libavcodec, libavfilter, libswresample, libheif or libavif (loading them was
≈0.1 s of every start, bench/startup.sh); a job loads them when it needs them (CMediaLibraries). The
dynamic loader's own trace (LD_DEBUG=files, one file per process: the isolated child's too) says
which objects each run of `processor process` loaded, and the outputs say the job still works."""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT

PROCESSOR_BIN = os.environ.get("PROCESSOR_BIN", os.path.join(ROOT, ".build/debug/processor"))
LAZY = ["libavformat", "libavcodec", "libavfilter", "libswresample", "libheif", "libavif"]
AUDIOVISUAL = ["libavformat", "libavcodec", "libavfilter", "libswresample"]


def loaded(tmp_path, input_path, isolation, profile=None):
    """Runs `processor process` on one file; returns (the lazy libraries any of its processes
    loaded, the outputs' names)."""
    trace = tmp_path / f"trace-{isolation}"
    trace.mkdir()
    out = tmp_path / f"out-{isolation}"
    command = [PROCESSOR_BIN, "process", str(input_path), "--out", str(out), "--isolation", isolation]
    if profile:
        path = tmp_path / "profile.json"
        path.write_text(json.dumps(profile))
        command += ["--profile", str(path)]
    env = dict(os.environ, LD_DEBUG="files", LD_DEBUG_OUTPUT=str(trace / "ld"))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    names = set()
    for path in trace.iterdir():
        for match in re.finditer(r"file=(lib[a-z0-9_]+)\.so\S*\s+\[\d+\];\s+(needed|dynamically loaded) by", path.read_text(errors="replace")):
            names.add(match.group(1))
    assert "libwebp" in names, "the trace lists no libwebp: LD_DEBUG did not trace this run"
    outputs = sorted(os.listdir(out / input_path.stem))
    return {name for name in names if name in LAZY}, outputs


def test_the_binary_needs_none_of_the_lazy_libraries():
    dynamic = subprocess.run(["readelf", "-d", PROCESSOR_BIN], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(lib[a-z0-9_]+)\.so", dynamic)
    assert "libwebp" in needed and "libswscale" in needed, needed
    assert not set(needed) & set(LAZY), needed


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_a_jpeg_job_loads_none_of_them(tmp_path, isolation):
    photo = tmp_path / "photo.jpg"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", str(photo)], check=True)
    libraries, outputs = loaded(tmp_path, photo, isolation)
    assert libraries == set()
    assert "image.webp" in outputs and "thumb.webp" in outputs, outputs


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_a_video_job_loads_libav(tmp_path, isolation):
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-f", "lavfi", "-i", "sine=d=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(clip)], check=True)
    libraries, outputs = loaded(tmp_path, clip, isolation)
    assert set(AUDIOVISUAL) <= libraries, libraries
    assert "libheif" not in libraries and "libavif" not in libraries, libraries
    assert "video.mp4" in outputs, outputs


def test_a_heic_job_loads_libheif_and_an_avif_profile_libavif(tmp_path):
    png = tmp_path / "photo.png"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=128x96", "-frames:v", "1", str(png)], check=True)
    heic = tmp_path / "photo.heic"
    subprocess.run(["heif-enc", "-q", "80", "-o", str(heic), str(png)], check=True, capture_output=True)
    libraries, outputs = loaded(tmp_path, heic, "process", profile={"image": {"avif": {"enabled": True, "speed": 10}}})
    assert libraries >= {"libheif", "libavif"}, libraries
    assert not libraries & set(AUDIOVISUAL), libraries
    assert "image.webp" in outputs and "image.avif" in outputs, outputs


def test_the_daemon_loads_libav_at_its_first_video_job_and_never_in_itself(make_stack, tmp_path):
    from conftest import photos, wait_until
    from test_processor import finished, upload
    trace = tmp_path / "trace"
    trace.mkdir()
    temp = tmp_path / "processor-temp"
    temp.mkdir()
    stack = make_stack(processor={"PROCESSOR_TEMP_DIR": str(temp), "LD_DEBUG": "files", "LD_DEBUG_OUTPUT": str(trace / "ld")})

    def lazy_loaded():
        """pid → the lazy libraries that process loaded. A trace file is per exec'd process (the
        fork server, forked, writes into the daemon's), each line starts with its writer's pid."""
        found = {stack.processor.process.pid: set()}
        for path in trace.iterdir():
            for match in re.finditer(r"^\s*(\d+):\s+file=(lib[a-z0-9_]+)\.so\S*\s+\[\d+\];\s+(needed|dynamically loaded) by",
                                     path.read_text(errors="replace"), re.M):
                found.setdefault(int(match.group(1)), set())
                if match.group(2) in LAZY:
                    found[int(match.group(1))].add(match.group(2))
        return found

    def run(path):
        job_id = upload(stack, path)
        wait_until(lambda: finished(stack, job_id), timeout=300, interval=0.5, message=f"the job on {path}")
        assert finished(stack, job_id)["status"] == "succeeded", finished(stack, job_id)

    run(photos(1)[0])
    assert not any(lazy_loaded().values()), lazy_loaded()
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-f", "lavfi", "-i", "sine=d=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(clip)], check=True)
    run(clip)
    loaded = lazy_loaded()
    daemon = stack.processor.process.pid
    assert loaded.get(daemon) == set(), loaded  # the daemon itself never calls a codec
    assert [libs for pid, libs in loaded.items() if pid != daemon and set(AUDIOVISUAL) <= libs], loaded  # its fork server did
