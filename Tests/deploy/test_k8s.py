"""k8s/: kubernetes-validate (strict) on every built-in resource, KEDA resources against KEDA's CRD
schemas (../shared/schemas/keda), the kustomization's file list, and the policy the reliability
doc asks for (K1): Pod Security restricted, read-only root, limits, probes, grace, identity."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import K8S, K8S_VERSION, KEDA_SCHEMAS, ROOT

KUSTOMIZE_FILES = {"kustomization.yaml", "kustomization.yml"}


def resource_files() -> list[Path]:
    """Every YAML file under k8s/ that holds Kubernetes objects (not kustomizations or JSON patches)."""
    files = []
    for path in sorted(K8S.rglob("*.y*ml")):
        if path.name in KUSTOMIZE_FILES:
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        if docs and all(isinstance(d, dict) and "kind" in d for d in docs):
            files.append(path)
    return files


def documents() -> list[tuple[str, dict]]:
    out = []
    for path in resource_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((f"{path.relative_to(ROOT)}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return out


DOCS = documents()
# Prometheus Operator objects (k8s/components/monitoring) are checked against their CRDs by
# Tests/monitoring/test_k8s_monitoring.py.
BUILTIN = [(i, d) for i, d in DOCS if not d["apiVersion"].startswith(("keda.sh/", "monitoring.coreos.com/"))]
KEDA = [(i, d) for i, d in DOCS if d["apiVersion"].startswith("keda.sh/")]


def by_kind(kind: str, name: str | None = None) -> dict:
    found = [d for _, d in DOCS if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("ident,doc", BUILTIN, ids=[i for i, _ in BUILTIN])
def test_kubernetes_validate_strict(ident: str, doc: dict) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_strict_validation_rejects_unknown_fields() -> None:
    """Guard against a validator that silently passes everything."""
    doc = json.loads(json.dumps(by_kind("Deployment", "uploader")))
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def keda_schema(kind: str) -> dict:
    if not KEDA_SCHEMAS.is_dir():
        pytest.fail(f"KEDA CRD schemas not found at {KEDA_SCHEMAS}: CI expects the shared/ folder beside "
                    f"the clone (../shared/schemas/keda); set SHARED_DIR to point elsewhere")
    for path in KEDA_SCHEMAS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if crd.get("kind") == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v.get("served", True))
            return version["schema"]["openAPIV3Schema"]
    pytest.fail(f"no CRD for {kind} in {KEDA_SCHEMAS}")


def strict(schema: dict) -> dict:
    """CRD schemas allow unknown fields only where they say so; make that explicit for jsonschema."""
    schema = dict(schema)
    if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema["additionalProperties"] = False
    for key in ("properties",):
        if key in schema:
            schema[key] = {k: strict(v) for k, v in schema[key].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = strict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict(schema["additionalProperties"])
    return schema


@pytest.mark.parametrize("ident,doc", KEDA, ids=[i for i, _ in KEDA])
def test_keda_resources_match_crd_schema(ident: str, doc: dict) -> None:
    schema = strict(keda_schema(doc["kind"]))
    schema["properties"].pop("metadata", None)  # ObjectMeta is checked by the API server, not the CRD
    jsonschema.validate({k: v for k, v in doc.items() if k != "metadata"}, schema)


def test_keda_kinds_present() -> None:
    kinds = sorted(d["kind"] for _, d in KEDA)
    assert kinds == ["ScaledObject", "TriggerAuthentication"]


def test_keda_schema_rejects_a_wrong_field() -> None:
    doc = json.loads(json.dumps(by_kind("ScaledObject")))
    doc["spec"]["minReplicas"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in doc.items() if k != "metadata"}, strict(keda_schema("ScaledObject")))


def kustomization(path: Path) -> dict:
    return yaml.safe_load((path / "kustomization.yaml").read_text())


def referenced_files(directory: Path) -> set[Path]:
    k = kustomization(directory)
    files = {directory / r for r in k.get("resources", [])}
    files |= {directory / p["path"] for p in k.get("patches", []) if "path" in p}
    for generator in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        files |= {directory / f for f in generator.get("envs", []) + generator.get("files", [])}
    return files


def test_kustomization_files_exist_and_every_manifest_is_listed() -> None:
    directories = [K8S] + [p.parent for p in K8S.rglob("kustomization.yaml") if p.parent != K8S]
    listed: set[Path] = set()
    for directory in directories:
        for path in referenced_files(directory):
            assert path.is_file(), f"{directory / 'kustomization.yaml'} names {path.relative_to(ROOT)}, which does not exist"
            listed.add(path)
    for component in kustomization(K8S).get("components", []):
        assert (K8S / component / "kustomization.yaml").is_file()
    commented = re.findall(r"#\s+-\s+(components/\S+)", (K8S / "kustomization.yaml").read_text())
    for component in commented:
        assert (K8S / component / "kustomization.yaml").is_file(), component
    on_disk = {p for p in K8S.rglob("*") if p.is_file() and p.name not in KUSTOMIZE_FILES}
    unlisted = sorted(str(p.relative_to(ROOT)) for p in on_disk - listed)
    assert not unlisted, f"files in k8s/ that no kustomization uses: {unlisted}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("component", [None, "components/connection-string"])
def test_kustomize_renders_and_output_validates(tmp_path: Path, component: str | None) -> None:
    work = tmp_path / "k8s"
    shutil.copytree(K8S, work)
    if component:
        k = kustomization(work)
        k["components"] = [component]
        (work / "kustomization.yaml").write_text(yaml.safe_dump(k))
    out = subprocess.run(["kubectl", "kustomize", str(work)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    for doc in rendered:
        assert doc["metadata"].get("namespace", "mediapipeline") == "mediapipeline" or doc["kind"] == "Namespace"
        if not doc["apiVersion"].startswith("keda.sh/"):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        else:
            jsonschema.validate({k: v for k, v in doc.items() if k != "metadata"}, strict(keda_schema(doc["kind"])))
    azure = next(d for d in rendered if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("mediapipeline-azure-"))
    for sa in (d for d in rendered if d["kind"] == "ServiceAccount"):
        assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == azure["data"]["clientId"]
    scaled = next(d for d in rendered if d["kind"] == "ScaledObject")
    assert scaled["spec"]["triggers"][0]["metadata"]["accountName"] == azure["data"]["storageAccount"]
    for deployment in (d for d in rendered if d["kind"] == "Deployment"):
        refs = [e["valueFrom"]["configMapKeyRef"]["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
                if "configMapKeyRef" in e.get("valueFrom", {})]
        assert refs == [azure["metadata"]["name"]], "the hashed ConfigMap name must reach the pods"
    auth = next(d for d in rendered if d["kind"] == "TriggerAuthentication")
    if component:
        assert auth["spec"]["secretTargetRef"][0]["parameter"] == "connection"
        assert auth["spec"]["podIdentity"]["provider"] == "none"
    else:
        assert auth["spec"]["podIdentity"] == {"provider": "azure-workload", "identityId": azure["data"]["clientId"]}


def pod_spec(name: str) -> dict:
    return by_kind("Deployment", name)["spec"]["template"]["spec"]


@pytest.mark.parametrize("name", ["uploader", "processor"])
def test_pod_security_restricted(name: str) -> None:
    spec = pod_spec(name)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == name
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add")
        assert sc["runAsUser"] >= 10000
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{name}: {kind}"
        assert c["livenessProbe"] and c["readinessProbe"]
        assert ":" in c["image"] and not c["image"].endswith(":latest")
    namespace = by_kind("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_uploader_shape() -> None:
    deployment = by_kind("Deployment", "uploader")
    assert deployment["spec"]["replicas"] == 2
    c = deployment["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["ports"][0]["containerPort"] == 8080
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert "/tmp" in mounts
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    service = by_kind("Service", "uploader")
    assert service["spec"]["type"] == "LoadBalancer" and service["spec"]["ports"][0]["port"] == 80
    assert by_kind("PodDisruptionBudget", "uploader")["spec"]["minAvailable"] >= 1
    env = by_kind("ConfigMap", "uploader-env")["data"]
    assert env["UPLOADER_STORAGE_CREATE"] == "false"
    keys_mount = next(m for m in c["volumeMounts"] if m["name"] == "api-keys")
    assert env["UPLOADER_API_KEYS_FILE"].startswith(keys_mount["mountPath"] + "/")
    assert int(env["UPLOADER_SHUTDOWN_GRACE_SECONDS"]) + c["lifecycle"]["preStop"]["sleep"]["seconds"] \
        < deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def longest_job_seconds() -> int:
    """The wall-clock limit of one job in the profile the cluster mounts."""
    profile = json.loads(by_kind("ConfigMap", "processing-profile")["data"]["profile.json"])
    return int(profile["limits"]["video"]["maxJobSeconds"])


def test_processor_shape() -> None:
    deployment = by_kind("Deployment", "processor")
    spec = deployment["spec"]["template"]["spec"]
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    c = spec["containers"][0]
    env = by_kind("ConfigMap", "processor-env")["data"]
    grace = int(env["PROCESSOR_SHUTDOWN_GRACE_SECONDS"])
    assert grace >= longest_job_seconds()
    assert spec["terminationGracePeriodSeconds"] >= grace + c["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert c["livenessProbe"]["httpGet"]["port"] == "metrics" and c["ports"][0]["containerPort"] == 8081
    assert env["PROCESSOR_STORAGE_CREATE"] == "false"
    assert env["PROCESSOR_TEMP_DIR"] == env["TMPDIR"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    work = next(m for m in c["volumeMounts"] if m["mountPath"] == env["PROCESSOR_TEMP_DIR"])
    assert volumes[work["name"]]["emptyDir"]["sizeLimit"] == "10Gi"
    profile_mount = next(m for m in c["volumeMounts"] if env["PROCESSOR_PROFILE"].startswith(m["mountPath"] + "/"))
    assert volumes[profile_mount["name"]]["configMap"]["name"] == "processing-profile"


def test_profile_in_configmap_is_the_default_profile() -> None:
    data = by_kind("ConfigMap", "processing-profile")["data"]
    assert json.loads(data["profile.json"]) == json.loads((ROOT / "profiles" / "default.json").read_text())


def test_scaledobject_policy() -> None:
    scaled = by_kind("ScaledObject", "processor")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "processor"
    assert 0 <= scaled["minReplicaCount"] < scaled["maxReplicaCount"]
    [trigger] = scaled["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "azure-queue"
    assert meta["queueName"] == "jobqueue", "never scale on the poison queue"
    assert meta["queueLengthStrategy"] == "all", "leased (invisible) jobs must count, see keda.yaml"
    assert int(meta["queueLength"]) > 0 and int(meta["activationQueueLength"]) >= 0
    auth = by_kind("TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert auth["spec"]["podIdentity"]["provider"] == "azure-workload"


def test_workload_identity_wiring() -> None:
    for name in ("uploader", "processor"):
        sa = by_kind("ServiceAccount", name)
        assert "azure.workload.identity/client-id" in sa["metadata"]["annotations"]
        labels = by_kind("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert labels["azure.workload.identity/use"] == "true"
    text = "\n".join(p.read_text() for p in resource_files() if "components" not in p.parts)
    assert "AccountKey=" not in text and "AZURE_STORAGE_CONNECTION_STRING" not in text


def test_network_policies() -> None:
    policies = [d for _, d in DOCS if d["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "a default-deny policy"
    for name in ("uploader", "processor"):
        own = [p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == name]
        assert own and any(e["ports"][0]["port"] == 443 for p in own for e in p["spec"].get("egress", []))
    processor = next(p for p in policies if p["metadata"]["name"] == "processor")
    assert all(rule.get("from") for rule in processor["spec"]["ingress"]), "processor ingress only from named sources"


@pytest.mark.parametrize("name,port", [("uploader", "8080"), ("processor", "8081")])
def test_prometheus_scrape_annotations(name: str, port: str) -> None:
    annotations = by_kind("Deployment", name)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == port


def test_configmap_keys_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for cm in ("uploader-env", "processor-env"):
        for key in by_kind("ConfigMap", cm)["data"]:
            if key in {"TMPDIR", "PROCESSOR_TEMP_DIR"}:
                continue  # PROCESSOR_TEMP_DIR: honoured by the processor once video lands (issue 6 brief)
            assert f"`{key}`" in readme or f"{key}`" in readme, f"{cm}: {key} is not in README's configuration reference"
