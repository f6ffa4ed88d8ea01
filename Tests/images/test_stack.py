"""The stack in containers, end to end: devstorage, uploader and processor images; a real photo and a
real clip sent with `curl -F` to the uploader container come back as a WebP and an H.264/AAC MP4
through the status document's own links. The processor image also runs `processor process` on a
photo and a clip: its runtime libraries are complete.

compose.yaml is brought up as it is with podman-compose (PyPI) on podman's bridge network, where the
CNI dnsname plugin lets the services find each other by name (devstorage:10000), as with Docker."""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from PIL import Image

import podman
from conftest import API_KEY, curl_upload, job_status, make_clip, photos, real_clip, wait_until


def top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size == 0:
            break
        offset += size
    return boxes


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)


def check_mp4(path: Path, width: int | None = None, height: int | None = None) -> None:
    data = path.read_bytes()
    boxes = top_level_boxes(data)
    assert boxes.index("moov") < boxes.index("mdat"), f"moov first (faststart): {boxes}"
    streams = {s["codec_type"]: s for s in ffprobe(path)["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert streams["audio"]["codec_name"] == "aac"
    if width:
        assert (streams["video"]["width"], streams["video"]["height"]) == (width, height)


def check_webp(data: bytes, width: int, height: int) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    assert image.size == (width, height)
    image.load()


class ComposeStack:
    """`compose.yaml` itself, brought up by podman-compose with the :test images (an override file
    names them; compose would otherwise build its own `:local` tags)."""

    def __init__(self, directory: Path) -> None:
        self.project = f"mp-compose-{os.getpid()}"
        override = directory / "compose.test.yaml"
        override.write_text(yaml.safe_dump({"services": {name: {"image": podman.image(name)}
                                                         for name in ("devstorage", "uploader", "processor")}}))
        self.command = [str(Path(sys.executable).parent / "podman-compose"), "--project-name", self.project,
                        "-f", str(podman.ROOT / "compose.yaml"), "-f", str(override)]
        self.env = {**os.environ, "UPLOADER_API_KEYS": API_KEY}

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def container(self, service: str) -> podman.Container:
        return podman.Container(f"{self.project}_{service}_1")

    def logs(self) -> str:
        return "\n".join(f"--- {s}\n{self.container(s).logs()[-2000:]}" for s in ("devstorage", "uploader", "processor"))


@pytest.fixture()
def compose(tmp_path: Path):
    for port in (8080, 8081, 10000, 10001):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"127.0.0.1:{port} is taken; compose.yaml publishes it")
    stack = ComposeStack(tmp_path)
    up = stack.run("up", "-d", "--no-build")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield stack
    finally:
        down = stack.run("down", "-v", "-t", "10")
        assert down.returncode == 0, down.stdout + down.stderr


class Front:
    """The uploader compose publishes on 127.0.0.1:8080."""
    url = "http://127.0.0.1:8080"

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 10):
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers or {}), timeout=timeout) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)


def test_compose_stack_photo_and_clip_end_to_end(compose, tmp_path: Path) -> None:
    front = Front()
    wait_until(lambda: _answers(front, "/readyz"), timeout=120, message=f"the uploader to be ready: {compose.logs()}")
    for service in ("devstorage", "uploader", "processor"):
        inspect = compose.container(service).inspect()
        assert inspect["Config"]["User"] == "10001:10001" and inspect["HostConfig"]["ReadonlyRootfs"] is True
        assert inspect["HostConfig"]["CapDrop"], service
    photo, clip = photos(1)[0], real_clip()
    jobs = {}
    for path in (photo, clip):
        status, body = curl_upload(front, path)
        assert status == 202, body
        jobs[path] = body["jobId"]
    done = {path: wait_until(lambda j=job_id: (s := job_status(front, j)) and s["status"] in ("succeeded", "failed") and s,
                             timeout=300, message=f"job {job_id}: {compose.logs()}") for path, job_id in jobs.items()}
    for path, status in done.items():
        assert status["status"] == "succeeded", status
    # the photo: WebPs at the sizes the status document gives, through its own links
    image_outputs = {o["name"]: o for o in done[photo]["outputs"]}
    assert {"image.webp", "thumb.webp"} <= set(image_outputs)
    with Image.open(photo) as source:
        longest = max(source.size)
    for output in image_outputs.values():
        code, data, _ = front.get(output["url"], headers={"X-API-Key": API_KEY})
        assert code == 200 and len(data) == output["bytes"], (code, output)
        check_webp(data, output["width"], output["height"])
    assert max(image_outputs["image.webp"]["width"], image_outputs["image.webp"]["height"]) == min(longest, 2048)
    # the clip: H.264 + AAC, moov before mdat, and a WebP poster
    clip_outputs = {o["name"]: o for o in done[clip]["outputs"]}
    code, data, _ = front.get(clip_outputs["video.mp4"]["url"], headers={"X-API-Key": API_KEY})
    assert code == 200 and len(data) == clip_outputs["video.mp4"]["bytes"]
    (tmp_path / "video.mp4").write_bytes(data)
    check_mp4(tmp_path / "video.mp4")
    poster = clip_outputs["poster.webp"]
    code, data, _ = front.get(poster["url"], headers={"X-API-Key": API_KEY})
    assert code == 200
    check_webp(data, poster["width"], poster["height"])
    # nothing left in the processor's work volume; every service still up, never restarted
    leftovers = compose.container("processor").exec("find", "/var/tmp/processor", "-mindepth", "1")
    assert leftovers.returncode == 0 and leftovers.stdout.strip() == b"", leftovers.stdout
    for service in ("devstorage", "uploader", "processor"):
        assert compose.container(service).running(), compose.logs()
        assert compose.container(service).inspect()["RestartCount"] == 0, compose.logs()


def _answers(front: Front, path: str) -> bool:
    try:
        return front.get(path, timeout=3)[0] == 200
    except OSError:
        return False


def test_processor_one_shot_in_its_image(tmp_path: Path) -> None:
    """`processor process` inside the image, as hardened as the daemon: every codec library it needs
    is in the runtime stage (a missing one fails at load or at the first decode)."""
    media = podman.app_dir("oneshot-media-")
    out = podman.app_dir("oneshot-out-")
    try:
        shutil.copy2(photos(1)[0], media / "photo.jpg")
        make_clip(media / "clip.mp4", seconds=2, size="640x360")
        shutil.copy2(real_clip(), media / "real.mp4")
        for f in media.iterdir():
            f.chmod(0o644)
        run = podman.run(podman.image("processor"), "mp-oneshot", volumes={str(media): "/media:ro", str(out): "/out"},
                         tmpfs=["/tmp", "/var/tmp/processor"],
                         args=["process", "--out", "/out", "/media/photo.jpg", "/media/clip.mp4", "/media/real.mp4"], detach=False)
        assert run.returncode == 0, (run.stdout + run.stderr).decode(errors="replace")[-3000:]
        produced = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        assert any(p.endswith("image.webp") for p in produced), produced
        assert sum(p.endswith("video.mp4") for p in produced) == 2, produced
        for mp4 in out.rglob("video.mp4"):
            check_mp4(mp4)
        for webp in out.rglob("*.webp"):
            with Image.open(webp) as image:
                assert image.format == "WEBP"
                check_webp(webp.read_bytes(), *image.size)
    finally:
        shutil.rmtree(media, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
