"""The Kubernetes manifests played: `podman kube play` on what `kubectl kustomize` renders from k8s/
(with components/connection-string pointing at a devstorage pod, and the `:test` images).

The uploader and processor pods start with the manifests' own securityContext, volumes, environment,
Secrets, ConfigMap-mounted profile and resource limits, stay up, and a photo sent to the uploader pod
is processed by the processor pod. What kube play does not create (Service, NetworkPolicy, KEDA, …)
must be exactly what docs/deploy.md lists as "not exercised locally". The podman 4.3.1 workarounds
(patches in the test overlay, never edits of k8s/) are listed in kube.py.

Fixed host ports, as the manifests' containerPorts are published: 8080 (uploader), 8081 (processor),
10000/10001 (devstorage); the test fails at once if one is taken.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

import kube
import podman
from conftest import API_KEY, photos, wait_until

DOCS = podman.ROOT / "docs" / "deploy.md"
MARKER = "not exercised locally"
# Kinds a paragraph may name; the ones it names must be exactly the rendered kinds kube play skips.
KNOWN_KINDS = kube.PLAYED_KINDS | {
    "Namespace", "ServiceAccount", "Service", "NetworkPolicy", "PodDisruptionBudget", "ScaledObject",
    "TriggerAuthentication", "ScaledJob", "HorizontalPodAutoscaler", "Ingress", "Gateway", "HTTPRoute", "Role",
    "RoleBinding", "ClusterRole", "ClusterRoleBinding", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
    "LimitRange", "ResourceQuota", "PriorityClass", "PodMonitor", "ServiceMonitor", "PersistentVolume",
    "StorageClass", "SecretProviderClass", "Certificate",
}
# Fields of the Deployments that kube play (4.3.1) ignores or cannot honour here: the paragraph names each.
IGNORED_FIELDS = ("startupProbe", "livenessProbe", "readinessProbe", "preStop", "terminationGracePeriodSeconds",
                  "topologySpreadConstraints", "strategy", "replicas", "imagePullPolicy", "runAsNonRoot", "fsGroup",
                  "defaultMode", "sizeLimit", "ephemeral-storage")
UPLOADER, PROCESSOR, DEVSTORAGE = "uploader", "processor", "devstorage"
STAY_UP_SECONDS = 10
# A second line in the keys file: the uploader reads every line of the mounted Secret.
SECOND_KEY = "kube-play-second-key-0123456789"


def documented_not_exercised() -> str:
    """docs/deploy.md from the line that says "not exercised locally" to the next heading."""
    lines = DOCS.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if MARKER in line.lower()), None)
    assert start is not None, f'{DOCS.relative_to(podman.ROOT)} has no paragraph saying "{MARKER}"'
    block = []
    for line in lines[start:]:
        if block and line.startswith("#"):
            break
        block.append(line)
    return "\n".join(block)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, list[dict]]:
    workdir = tmp_path_factory.mktemp("kube-play")
    # From inside a pod, devstorage's published ports are on the bridge gateway (kube.py, Networking).
    docs = kube.render(workdir, api_keys=[API_KEY, SECOND_KEY],
                       pod_connection_string=kube.connection_string("host.containers.internal"))
    return workdir, docs


def test_what_kube_play_skips_is_documented(rendered) -> None:
    _, docs = rendered
    skipped = kube.not_played(docs)
    print("rendered but not played by podman kube play:", ", ".join(skipped))
    block = documented_not_exercised()
    documented = {kind for kind in re.findall(r"`([A-Za-z]+)`", block) if kind in KNOWN_KINDS}
    assert documented == {s.split("/")[0] for s in skipped}, (
        f"docs/deploy.md ({MARKER}) names {sorted(documented)}; kube play skips {skipped}")
    missing = [name for name in IGNORED_FIELDS if name not in block]
    assert not missing, f"docs/deploy.md ({MARKER}) does not mention {missing}"


def create_storage() -> None:
    """The containers and queues, as Terraform creates them in Azure (the ConfigMaps say *_STORAGE_CREATE=false)."""
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient
    local = kube.connection_string("127.0.0.1")
    blobs = BlobServiceClient.from_connection_string(local)
    for name in kube.CONTAINERS:
        blobs.create_container(name)
    queues = QueueServiceClient.from_connection_string(local)
    for name in kube.QUEUES:
        queues.create_queue(name)


@pytest.fixture(scope="module")
def played(rendered):
    workdir, docs = rendered
    play = kube.Play(workdir, docs)
    leftovers = play.leftovers()
    if leftovers:  # a run killed before its teardown
        print("removing what an earlier run left:", ", ".join(leftovers))
        play.close()
    busy = [port for port in kube.HOST_PORTS if kube.port_in_use(port)]
    if busy:
        listeners = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
        pytest.fail(f"host port(s) {busy} are taken; the played pods publish {list(kube.HOST_PORTS)}:\n{listeners}")
    try:
        play.create_secrets()
        storage = [d for d in play.played if d["metadata"]["name"] == DEVSTORAGE]
        play.play(storage, DEVSTORAGE)
        for port in (kube.BLOB_PORT, kube.QUEUE_PORT):
            podman.wait_for_port(port, timeout=30)
        create_storage()
        play.play([d for d in play.played if d not in storage], "mediapipeline")
        play.started = time.time()
        for port in (8080, 8081):
            try:
                podman.wait_for_port(port, timeout=60)
            except RuntimeError as error:
                raise RuntimeError(f"{error}\n{play.logs()}") from None
        yield play
    finally:
        left = play.close()
        assert not left, f"left behind after teardown: {left}"


def app_container(play: kube.Play, deployment: str) -> str:
    pods = kube.pod_names(play.doc("Deployment", deployment))
    assert len(pods) == 1, pods
    containers = play.containers(pods[0])
    assert len(containers) == 1, containers
    return containers[0]


def exec_(container: str, *command: str) -> subprocess.CompletedProcess:
    return podman.podman("exec", container, *command, check=False, timeout=60)


def quantity(value: str) -> float:
    units = {"m": 1e-3, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in sorted(units, key=len, reverse=True):
        if value.endswith(suffix):
            return float(value[:-len(suffix)]) * units[suffix]
    return float(value)


def expected_env(play: kube.Play, container: dict) -> dict[str, str]:
    """The environment Kubernetes would give the container: envFrom ConfigMaps/Secrets, then env."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(play.doc("ConfigMap", source["configMapRef"]["name"])["data"])
        elif "secretRef" in source:
            env.update(kube.secret_values(play.doc("Secret", source["secretRef"]["name"])))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]
        if "configMapKeyRef" in ref:
            env[item["name"]] = play.doc("ConfigMap", ref["configMapKeyRef"]["name"])["data"][ref["configMapKeyRef"]["key"]]
        elif "secretKeyRef" in ref:
            env[item["name"]] = kube.secret_values(play.doc("Secret", ref["secretKeyRef"]["name"]))[ref["secretKeyRef"]["key"]]
        else:
            raise AssertionError(f"unexpected env source {item}")
    return env


