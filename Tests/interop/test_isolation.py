"""Crash isolation (issue 12, item 2): every file is decoded by a child process under kernel
limits, forked by the daemon's fork server (a copy of the processor made at launch) or, for
`processor process`, by its own single-threaded main. A crash, abort, runaway CPU, output or memory use ends that job only: the daemon, its other
jobs and their delivery counts are untouched, and a child that dies by a signal twice in a row is a
permanent `crashed` failure on the first delivery, never a retry loop."""
import io
import json
import os
import signal
import threading

from PIL import Image

from conftest import photos, wait_until
from test_processor import check_invariant, finished, upload
from test_video import ffmpeg, run

MARKER = "MP-TEST-ABORT-7f3c"  # PROCESSOR_TEST_ABORT_MARKER: the child aborts on a file holding it


def jpeg_with_comment(path, comment):
    image = Image.open(photos(1)[0])
    image.thumbnail((640, 640))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment.encode()
    path.write_bytes(data[:2] + segment + data[2:])  # a COM segment right after SOI
    return path


def test_a_crashing_job_fails_once_as_crashed_and_five_others_succeed_first_time(make_stack, tmp_path):
    stack = make_stack(processor={"PROCESSOR_TEST_ABORT_MARKER": MARKER})
    pid = stack.processor.process.pid
    crasher = jpeg_with_comment(tmp_path / "crasher.jpg", MARKER)
    normal = [jpeg_with_comment(tmp_path / f"normal{i}.jpg", f"ordinary photo {i}") for i in range(5)]
    job_ids = {}

    def send(path):
        job_ids[path.name] = upload(stack, path)
    threads = [threading.Thread(target=send, args=(path,)) for path in [crasher] + normal]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for job_id in job_ids.values():
        wait_until(lambda: finished(stack, job_id), timeout=120, message=f"job {job_id}")

    for path in normal:
        status = stack.status(job_ids[path.name])
        assert status["status"] == "succeeded", status
        assert status["attempts"] == 1, status  # first delivery: the crash next to it spent nothing
    crashed = stack.status(job_ids[crasher.name])
    assert crashed["status"] == "failed" and crashed["attempts"] == 1, crashed
    assert crashed["error"]["code"] == "crashed", crashed["error"]
    assert "SIGABRT" in crashed["error"]["reason"], crashed["error"]
    entries = [p for p in stack.poison() if p["jobId"] == job_ids[crasher.name]]
    assert len(entries) == 1 and entries[0]["code"] == "crashed" and entries[0]["dequeueCount"] == 1, entries
    assert stack.processor.process.poll() is None and stack.processor.process.pid == pid, "the daemon kept running"
    log = open(stack.processor.log_path, errors="replace").read()
    assert log.count("the child process died; running it once more") == 1, log[-3000:]
    check_invariant(stack, list(job_ids.values()))


def profile(tmp_path, **child):
    path = tmp_path / "limits.json"
    path.write_text(json.dumps({"limits": {"child": child}}))
    return path


def failure_line(result, name):
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(name)) or f"/{name}:" in line]
    assert lines, result.stderr[-3000:]
    return lines[-1]


def clip(tmp_path, seconds=20):
    path = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast", path)
    return path


def test_a_hung_decoder_is_killed_at_the_wall_clock_limit_and_the_daemon_goes_on(tmp_path, monkeypatch):
    # PROCESSOR_TEST_HANG_MARKER: the child sleeps for ever (no CPU), as a deadlocked library would;
    # an image's own wall-clock limit (limits.maxImageSeconds, here 2 s; the video job limit stays
    # at its hour) kills it and names the limit.
    monkeypatch.setenv("PROCESSOR_TEST_HANG_MARKER", "MP-TEST-HANG-1b2d")
    hung = jpeg_with_comment(tmp_path / "hung.jpg", "MP-TEST-HANG-1b2d")
    fine = jpeg_with_comment(tmp_path / "fine.jpg", "ordinary")
    path = tmp_path / "short.json"
    path.write_text(json.dumps({"limits": {"maxImageSeconds": 2}}))
    result = run(tmp_path, hung, fine, "--profile", path, "--jobs", 2)
    assert result.code == 1, result.stderr[-3000:]
    line = failure_line(result, hung.name)
    assert ": limit: time limit: the job took longer than 2 s" in line, line
    assert (result.out / "fine" / "image.webp").exists()
    assert result.seconds < 30, result.seconds


def test_a_decoder_past_its_cpu_seconds_is_stopped_by_the_kernel(tmp_path):
    source = clip(tmp_path)
    result = run(tmp_path, source, "--profile", profile(tmp_path, maxCPUSeconds=1))
    assert result.code == 1, result.stderr[-3000:]
    line = failure_line(result, source.name)
    assert ": limit: CPU time limit" in line and "SIGXCPU" in line, line
    assert not (result.out / "clip").exists()


def test_output_past_the_file_size_limit_is_stopped_by_the_kernel(tmp_path):
    source = clip(tmp_path, seconds=4)
    result = run(tmp_path, source, "--profile", profile(tmp_path, maxOutputFileBytes=20000))
    assert result.code == 1, result.stderr[-3000:]
    line = failure_line(result, source.name)
    # (SIGXFSZ where the writing thread takes it; EFBIG where it blocks it: the same limit either way)
    assert ": limit: output size limit" in line, line


