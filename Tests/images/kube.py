"""The manifests of k8s/ played with `podman kube play` (podman 4.3.1 from Debian, runc).

`render` writes a test overlay over k8s/ (the connection-string component, our `:test` images, the
two Secrets, a devstorage Deployment) and renders it with `kubectl kustomize`. `Play` plays what
podman understands, in two steps: devstorage first, then, once the containers and queues exist,
everything else; its `close` takes down all of it, whatever state a failed run left behind.

What podman 4.3.1 needs that Kubernetes does not, each one a patch in the overlay (OVERLAY_PATCHES)
or a step here, never an edit of k8s/:
- `imagePullPolicy: Always` pulls even a local image, and no registry is reachable → `Never`.
- Every replica becomes a pod of its own (`<deployment>-pod-<n>`), and each publishes its
  containerPorts on the host: the uploader's second replica cannot bind 8080 → replicas 1.
- A `secret` volume without an explicit `optional` crashes kube play (nil pointer in
  VolumeFromSecret) → `optional: false`, which is Kubernetes' default anyway.
- Secrets: kube play stores a Secret document as YAML, but `secretKeyRef` reads a podman secret as a
  JSON map of base64 values (error "secret … is not valid JSON"), and a `secret` volume writes the
  values of `data` verbatim (so a kube-played Secret's files hold base64 text) and drops
  `stringData`. The rendered Secrets are therefore created with `podman secret create` in the shape
  their consumer needs, and not played.
- Networking: with `--network host` kube play refuses containerPorts ("PortMappings can only be used
  with Bridge or slirp4netns networking"), so the pods keep their own network namespaces on podman's
  kube bridge, each publishing its containerPorts on the host; pods reach devstorage's published
  ports through host.containers.internal (the bridge gateway).
- Volumes: an emptyDir becomes a podman volume named after the volume (the uploader's and the
  processor's "tmp" are one volume), a configMap/secret volume one named after the ConfigMap/Secret,
  files root-owned 0644 (`defaultMode`, `fsGroup` ignored). `podman kube down` removes neither those
  nor the secrets, and a failed `kube play` leaves its pod behind: `close` removes them by name.
- Ignored, and listed in docs/deploy.md: probes (turned into a healthcheck `curl localhost:0`, which
  no systemd runs here), preStop, terminationGracePeriodSeconds (stop timeout 10 s), runAsNonRoot,
  sizeLimit, ephemeral-storage, strategy, topologySpreadConstraints, the namespace.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import podman

ROOT = podman.ROOT
K8S = ROOT / "k8s"
COMPONENT = "components/connection-string"
# The kinds podman 4.3.1's kube play creates something for; the rest of the render is collected and
# must be exactly what docs/deploy.md lists as not exercised locally.
PLAYED_KINDS = {"Deployment", "ConfigMap", "Secret", "PersistentVolumeClaim", "Pod"}
BLOB_PORT, QUEUE_PORT = 10000, 10001
# The host ports the played pods publish (their containerPorts): the uploader, the processor's
# metrics port, devstorage's blob and queue ports.
HOST_PORTS = (8080, 8081, BLOB_PORT, QUEUE_PORT)
# What Terraform creates in Azure (infra/storage.tf); the ConfigMaps keep *_STORAGE_CREATE=false, so
# the test creates them as Terraform would before the daemons start.
CONTAINERS = ("rawfiles", "processed", "jobstatus")
QUEUES = ("jobqueue", "jobqueue-poison")
# The devstorage pod (ours, not part of k8s/): as hardened as the daemons' pods.
DEVSTORAGE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "devstorage", "namespace": "mediapipeline",
                 "labels": {"app.kubernetes.io/name": "devstorage", "app.kubernetes.io/part-of": "mediapipeline"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "devstorage"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "devstorage", "app.kubernetes.io/part-of": "mediapipeline"}},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": {"runAsNonRoot": True, "runAsUser": podman.APP_UID, "runAsGroup": podman.APP_UID,
                                    "fsGroup": podman.APP_UID, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "devstorage",
                    "image": podman.image("devstorage"),
                    "imagePullPolicy": "Never",
                    "env": [{"name": "DEVSTORAGE_HOST", "value": "0.0.0.0"},
                            {"name": "DEVSTORAGE_BLOB_PORT", "value": str(BLOB_PORT)},
                            {"name": "DEVSTORAGE_QUEUE_PORT", "value": str(QUEUE_PORT)},
                            {"name": "DEVSTORAGE_DATA_DIR", "value": "/data"},
                            {"name": "DEVSTORAGE_LOG_LEVEL", "value": "warning"}],
                    "ports": [{"name": "blob", "containerPort": BLOB_PORT, "protocol": "TCP"},
                              {"name": "queue", "containerPort": QUEUE_PORT, "protocol": "TCP"}],
                    "volumeMounts": [{"name": "devstorage-data", "mountPath": "/data"},
                                     {"name": "devstorage-tmp", "mountPath": "/tmp"}],
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "runAsNonRoot": True, "runAsUser": podman.APP_UID, "runAsGroup": podman.APP_UID,
                                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
                }],
                # podman 4.3.1 names an emptyDir's volume after the volume: names of their own, so devstorage
                # does not share the daemons' "tmp".
                "volumes": [{"name": "devstorage-data", "emptyDir": {}}, {"name": "devstorage-tmp", "emptyDir": {}}],
            },
        },
    },
}


def connection_string(host: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={podman.ACCOUNT};AccountKey={podman.KEY};"
            f"BlobEndpoint=http://{host}:{BLOB_PORT}/{podman.ACCOUNT};QueueEndpoint=http://{host}:{QUEUE_PORT}/{podman.ACCOUNT};")


def _json_patch(ops: list[dict]) -> str:
    return yaml.safe_dump(ops, sort_keys=False)


# The overlay's patches for podman 4.3.1 (see the module docstring), besides the values.
OVERLAY_PATCHES = [
    {"target": {"group": "apps", "version": "v1", "kind": "Deployment"},
     "patch": _json_patch([{"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Never"}])},
    {"target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": "uploader"},
     "patch": _json_patch([{"op": "replace", "path": "/spec/replicas", "value": 1}])},
]


def _secret_volume_patches(base: list[dict]) -> list[dict]:
    """`optional: false` on every secret volume of the base's Deployments (kube play 4.3.1 crashes without)."""
    patches = []
    for doc in base:
        if doc.get("kind") != "Deployment":
            continue
        ops = [{"op": "add", "path": f"/spec/template/spec/volumes/{i}/secret/optional", "value": False}
               for i, volume in enumerate(doc["spec"]["template"]["spec"].get("volumes", []))
               if "secret" in volume and "optional" not in volume["secret"]]
        if ops:
            patches.append({"target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": doc["metadata"]["name"]},
                            "patch": _json_patch(ops)})
    return patches


