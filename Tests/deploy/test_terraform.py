"""infra/: parsed with python-hcl2 and checked for everything issue 6 asks of it."""
from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest

from conftest import INFRA, ROOT


def norm(value):
    """python-hcl2 wraps every attribute value in a one-element list and every block in a list of
    dicts; unwrap the attributes (blocks stay lists) and drop the line-number keys."""
    if isinstance(value, dict):
        return {k: norm_attribute(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [norm(v) for v in value]
    return value


def norm_attribute(value):
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], dict):
        return norm(value[0])
    return norm(value)


def load() -> dict[str, list]:
    merged: dict[str, list] = {}
    for path in sorted(INFRA.glob("*.tf")):
        with path.open() as f:
            for key, value in hcl2.load(f).items():
                merged.setdefault(key, []).extend(norm(value))
    return merged


TF = load()


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items()}
    return value


def resources(kind: str) -> dict[str, dict]:
    found = {}
    for block in TF.get("resource", []):
        for k, named in block.items():
            if unquote(k) == kind:
                for name, body in named.items():
                    found[unquote(name)] = unquote(body)
    return found


def one(kind: str) -> dict:
    found = resources(kind)
    assert len(found) == 1, f"expected one {kind}, found {list(found)}"
    return next(iter(found.values()))


def block(body: dict, name: str) -> dict:
    value = body[name]
    assert isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict), f"one {name} block"
    return value[0]


def names(kind: str) -> set[str]:
    """Names a resource creates: its `name`, or the literal keys of its for_each set."""
    out: set[str] = set()
    for body in resources(kind).values():
        if "for_each" in body:
            out |= set(re.findall(r"[\"']([a-z-]+)[\"']", str(body["for_each"])))
            out |= {"<var>"} if "var." in str(body["for_each"]) else set()
        else:
            out.add(body["name"])
    return out


def test_provider_is_azurerm() -> None:
    required = TF["terraform"][0]["required_providers"][0]
    assert block(required, "azurerm")["source"] == "hashicorp/azurerm"


def test_resource_group() -> None:
    one("azurerm_resource_group")


def test_storage_account() -> None:
    sa = one("azurerm_storage_account")
    assert sa["min_tls_version"] == "TLS1_2"
    assert sa["allow_nested_items_to_be_public"] is False
    assert sa["https_traffic_only_enabled"] is True
    assert sa["shared_access_key_enabled"] == "${var.storage_shared_key_enabled}"
    variable = next(v for block in TF["variable"] for k, v in block.items() if unquote(k) == "storage_shared_key_enabled")
    assert unquote(variable)["default"] is False


def test_containers_and_queues() -> None:
    containers = names("azurerm_storage_container")
    assert {"rawfiles", "processed"} <= containers
    status_default = next(unquote(v)["default"] for block in TF["variable"] for k, v in block.items()
                          if unquote(k) == "status_container_name")
    assert status_default == "jobstatus"
    assert names("azurerm_storage_queue") == {"jobqueue", "jobqueue-poison"}
    for kind in ("azurerm_storage_container", "azurerm_storage_queue"):
        for body in resources(kind).values():
            assert "storage_account_id" in body, f"{kind}: through ARM, not the data plane"


def test_lifecycle_rule_for_raw_files() -> None:
    policy = one("azurerm_storage_management_policy")
    rule = block(policy, "rule")
    assert block(rule, "filters")["prefix_match"] == ["rawfiles/"]
    base = block(block(rule, "actions"), "base_blob")
    assert "delete_after_days_since_modification_greater_than" in base


def test_acr() -> None:
    acr = one("azurerm_container_registry")
    assert acr["admin_enabled"] is False


def test_aks() -> None:
    aks = one("azurerm_kubernetes_cluster")
    assert aks["oidc_issuer_enabled"] is True
    assert aks["workload_identity_enabled"] is True
    assert block(aks, "workload_autoscaler_profile")["keda_enabled"] is True
    assert block(aks, "default_node_pool")["auto_scaling_enabled"] is True
    assert int(block(aks, "auto_scaler_profile")["max_graceful_termination_sec"]) >= 3660
    assert block(aks, "network_profile")["network_policy"] in {"cilium", "azure", "calico"}
    pool = one("azurerm_kubernetes_cluster_node_pool")
    assert pool["auto_scaling_enabled"] is True


def test_identity_and_federation() -> None:
    one("azurerm_user_assigned_identity")
    fic = one("azurerm_federated_identity_credential")
    assert "api://AzureADTokenExchange" in fic["audience"]
    subjects = next(block(l, "federated_subjects") for l in TF["locals"] if "federated_subjects" in l)
    assert set(subjects.values()) == {
        "system:serviceaccount:${var.namespace}:uploader",
        "system:serviceaccount:${var.namespace}:processor",
        "system:serviceaccount:kube-system:keda-operator",
    }


def test_role_assignments() -> None:
    roles = {body["role_definition_name"] for body in resources("azurerm_role_assignment").values()}
    assert {"Storage Blob Data Contributor", "Storage Queue Data Contributor", "AcrPull"} <= roles


def test_optional_event_grid_subscription() -> None:
    sub = one("azurerm_eventgrid_system_topic_event_subscription")
    assert sub["count"] == "${var.enable_event_grid ? 1 : 0}"
    assert sub["included_event_types"] == ["Microsoft.Storage.BlobCreated"]
    assert "jobqueue" in block(sub, "storage_queue_endpoint")["queue_name"]


def test_variables_documented_and_outputs_present() -> None:
    variables = {unquote(k): unquote(v) for block in TF["variable"] for k, v in block.items()}
    for name, body in variables.items():
        assert body.get("description"), f"variable {name} has no description"
    outputs = {unquote(k) for block in TF["output"] for k in block}
    assert {"acr_login_server", "acr_name", "aks_name", "resource_group_name", "storage_account_name",
            "workload_identity_client_id", "k8s_azure_env"} <= outputs
    readme = (INFRA / "README.md").read_text()
    for name in variables:
        assert f"`{name}`" in readme, f"infra/README.md does not describe variable {name}"
    for name in outputs:
        assert f"`{name}`" in readme, f"infra/README.md does not describe output {name}"


def test_checkov_skips_have_reasons() -> None:
    files = list(INFRA.glob("*.tf")) + list((ROOT / "k8s").rglob("*.yaml")) + list(ROOT.glob("Dockerfile*"))
    for path in files:
        for line in path.read_text().splitlines():
            m = re.search(r"checkov:skip=(CKV\w+):(.*)", line) or re.search(r"checkov\.io/skip\d+:\s*(CKV\w+)=(.*)", line)
            if m:
                assert len(m.group(2).strip()) >= 30, f"{path.name}: skip {m.group(1)} without a real reason"