def test_a_memory_blow_up_fails_that_file_only(tmp_path):
    # A 48 MP PNG (under the 50 MP pixel limit) of a few KiB: its decode needs 192 MiB of pixels
    # and more to resize, past a 320 MiB address space. The child fails — an allocation error or a
    # signal — and the next file is processed as usual. (Measured with the debug build, limits in
    # steps of 64 MiB: a tiny image runs from 256 MiB, this one from 448 MiB. It was 512 MiB while
    # the processor mapped libav*/libheif/libavif at every start: a tiny image then took 421 MiB.)
    big = tmp_path / "canvas.png"
    Image.new("RGB", (8000, 6000), (40, 90, 160)).save(big, optimize=True)
    small = tmp_path / "small.jpg"
    image = Image.open(photos(1)[0])
    image.thumbnail((64, 64))
    image.convert("RGB").save(small, "JPEG")
    result = run(tmp_path, big, small, "--profile", profile(tmp_path, maxAddressSpaceBytes=320 << 20))
    assert result.code == 1, result.stderr[-3000:]
    line = failure_line(result, big.name)
    assert any(f": {code}: " in line for code in ("crashed", "internal", "limit")), line
    assert (result.out / "small" / "image.webp").exists(), result.stderr[-3000:]
    unlimited = run(tmp_path, big)  # the default limits: the same file is fine
    assert unlimited.code == 0, unlimited.stderr[-3000:]


def test_processor_process_runs_a_crashing_file_twice_then_fails_it_and_goes_on(tmp_path, monkeypatch):
    # The one-shot command forks each file's child itself (no fork server): the same policy as the
    # daemon's — one more run after a signal death, then `crashed` — and the other file is processed.
    monkeypatch.setenv("PROCESSOR_TEST_ABORT_MARKER", MARKER)
    crasher = jpeg_with_comment(tmp_path / "crasher.jpg", MARKER)
    fine = jpeg_with_comment(tmp_path / "fine.jpg", "ordinary")
    result = run(tmp_path, crasher, fine, "--jobs", 2)
    assert result.code == 1, result.stderr[-3000:]
    line = failure_line(result, crasher.name)
    assert ": crashed: the decoder crashed on this file twice: killed by SIGABRT" in line, line
    assert result.stderr.count("the child process died; running it once more") == 1, result.stderr[-3000:]
    assert not (result.out / "crasher").exists()
    assert [entry["input"] for entry in result.lines] == [str(fine)]
    assert (result.out / "fine" / "image.webp").exists()


def test_isolation_none_runs_in_the_same_process(tmp_path):
    result = run(tmp_path, photos(1)[0], "--isolation", "none")
    assert result.code == 0, result.stderr[-3000:]
    assert result.lines and result.lines[0]["outputs"]["image.webp"] > 0


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry), [part.decode(errors="replace") for part in cmdline if part]))
    return found


def test_the_fork_server_is_forked_at_launch_and_started_again_when_it_dies(make_stack, tmp_path):
    stack = make_stack(processor={})
    daemon = stack.processor.process.pid
    zygotes = children_of(daemon)
    # Forked, not exec'd: the same command line as the daemon's, one process.
    assert len(zygotes) == 1 and zygotes[0][1] == open(f"/proc/{daemon}/cmdline", "rb").read().decode().split("\0")[:-1], zygotes
    # One thread once warmed up (libwebp's encoder worker is joined): forking a process with other
    # threads could hand a child locks that nobody will ever release.
    first = upload(stack, jpeg_with_comment(tmp_path / "first.jpg", "before"))
    wait_until(lambda: finished(stack, first), timeout=60, message=f"job {first}")
    assert stack.status(first)["status"] == "succeeded"
    assert "Threads:\t1\n" in open(f"/proc/{zygotes[0][0]}/status").read()

    os.kill(zygotes[0][0], signal.SIGKILL)
    second = upload(stack, jpeg_with_comment(tmp_path / "second.jpg", "after"))
    wait_until(lambda: finished(stack, second), timeout=60, message=f"job {second}")
    status = stack.status(second)
    assert status["status"] == "succeeded", status
    assert status["attempts"] == 1, status
    assert stack.processor.process.poll() is None, "the daemon kept running"
    servers = [child for child in children_of(daemon) if child[0] != zygotes[0][0]]
    assert [command[1:] for _, command in servers] == [["fork-server"]], servers
    check_invariant(stack, [first, second])


REGRESSIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz-regressions")


def test_libheif_out_of_bounds_writes_found_by_fuzzing_fail_that_file_cleanly(tmp_path):
    # Two 1 KB mutated HEICs on which Debian's libheif 1.15.1 allocates over 2 GB and then writes out
    # of bounds (heif-convert and an unlimited process die with SIGSEGV), and a third on which it
    # allocates 3 GB and then aborts on an uncaught std::system_error (heif-info dies the same way).
    # Under the child's address space limit each is a clean failure of that file, and the photo next
    # to them is done.
    bad = [os.path.join(REGRESSIONS, name)
           for name in ("libheif-1.15.1-segv.heic", "libheif-1.15.1-slow-segv.heic", "libheif-1.15.1-oom-abort.heic")]
    photo = jpeg_with_comment(tmp_path / "photo.jpg", "ordinary")
    result = run(tmp_path, *bad, photo, "--jobs", 2)
    assert result.code == 1, result.stderr[-3000:]
    for path in bad:
        line = failure_line(result, os.path.basename(path))
        assert any(f": {code}: " in line for code in ("corrupt", "crashed", "limit")), line
    assert (result.out / "photo" / "image.webp").exists(), result.stderr[-3000:]
