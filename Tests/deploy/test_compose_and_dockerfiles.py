"""compose.yaml (parsed: no Docker engine here) and the Dockerfiles' structure; the HEALTHCHECK probe
script run for real against local HTTP servers."""
from __future__ import annotations

import http.server
import re
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

import dockerfile_parse
from conftest import ROOT

DOCKERFILES = ["Dockerfile.uploader", "Dockerfile.processor", "Dockerfile.devstorage"]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_shape(dockerfile: str) -> None:
    stages = dockerfile_parse.read(ROOT / dockerfile)
    assert len(stages) >= 2, "multi-stage"
    build, runtime = stages[0], stages[-1]
    assert re.fullmatch(r"swift:\d+\.\d+\.\d+-bookworm(@sha256:[0-9a-f]{64})?", build.image), build.image
    assert runtime.image == "debian:bookworm-slim"
    assert any("--static-swift-stdlib" in r and "-c release" in r for r in build.args("RUN"))
    assert re.fullmatch(r"\d+:\d+", runtime.args("USER")[-1]), "numeric non-root USER"
    assert not runtime.args("USER")[-1].startswith("0")
    assert runtime.args("HEALTHCHECK"), "HEALTHCHECK"
    assert not any("curl" in r or "wget" in r for r in runtime.args("RUN")), "no HTTP client in the runtime image"
    for source in (a.split()[-2] for a in runtime.args("COPY") if not a.startswith("--from")):
        assert (ROOT / source).exists(), f"{dockerfile}: COPY {source} does not exist"


def test_dockerignore_keeps_build_inputs() -> None:
    text = (ROOT / ".dockerignore").read_text()
    for needed in ("!Package.swift", "!Sources/", "!Tests/", "!profiles/", "!deploy/"):
        assert needed in text
    assert ".build" in text
    # the Python suites stay out: an edit to a test script must not invalidate the Swift build layer
    for suite in ("Tests/interop/", "Tests/deploy/", "Tests/images/"):
        assert suite in text.splitlines(), suite


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def probe(port: int, path: str) -> int:
    return subprocess.run(["bash", str(ROOT / "deploy" / "healthcheck.sh"), str(port), path], timeout=10,
                          stderr=subprocess.DEVNULL).returncode


def test_healthcheck_probe(server: int) -> None:
    assert probe(server, "/healthz") == 0
    assert probe(server, "/readyz") != 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert probe(closed, "/healthz") != 0


def test_compose_services() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"devstorage", "uploader", "processor"}
    for name, service in services.items():
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["read_only"] is True and service["user"] == "10001:10001"
        assert service["cap_drop"] == ["ALL"]
    for name in ("uploader", "processor"):
        deps = services[name]["depends_on"]
        assert deps["devstorage"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert "devstorage:10000" in env["AZURE_STORAGE_CONNECTION_STRING"]
        assert "devstorage:10001" in env["AZURE_STORAGE_CONNECTION_STRING"]
    assert services["devstorage"]["environment"]["DEVSTORAGE_HOST"] == "0.0.0.0"
    processor = services["processor"]
    assert processor["environment"]["PROCESSOR_TEMP_DIR"] in {v.split(":")[1] for v in processor["volumes"]}
    # compose must give a daemon at least its own shutdown grace before SIGKILL
    for name, key in (("uploader", "UPLOADER_SHUTDOWN_GRACE_SECONDS"), ("processor", "PROCESSOR_SHUTDOWN_GRACE_SECONDS")):
        grace = int(services[name]["environment"][key])
        assert int(services[name]["stop_grace_period"].rstrip("s")) > grace


def test_compose_top_level_keys_are_compose_spec() -> None:
    allowed = {"name", "services", "volumes", "networks", "secrets", "configs", "include"}
    assert {k for k in COMPOSE if not k.startswith("x-")} <= allowed
    service_keys = {"build", "image", "environment", "volumes", "tmpfs", "ports", "depends_on", "healthcheck", "command",
                    "read_only", "user", "cap_drop", "security_opt", "restart", "stop_grace_period"}
    for name, service in COMPOSE["services"].items():
        assert set(service) <= service_keys, f"{name}: {set(service) - service_keys}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DEAD_STORAGE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;")


@pytest.mark.parametrize("product,args,prefix", [("uploader", [], "UPLOADER"), ("processor", ["serve"], "PROCESSOR")])
def test_healthcheck_probe_against_the_release_binary(product: str, args: list[str], prefix: str, tmp_path: Path) -> None:
    """The image's HEALTHCHECK command (bash /dev/tcp, HTTP/1.0) against the real server: /healthz
    answers 200 with storage unreachable, /readyz does not."""
    import os
    import time

    from conftest import RELEASE_BIN
    binary = RELEASE_BIN / product
    if not binary.is_file():
        pytest.fail(f"{binary} is missing (make lint-deploy builds it)")
    port = free_port()
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=DEAD_STORAGE, TMPDIR=str(tmp_path),
               **{f"{prefix}_HOST": "127.0.0.1", f"{prefix}_PORT": str(port), f"{prefix}_STORAGE_CREATE": "false",
                  "UPLOADER_AUTH_DISABLED": "true", "PROCESSOR_TEMP_DIR": str(tmp_path),
                  # /readyz tolerates a storage blip for 30 s by default: no window here, so an
                  # unreachable storage is reported at once
                  "UPLOADER_READY_FAILURE_WINDOW_SECONDS": "0",
                  # storage is down on purpose: no retry loops to sit out at shutdown
                  "PROCESSOR_STORAGE_RETRIES": "0", "PROCESSOR_SHUTDOWN_GRACE_SECONDS": "5"})
    log = (tmp_path / "log").open("w")
    process = subprocess.Popen([str(binary), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and probe(port, "/healthz") != 0:
            assert process.poll() is None, (tmp_path / "log").read_text()
            time.sleep(0.2)
        assert probe(port, "/healthz") == 0, (tmp_path / "log").read_text()
        assert probe(port, "/readyz") != 0
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_one_build_stage_for_every_image() -> None:
    """The build stage is the same text in the three Dockerfiles, so a layer cache compiles the package
    once for all images (make images: one Swift build instead of three)."""
    def build_stage(name: str) -> str:
        text = (ROOT / name).read_text()
        return text[text.index("FROM swift:"):text.index("\nFROM debian:")].rsplit("\n# ----", 1)[0]

    stages = {name: build_stage(name) for name in DOCKERFILES}
    assert len(set(stages.values())) == 1, "build stages differ"
    for name in DOCKERFILES:
        product = name.split(".")[1]
        assert f"/out/{product} /usr/local/bin/{product}" in (ROOT / name).read_text()