def check_pod(play: kube.Play, deployment: str) -> None:
    """The container of the Deployment's pod runs as its manifest says: checked from inside."""
    name = app_container(play, deployment)
    spec = play.doc("Deployment", deployment)["spec"]["template"]["spec"]
    container = spec["containers"][0]
    context = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    # the process: UID/GID, no capabilities, no new privileges, seccomp filter (RuntimeDefault)
    status = exec_(name, "cat", "/proc/1/status")
    assert status.returncode == 0, status.stderr
    fields = dict(line.split(":", 1) for line in status.stdout.decode().splitlines() if ":" in line)
    assert fields["Uid"].split() == [str(context["runAsUser"])] * 4, (name, fields["Uid"])
    assert fields["Gid"].split() == [str(context["runAsGroup"])] * 4, (name, fields["Gid"])
    assert context["capabilities"]["drop"] == ["ALL"]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap].strip(), 16) == 0, (name, cap, fields[cap].strip())
    assert context["allowPrivilegeEscalation"] is False and fields["NoNewPrivs"].strip() == "1", name
    assert context["seccompProfile"]["type"] == "RuntimeDefault" and fields["Seccomp"].strip() == "2", name
    # the root filesystem is read-only; the volumes are where the manifest mounts them, writable or not
    assert context["readOnlyRootFilesystem"] is True
    for path in ("/", "/etc", "/usr/local/bin", "/var"):
        probe = exec_(name, "sh", "-c", f"touch {path}/.kube-play-probe")
        assert probe.returncode != 0 and b"Read-only file system" in probe.stderr, (name, path, probe.stderr)
    volumes = {v["name"]: v for v in spec["volumes"]}
    checked_files = []
    for mount in container["volumeMounts"]:
        probe = exec_(name, "sh", "-c", f"touch {mount['mountPath']}/.kube-play-probe && rm {mount['mountPath']}/.kube-play-probe")
        assert (probe.returncode == 0) != bool(mount.get("readOnly")), (name, mount, probe.stderr)
        volume = volumes[mount["name"]]
        files = {}
        if "configMap" in volume:
            files = play.doc("ConfigMap", volume["configMap"]["name"])["data"]
        elif "secret" in volume:
            files = kube.secret_values(play.doc("Secret", volume["secret"]["secretName"]))
        for file, text in files.items():
            read = exec_(name, "cat", f"{mount['mountPath']}/{file}")
            assert read.returncode == 0 and read.stdout.decode() == text, (name, mount["mountPath"], file, read.stdout[:200])
            checked_files.append(f"{mount['mountPath']}/{file}")
    # the environment the process got: its ConfigMaps (envFrom), configMapKeyRef and secretKeyRef
    environ = exec_(name, "cat", "/proc/1/environ")
    assert environ.returncode == 0, environ.stderr
    got = dict(item.split("=", 1) for item in environ.stdout.decode().split("\0") if "=" in item)
    want = expected_env(play, container)
    assert {k: got.get(k) for k in want} == want, name
    # resource limits (memory, CPU) reach the container's cgroup settings
    limits = container.get("resources", {}).get("limits", {})
    host = podman.Container(name).inspect()["HostConfig"]
    if "memory" in limits:
        assert host["Memory"] == quantity(limits["memory"]), (name, host["Memory"])
    if "cpu" in limits:
        assert host["CpuQuota"] == round(quantity(limits["cpu"]) * host["CpuPeriod"]), (name, host["CpuQuota"], host["CpuPeriod"])
    print(f"{name}: uid/gid {context['runAsUser']}, no capabilities, read-only root, mounts "
          f"{[m['mountPath'] for m in container['volumeMounts']]}, files {checked_files}, {len(want)} env vars, limits {limits}")