def render(workdir: Path, *, api_keys: list[str], pod_connection_string: str) -> list[dict]:
    """The overlay in `workdir`, rendered: k8s/ with the connection-string component, our images, the
    Secrets' values and devstorage, with the podman 4.3.1 patches."""
    base_kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    base = [d for f in base_kustomization["resources"] for d in yaml.safe_load_all((K8S / f).read_text()) if d]
    # k8s/ with the component enabled, as docs/deploy.md has it enabled in k8s/kustomization.yaml: a layer
    # of its own, so its patch (every Deployment gets AZURE_STORAGE_CONNECTION_STRING) stays off devstorage.
    layer = workdir / "with-connection-string"
    layer.mkdir()
    relative = os.path.relpath(K8S, layer)  # kustomize refuses absolute paths, not relative ones outside the root
    (layer / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [relative], "components": [f"{relative}/{COMPONENT}"]}, sort_keys=False))
    # The base's `images:` already renamed mediapipeline/* to the ACR placeholders: rename those.
    images = []
    for entry in base_kustomization.get("images", []):
        component = entry["name"].rsplit("/", 1)[-1]
        images.append({"name": entry.get("newName", entry["name"]), "newName": f"localhost/mediapipeline/{component}",
                       "newTag": podman.TAG})
    (workdir / "api-keys.txt").write_text("".join(f"{key}\n" for key in api_keys))
    (workdir / "devstorage.yaml").write_text(yaml.safe_dump(DEVSTORAGE, sort_keys=False))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [layer.name, "devstorage.yaml"],
        "images": images,
        # As docs/deploy.md step 6 creates it: --from-file=keys=api-keys.txt.
        "secretGenerator": [{"name": "uploader-api-keys", "namespace": "mediapipeline", "type": "Opaque",
                             "files": ["keys=api-keys.txt"], "options": {"disableNameSuffixHash": True}}],
        "patches": [
            {"target": {"version": "v1", "kind": "Secret", "name": "storage-connection"},
             "patch": _json_patch([{"op": "replace", "path": "/stringData/connectionString", "value": pod_connection_string}])},
            *OVERLAY_PATCHES,
            *_secret_volume_patches(base),
        ],
    }
    (workdir / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    out = subprocess.run(["kubectl", "kustomize", str(workdir)], capture_output=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {workdir}: {out.stderr.decode(errors='replace')}")
    (workdir / "rendered.yaml").write_bytes(out.stdout)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def not_played(docs: list[dict]) -> list[str]:
    """`Kind/name` of every rendered object podman kube play does not create anything for."""
    return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs if d["kind"] not in PLAYED_KINDS)


def secret_values(doc: dict) -> dict[str, str]:
    values = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
    values.update(doc.get("stringData") or {})
    return values


def pod_specs(docs: list[dict]) -> list[dict]:
    return [d["spec"]["template"]["spec"] if d["kind"] == "Deployment" else d["spec"]
            for d in docs if d["kind"] in ("Deployment", "Pod")]


def secret_uses(docs: list[dict]) -> dict[str, set[str]]:
    """Secret name → how the pods use it: "env" (secretKeyRef, envFrom secretRef) and/or "volume"."""
    uses: dict[str, set[str]] = {}
    for spec in pod_specs(docs):
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    uses.setdefault(ref["name"], set()).add("env")
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    uses.setdefault(source["secretRef"]["name"], set()).add("env")
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                uses.setdefault(volume["secret"]["secretName"], set()).add("volume")
    return uses


def podman_secret(doc: dict, use: set[str]) -> bytes:
    """The podman secret that podman 4.3.1 reads back the way Kubernetes would mount the Secret:
    for `secretKeyRef` a JSON map of base64 values, for a `secret` volume a document whose `data`
    holds the plain values (written to the files verbatim)."""
    values = secret_values(doc)
    if use == {"env"}:
        return json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in values.items()}).encode()
    if use == {"volume"}:
        return json.dumps({"data": values}).encode()
    raise AssertionError(f"Secret {doc['metadata']['name']} is used as {sorted(use)}: podman 4.3.1 can read one shape only")


