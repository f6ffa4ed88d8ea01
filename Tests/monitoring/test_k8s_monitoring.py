"""k8s/components/monitoring: the PodMonitor and the PrometheusRule against the Prometheus
Operator's CRD schemas (../shared/schemas/prometheus-operator), as Tests/deploy validates KEDA's;
the PrometheusRule carries exactly the rule file's groups; the component renders with kustomize and
scrapes the ports the deployments expose."""
import json
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from conftest import COMPONENT, OPERATOR_SCHEMAS, ROOT, RULES


def crd_schema(kind):
    if not OPERATOR_SCHEMAS.is_dir():
        pytest.fail(f"Prometheus Operator CRD schemas not found at {OPERATOR_SCHEMAS} (set SHARED_DIR)")
    for path in OPERATOR_SCHEMAS.glob("*.yaml"):
        # The schema's Go regex `^(?i)...` is not Python's: move the flag to the front (see its README).
        crd = yaml.safe_load(path.read_text().replace("^(?i)(abort|warn)?$", "(?i)^(abort|warn)?$"))
        if crd.get("kind") == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
            return version["schema"]["openAPIV3Schema"]
    pytest.fail(f"no CRD for {kind} in {OPERATOR_SCHEMAS}")


def strict(schema):
    """The CRDs do not forbid unknown fields; forbid them where the schema lists properties, so a
    misspelt key fails."""
    schema = dict(schema)
    if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema["additionalProperties"] = False
    if "properties" in schema:
        schema["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = strict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict(schema["additionalProperties"])
    return schema


def validate(doc):
    schema = strict(crd_schema(doc["kind"]))
    schema["properties"].pop("metadata", None)  # ObjectMeta is the API server's to check
    jsonschema.validate({k: v for k, v in doc.items() if k != "metadata"}, schema)


def documents():
    kustomization = yaml.safe_load((COMPONENT / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Component"
    return [doc for name in kustomization["resources"] for doc in yaml.safe_load_all((COMPONENT / name).read_text()) if doc]


DOCS = documents()


@pytest.mark.parametrize("doc", DOCS, ids=[d["kind"] for d in DOCS])
def test_matches_the_operator_crd(doc):
    validate(doc)


def test_kinds():
    assert sorted(d["kind"] for d in DOCS) == ["PodMonitor", "PrometheusRule"]


@pytest.mark.parametrize("kind,path,value", [
    ("PodMonitor", ("spec", "podMetricsEndpoints", 0, "intervall"), "30s"),
    ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "expression"), "up"),
    ("PrometheusRule", ("spec", "groups", 0, "rules", -1, "for"), 15),
])
def test_schema_rejects_a_wrong_field(kind, path, value):
    doc = json.loads(json.dumps(next(d for d in DOCS if d["kind"] == kind)))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_prometheusrule_is_the_rule_file():
    rule = next(d for d in DOCS if d["kind"] == "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_podmonitor_scrapes_the_ports_the_deployments_expose():
    monitor = next(d for d in DOCS if d["kind"] == "PodMonitor")
    ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    selected = set(monitor["spec"]["selector"]["matchExpressions"][0]["values"])
    exposed = {}
    for name in ("uploader", "processor"):
        deployment = next(d for d in yaml.safe_load_all((ROOT / "k8s" / f"{name}.yaml").read_text()) if d and d["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        exposed[name] = {p["name"] for p in container["ports"]}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        port = next(p for p in container["ports"] if str(p["containerPort"]) == annotations["prometheus.io/port"])
        assert port["name"] in ports, f"{name} serves metrics on {port['name']}, which the PodMonitor does not scrape"
    assert selected == {"uploader", "processor"}
    assert ports <= exposed["uploader"] | exposed["processor"]
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
def test_kustomize_renders_with_the_component(tmp_path):
    work = tmp_path / "k8s"
    shutil.copytree(ROOT / "k8s", work)
    kustomization = yaml.safe_load((work / "kustomization.yaml").read_text())
    kustomization["components"] = ["components/monitoring"]
    (work / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    out = subprocess.run(["kubectl", "kustomize", str(work)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d and d["apiVersion"].startswith("monitoring.coreos.com/")]
    assert sorted(d["kind"] for d in rendered) == ["PodMonitor", "PrometheusRule"]
    for doc in rendered:
        assert doc["metadata"]["namespace"] == "mediapipeline"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mediapipeline"
        validate(doc)
