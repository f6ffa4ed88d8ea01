"""Each image started as a platform starts it (UID 10001, read-only root filesystem, no capabilities,
no new privileges, only the manifests' volumes): it stays up, its own HEALTHCHECK passes, and it
answers what users and probes ask of it."""
from __future__ import annotations

import time

import podman
from conftest import API_KEY, processor, uploader


def assert_restricted(container: podman.Container) -> None:
    """What the kernel says about the running process, not what we asked podman for."""
    status = container.exec("cat", "/proc/1/status", check=True).stdout.decode()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split()[:2] == ["10001", "10001"], fields["Uid"]
    assert fields["Gid"].split()[:2] == ["10001", "10001"], fields["Gid"]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap].strip(), 16) == 0, f"{cap} = {fields[cap].strip()}"
    assert fields["NoNewPrivs"].strip() == "1"
    # the root filesystem is read-only
    for path in ("/", "/usr/local/bin", "/etc", "/var/tmp", "/home"):
        probe = container.exec("sh", "-c", f"touch {path}/.probe")
        assert probe.returncode != 0, f"{path} is writable"
        assert b"Read-only file system" in probe.stderr, probe.stderr
    # setuid programs in the base image (su, mount) gain nothing: no new privileges
    su = container.exec("su", "-c", "id -u", "root")
    assert su.returncode != 0


def test_devstorage_image(storage) -> None:
    container = storage.container
    assert_restricted(container)
    assert container.inspect()["Config"]["Healthcheck"]["Test"], "the image keeps its HEALTHCHECK (docker format)"
    assert container.healthcheck() == 0, container.logs()


def test_uploader_image(storage) -> None:
    daemon = uploader(storage)
    try:
        container = daemon.container
        assert_restricted(container)
        assert container.healthcheck() == 0, container.logs()
        for path, kind in (("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css"),
                           ("/openapi.yaml", "application/yaml")):
            status, body, headers = daemon.get(path)
            assert status == 200 and headers["Content-Type"].startswith(kind), (path, status, body[:300])
            assert len(body) > 500
        assert b"<html" in daemon.get("/")[1].lower()
        assert b"openapi:" in daemon.get("/openapi.yaml")[1]
        assert daemon.get("/healthz")[0] == 200
        assert daemon.get("/readyz")[0] == 200
        status, body, _ = daemon.get("/metrics")
        assert status == 200 and b"# TYPE" in body
        # an unauthenticated upload is refused; the key from the mounted Secret file works
        status, body, _ = daemon.get("/jobs/00000000-0000-0000-0000-000000000000")
        assert status == 401, body
        status, body, _ = daemon.get("/jobs/00000000-0000-0000-0000-000000000000", headers={"X-API-Key": API_KEY})
        assert status == 404, body
        time.sleep(2)
        assert container.running(), container.logs()
    finally:
        daemon.close()


def test_processor_image(storage) -> None:
    daemon = processor(storage)
    try:
        container = daemon.container
        assert_restricted(container)
        assert container.healthcheck() == 0, container.logs()
        assert daemon.get("/healthz")[0] == 200
        assert daemon.get("/readyz")[0] == 200
        assert b"# TYPE" in daemon.get("/metrics")[1]
        time.sleep(2)
        assert container.running(), container.logs()
        assert daemon.container.stop(timeout=40) == 0, daemon.container.logs()
    finally:
        daemon.close()