def pod_names(doc: dict) -> list[str]:
    """The pods kube play makes of a Deployment (one per replica) or a Pod."""
    if doc["kind"] == "Pod":
        return [doc["metadata"]["name"]]
    replicas = doc["spec"].get("replicas")
    return [f"{doc['metadata']['name']}-pod-{i}" for i in range(1 if replicas is None else replicas)]


def volume_names(docs: list[dict]) -> set[str]:
    """The named volumes podman 4.3.1 makes of emptyDir (the volume's name), configMap (the ConfigMap's
    name) and secret (the Secret's name) volumes."""
    names = set()
    for spec in pod_specs(docs):
        for volume in spec.get("volumes", []):
            if "emptyDir" in volume:
                names.add(volume["name"])
            elif "configMap" in volume:
                names.add(volume["configMap"]["name"])
            elif "secret" in volume:
                names.add(volume["secret"]["secretName"])
            elif "persistentVolumeClaim" in volume:
                names.add(volume["persistentVolumeClaim"]["claimName"])
    return names


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


@dataclass
class Play:
    """The rendered documents played in `workdir`: devstorage, then the rest."""
    workdir: Path
    docs: list[dict]
    files: list[Path] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    started: float = 0.0

    @property
    def played(self) -> list[dict]:
        return [d for d in self.docs if d["kind"] in PLAYED_KINDS and d["kind"] != "Secret"]

    @property
    def pods(self) -> list[str]:
        return [name for d in self.played if d["kind"] in ("Deployment", "Pod") for name in pod_names(d)]

    def doc(self, kind: str, name: str) -> dict:
        return next(d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name)

    def leftovers(self) -> list[str]:
        pods = [p for p in self.pods if podman.podman("pod", "exists", p, check=False).returncode == 0]
        secrets = [s for s in self.secret_docs() if podman.podman("secret", "inspect", s, check=False).returncode == 0]
        volumes = [v for v in sorted(volume_names(self.played)) if podman.podman("volume", "exists", v, check=False).returncode == 0]
        return [f"pod {p}" for p in pods] + [f"secret {s}" for s in secrets] + [f"volume {v}" for v in volumes]

    def secret_docs(self) -> dict[str, dict]:
        return {d["metadata"]["name"]: d for d in self.docs if d["kind"] == "Secret"}

    def create_secrets(self) -> None:
        uses = secret_uses(self.played)
        for name, doc in self.secret_docs().items():
            if name not in uses:
                continue
            podman.podman("secret", "create", name, "-", input=podman_secret(doc, uses[name]))
            self.secrets.append(name)

    def play(self, docs: list[dict], name: str) -> str:
        path = self.workdir / f"{name}.play.yaml"
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        self.files.append(path)
        result = podman.podman("kube", "play", str(path), check=False, timeout=300)
        output = (result.stdout + result.stderr).decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"podman kube play {path.name} → {result.returncode}:\n{output}")
        return output

    def containers(self, pod: str) -> list[str]:
        """The pod's containers, without its infra container."""
        info = json.loads(podman.podman("pod", "inspect", pod).stdout)
        info = info[0] if isinstance(info, list) else info
        return [c["Name"] for c in info["Containers"] if c["Id"] != info.get("InfraContainerID")]

    def logs(self) -> str:
        parts = []
        for pod in self.pods:
            if podman.podman("pod", "exists", pod, check=False).returncode != 0:
                continue
            for name in self.containers(pod):
                result = podman.podman("logs", "--tail", "40", name, check=False)
                parts.append(f"--- {name}\n{(result.stdout + result.stderr).decode(errors='replace')}")
        return "\n".join(parts)

    def close(self) -> list[str]:
        """`podman kube down` for every played file, then whatever it leaves: pods (a failed play
        leaves its pod behind, and kube down stops at the first pod it does not find), the secrets and
        the named volumes. Returns what could not be removed."""
        for path in reversed(self.files):
            podman.podman("kube", "down", str(path), check=False, timeout=300)
        for pod in self.pods:
            if podman.podman("pod", "exists", pod, check=False).returncode == 0:
                podman.podman("pod", "rm", "-f", "-t", "0", pod, check=False, timeout=120)
        for name in set(self.secrets) | set(self.secret_docs()):
            podman.podman("secret", "rm", name, check=False)
        for name in volume_names(self.played):
            if podman.podman("volume", "exists", name, check=False).returncode == 0:
                podman.podman("volume", "rm", name, check=False)  # no -f: never a container of someone else
        return self.leftovers()