def request(path: str, port: int = 8080, key: str | None = API_KEY, timeout: float = 10) -> tuple[int, bytes]:
    headers = {"X-API-Key": key} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_manifests_played(played: kube.Play) -> None:
    for deployment in (UPLOADER, PROCESSOR, DEVSTORAGE):
        check_pod(played, deployment)
    # the published containerPorts answer; the API keys come from the mounted Secret file
    assert request("/healthz", port=8081, key=None)[0] == 200
    assert request("/jobs/00000000-0000-0000-0000-000000000000", key=None)[0] == 401
    assert request("/jobs/00000000-0000-0000-0000-000000000000", key="not-a-key")[0] == 401
    assert request("/jobs/00000000-0000-0000-0000-000000000000", key=SECOND_KEY)[0] == 404
    # a photo through the uploader pod, processed by the processor pod
    photo = photos(1)[0]
    out = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", f"X-API-Key: {API_KEY}",
                          "-F", f"file=@{photo}", "http://127.0.0.1:8080/upload"], capture_output=True, timeout=120)
    text, _, code = out.stdout.decode(errors="replace").rpartition("\n")
    assert code == "202", (code, text, out.stderr, played.logs())
    job_id = json.loads(text)["jobId"]

    def finished():
        code, body = request(f"/jobs/{job_id}")
        status = json.loads(body) if code == 200 else None
        return status if status and status["status"] in ("succeeded", "failed") else None

    try:
        status = wait_until(finished, timeout=60, message=f"job {job_id}")
    except AssertionError:
        raise AssertionError(f"job {job_id} not finished:\n{played.logs()}") from None
    assert status["status"] == "succeeded", status
    outputs = {o["name"]: o for o in status["outputs"]}
    assert "image.webp" in outputs, outputs
    for output in outputs.values():
        if not output["name"].endswith(".webp"):
            continue
        code, data = request(output["url"])
        assert code == 200 and len(data) == output["bytes"], (code, output)
        image = Image.open(io.BytesIO(data))
        assert image.format == "WEBP" and image.size == (output["width"], output["height"]), (image.format, image.size, output)
    # they stay up: running, never restarted, some seconds after the start
    time.sleep(max(0.0, played.started + STAY_UP_SECONDS - time.time()))
    for deployment in (UPLOADER, PROCESSOR, DEVSTORAGE):
        state = podman.Container(app_container(played, deployment)).inspect()
        assert state["State"]["Running"] and state["RestartCount"] == 0, (deployment, state["State"], state["RestartCount"])
