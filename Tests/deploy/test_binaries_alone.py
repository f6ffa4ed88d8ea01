"""Every release binary runs alone, as the images ship it: copied into an empty directory and started
with the repository (build tree, sources, resource bundles) and the Swift toolchain hidden behind
empty mounts, so anything read from the build tree at run time fails here first."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import RELEASE_BIN, ROOT

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
PHOTO = next(iter(sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"), key=lambda p: p.stat().st_size)))
# Hidden from every binary under test: the whole checkout (.build, Sources, bundles) and the toolchain.
HIDDEN = [ROOT, Path("/opt/swift")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alone(product: str, directory: Path) -> Path:
    binary = RELEASE_BIN / product
    if not binary.is_file():
        pytest.fail(f"{binary} is missing (make lint-deploy builds it)")
    target = directory / product
    shutil.copy2(binary, target)
    assert sorted(p.name for p in directory.iterdir()) == [product]
    return target


def hidden(command: list[str]) -> list[str]:
    """The command in a private mount namespace where HIDDEN are empty tmpfs mounts."""
    mounts = " && ".join(f"mount -t tmpfs -o size=1m,mode=0555 none '{path}'" for path in HIDDEN if path.exists())
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{mounts} && exec "$@"', "hide", *command]


def start(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ")}
    return subprocess.Popen(hidden(command), cwd=cwd, env={**clean, "HOME": str(cwd), "TMPDIR": str(cwd), **env},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited {process.returncode}: {log.read_text()[-3000:]}"
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered: {log.read_text()[-3000:]}")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serving(command: list[str], cwd: Path, env: dict[str, str], log: Path, ready_url: str):
    """A daemon started hidden, answering `ready_url`; on exit SIGTERM and a clean exit code 0."""
    process = start(command, cwd, env, log)
    try:
        wait_http(ready_url, process, log)
        yield process
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text()[-3000:]


@pytest.fixture()
def devstorage(tmp_path: Path):
    """The devstorage release binary, alone in its directory."""
    directory = tmp_path / "devstorage"
    directory.mkdir()
    binary = alone("devstorage", directory)
    blob, queue = free_port(), free_port()
    with serving([str(binary)], directory, {"DEVSTORAGE_HOST": "127.0.0.1", "DEVSTORAGE_BLOB_PORT": str(blob),
                                            "DEVSTORAGE_QUEUE_PORT": str(queue), "DEVSTORAGE_DATA_DIR": str(directory / "data")},
                 tmp_path / "devstorage.log", f"http://127.0.0.1:{blob}/"):
        yield (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
               f"BlobEndpoint=http://127.0.0.1:{blob}/{ACCOUNT};QueueEndpoint=http://127.0.0.1:{queue}/{ACCOUNT};")


def test_the_hiding_works(tmp_path: Path) -> None:
    out = subprocess.run(hidden(["ls", "-A", str(ROOT)]), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_uploader_alone_serves_its_page_and_api_description(tmp_path: Path, devstorage: str) -> None:
    (tmp_path / "uploader").mkdir()
    binary = alone("uploader", tmp_path / "uploader")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving([str(binary)], binary.parent, {"UPLOADER_HOST": "127.0.0.1", "UPLOADER_PORT": str(port),
                                                "UPLOADER_API_KEYS": "alone-key", "UPLOADER_STORAGE_CREATE": "true",
                                                "AZURE_STORAGE_CONNECTION_STRING": devstorage},
                 tmp_path / "uploader.log", f"{base}/healthz"):
        sources = ROOT / "Sources" / "Uploader" / "Resources" / "Web"
        for path, name, kind in (("/", "index.html", "text/html"), ("/app.js", "app.js", "text/javascript"),
                                 ("/app.css", "app.css", "text/css"), ("/openapi.yaml", "openapi.yaml", "application/yaml")):
            status, body, headers = get(base + path)
            assert status == 200, (path, body[:200])
            assert headers["Content-Type"].startswith(kind)
            assert body == (sources / name).read_bytes(), f"{path} differs from {name}"
        assert get(base + "/healthz")[0] == 200
        assert get(base + "/readyz")[0] == 200
        assert b"# TYPE" in get(base + "/metrics")[1]
        # and it does its job: a real photo, accepted and queued
        out = subprocess.run(["curl", "-sS", "-H", "X-API-Key: alone-key", "-F", f"file=@{PHOTO}", f"{base}/upload"],
                             capture_output=True, text=True, timeout=60)
        assert json.loads(out.stdout)["status"] == "queued", out.stdout


def test_processor_alone_serves_and_processes(tmp_path: Path, devstorage: str) -> None:
    directory = tmp_path / "processor"
    directory.mkdir()
    binary = alone("processor", directory)
    # one-shot mode: a real photo and a clip made with the ffmpeg CLI, outputs beside them
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:d=1:r=25", "-f", "lavfi",
                    "-i", "sine=d=1", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(clip)], check=True, timeout=120)
    media = tmp_path / "media"
    media.mkdir()
    for source in (PHOTO, clip):
        shutil.copy2(source, media / source.name)
        out = media / f"{source.stem}-out"
        run = subprocess.run(hidden([str(binary), "process", "--out", str(out), str(media / source.name)]), cwd=directory,
                             capture_output=True, text=True, timeout=300, env={"PATH": os.environ["PATH"], "HOME": str(directory)})
        assert run.returncode == 0, run.stdout + run.stderr
        assert any(out.iterdir()), f"no outputs for {source.name}"
    # the daemon
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving([str(binary), "serve"], directory, {"PROCESSOR_HOST": "127.0.0.1", "PROCESSOR_PORT": str(port),
                                                     "PROCESSOR_STORAGE_CREATE": "true", "PROCESSOR_TEMP_DIR": str(directory),
                                                     "PROCESSOR_SHUTDOWN_GRACE_SECONDS": "5",
                                                     "AZURE_STORAGE_CONNECTION_STRING": devstorage},
                 tmp_path / "processor.log", f"{base}/healthz"):
        assert get(f"{base}/healthz")[0] == 200
        assert get(f"{base}/readyz")[0] == 200
        assert b"# TYPE" in get(f"{base}/metrics")[1]


def test_storagetool_alone(tmp_path: Path, devstorage: str) -> None:
    directory = tmp_path / "storagetool"
    directory.mkdir()
    binary = alone("storagetool", directory)
    env = {"PATH": os.environ["PATH"], "HOME": str(directory), "AZURE_STORAGE_CONNECTION_STRING": devstorage}

    def tool(*args: str) -> str:
        run = subprocess.run(hidden([str(binary), *args]), capture_output=True, text=True, env=env, cwd=directory, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    assert "USAGE" in tool("--help").upper()
    tool("queue-put", "--queue", "alone", "--text", "hello")
    assert tool("queue-count", "--queue", "alone").strip() == "1"
