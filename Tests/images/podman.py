"""Our images started the way a platform starts them, with podman (no Docker engine here).

Every container runs as UID 10001 with a read-only root filesystem, all capabilities dropped,
no new privileges, and only the writable places the manifests declare (`tmpfs`/`volumes`);
podman's own tmpfs on /tmp, /var/tmp and /run for read-only containers is switched off so a
missing volume shows up as a failure. Host networking: bridge networking was never checked on
these machines (../shared/docs/containers-here.md), so each container gets its own ports.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TAG = os.environ.get("IMAGE_TAG", "test")
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "Tests" / "images" / "containers.conf"))
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
APP_UID = 10001
# Every container of a test run carries these labels, so a run can clean up after itself, and after
# earlier runs that died, without touching the containers of a run going on beside it.
LABEL = "mediapipeline-test=1"
SESSION = f"mediapipeline-test-session={os.getpid()}"


def image(name: str) -> str:
    return f"localhost/mediapipeline/{name}:{TAG}"


def podman(*args: str, check: bool = True, timeout: float = 300, input: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} → {result.returncode}: {result.stderr.decode(errors='replace')}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30, container: "Container | None" = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if container is not None and not container.running():
                raise RuntimeError(f"{container.name} exited: {container.logs()[-3000:]}")
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}" + (f": {container.logs()[-3000:]}" if container else ""))


def app_dir(prefix: str) -> Path:
    """A host directory the app user (10001) owns: a stand-in for an emptyDir or a named volume."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("IMAGES_WORK_DIR", "/var/tmp")))
    os.chown(path, APP_UID, APP_UID)
    path.chmod(0o700)
    return path


class Container:
    def __init__(self, name: str) -> None:
        self.name = name

    def running(self) -> bool:
        result = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return result.stdout.decode().strip() == "true"

    def inspect(self) -> dict:
        return json.loads(podman("inspect", self.name).stdout)[0]

    def exit_code(self) -> int:
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.decode().strip())

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return (result.stdout + result.stderr).decode(errors="replace")

    def exec(self, *command: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *command, check=check, timeout=timeout)

    def healthcheck(self) -> int:
        """Runs the image's own HEALTHCHECK once (podman healthcheck run): 0 = healthy."""
        return podman("healthcheck", "run", self.name, check=False, timeout=60).returncode

    def stop(self, timeout: int = 30) -> int:
        """SIGTERM, then SIGKILL after `timeout` s, as a kubelet or `docker stop` does."""
        podman("stop", "-t", str(timeout), self.name, check=False, timeout=timeout + 60)
        return self.exit_code()

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.name, check=False)


def run(image_name: str, name: str, *, env: dict[str, str] | None = None, volumes: dict[str, str] | None = None,
        tmpfs: list[str] = ("/tmp",), args: list[str] = (), entrypoint: str | None = None,
        extra: list[str] = (), detach: bool = True, timeout: float = 600) -> Container | subprocess.CompletedProcess:
    """`podman run` with the restricted pod security settings of our manifests."""
    command = ["run", "--name", name, "--label", LABEL, "--label", SESSION, "--network", "host",
               "--user", f"{APP_UID}:{APP_UID}", "--read-only", "--read-only-tmpfs=false",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for path in tmpfs:
        command += ["--tmpfs", f"{path}:rw,size=256m,mode=1777"]
    for host, target in (volumes or {}).items():
        command += ["-v", f"{host}:{target}"]
    for key, value in (env or {}).items():
        command += ["-e", f"{key}={value}"]
    if entrypoint is not None:
        command += ["--entrypoint", entrypoint]
    command += list(extra)
    if detach:
        podman(*command[:1], "-d", *command[1:], image_name, *args)
        return Container(name)
    return podman(*command, "--rm", image_name, *args, check=False, timeout=timeout)


def remove_test_containers(everything_of_this_session: bool = False) -> None:
    """This session's containers, and those of sessions whose process is gone."""
    listing = podman("ps", "-a", "--filter", f"label={LABEL}", "--format",
                     '{{.ID}} {{index .Labels "mediapipeline-test-session"}}', check=False).stdout.decode()
    doomed = []
    for line in listing.splitlines():
        container, _, pid = line.partition(" ")
        mine = pid == str(os.getpid())
        alive = pid.isdigit() and not mine and Path(f"/proc/{pid}").exists()
        if (mine and everything_of_this_session) or (not mine and not alive):
            doomed.append(container)
    if doomed:
        podman("rm", "-f", "-t", "0", *doomed, check=False)


class DevStorageContainer:
    """The devstorage image on free ports, its data in a host directory owned by the app user."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.blob_port, self.queue_port = free_port(), free_port()
        self.data = app_dir("devstorage-data-")
        self.container: Container | None = None
        self.start()

    def start(self) -> None:
        if self.container is not None:
            self.container.remove()
        self.container = run(image("devstorage"), self.name, volumes={str(self.data): "/data"},
                             env={"DEVSTORAGE_BLOB_PORT": str(self.blob_port), "DEVSTORAGE_QUEUE_PORT": str(self.queue_port),
                                  "DEVSTORAGE_LOG_LEVEL": "warning"})
        wait_for_port(self.blob_port, container=self.container)
        wait_for_port(self.queue_port, container=self.container)

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop(timeout=10)

    def close(self) -> None:
        if self.container is not None:
            self.container.remove()
        shutil.rmtree(self.data, ignore_errors=True)

    @property
    def blob_url(self) -> str:
        return f"http://127.0.0.1:{self.blob_port}/{ACCOUNT}"

    @property
    def queue_url(self) -> str:
        return f"http://127.0.0.1:{self.queue_port}/{ACCOUNT}"

    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint={self.blob_url};QueueEndpoint={self.queue_url};")
