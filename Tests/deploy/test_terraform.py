"""infra/: parsed with python-hcl2 and checked for everything issue 6 asks of it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2
import pytest

import terraform_constraints as tc
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


# ---- azurerm provider version vs. the arguments infra/ uses (azurerm_arguments.json) ----------

ARGUMENT_TABLE = json.loads((Path(__file__).parent / "azurerm_arguments.json").read_text())


def raw_documents() -> list[dict]:
    """python-hcl2's own output per file (block/attribute shapes intact, see tc.block_arguments)."""
    docs = []
    for path in sorted(INFRA.glob("*.tf")):
        with path.open() as f:
            docs.append(hcl2.load(f))
    return docs


def azurerm_constraint() -> str:
    required = TF["terraform"][0]["required_providers"][0]
    return block(required, "azurerm")["version"]


def version_problems(constraint: str, used: dict[str, set[str]], table: dict = ARGUMENT_TABLE) -> list[str]:
    """Every reason the constraint does not fit the arguments in `used` according to `table`."""
    intervals = tc.allowed(constraint)
    problems = []
    for kind, args in sorted(used.items()):
        for arg in sorted(args):
            entry = table["arguments"].get(kind, {}).get(arg)
            if entry is None:
                problems.append(f"{kind}.{arg}: not in azurerm_arguments.json")
                continue
            ends = [tc.parse_version(entry[k]) for k in ("deprecated", "removed") if entry.get(k)]
            for why in tc.outside(intervals, tc.parse_version(entry["introduced"]), min(ends) if ends else None):
                problems.append(f"{kind}.{arg} (introduced {entry['introduced']}, deprecated "
                                f"{entry.get('deprecated')}, removed {entry.get('removed')}): {constraint!r} {why}")
    checked = tc.parse_version(table["changelog_checked_through"])
    for why in tc.outside(intervals, tc.ZERO, (checked[0], checked[1] + 1, 0)):
        problems.append(f"changelog checked through {table['changelog_checked_through']} only: {constraint!r} {why}")
    for bad in table.get("known_bad_versions", []):
        if tc.allows(constraint, bad["version"]):
            problems.append(f"{constraint!r} allows {bad['version']}: {bad['why']}")
    return problems


def test_constraint_parser_operators() -> None:
    v = tc.parse_version
    assert tc.allowed("4.46.0") == tc.allowed("= 4.46.0") == [(v("4.46.0"), v("4.46.1"))]
    assert tc.allowed(">= 4.46") == [(v("4.46.0"), None)]
    assert tc.allowed("> 4.46.0") == [(v("4.46.1"), None)]
    assert tc.allowed("< 4.65") == [(tc.ZERO, v("4.65.0"))]
    assert tc.allowed("<= 4.64.2") == [(tc.ZERO, v("4.64.3"))]
    assert tc.allowed("~> 4.30") == [(v("4.30.0"), v("5.0.0"))]
    assert tc.allowed("~> 4.30.1") == [(v("4.30.1"), v("4.31.0"))]
    assert tc.allowed("~> 4") == [(v("4.0.0"), v("5.0.0"))]
    assert tc.allowed(">=4.46,<4.65") == [(v("4.46.0"), v("4.65.0"))]
    assert tc.allowed(">= 4.65.0, != 4.75.0, < 4.82.0") == [(v("4.65.0"), v("4.75.0")), (v("4.75.1"), v("4.82.0"))]
    assert tc.allowed(">= 4.65, < 4.60") == []
    assert tc.allows("~> 4.30", "4.99.3") and not tc.allows("~> 4.30", "5.0.0")
    assert not tc.allows(">= 4.65.0, != 4.75.0, < 4.82.0", "4.75.0")
    assert tc.allows(">= 4.65.0, != 4.75.0, < 4.82.0", "4.75.1")
    for bad in ("~> 4.x", ">= v4.0", "4.0.0-beta1", "=> 4.0", ""):
        with pytest.raises(ValueError):
            tc.allowed(bad)


def test_argument_collection_sees_blocks_dynamic_blocks_and_maps() -> None:
    doc = hcl2.loads('''
resource "azurerm_thing" "x" {
  count = 1
  name  = "a"
  tags  = { env = "dev" }
  outer {
    inner { leaf = true }
  }
  dynamic "profile" {
    for_each = [1]
    content { ranges = ["1.2.3.4/32"] }
  }
  depends_on = [azurerm_other.y]
}
resource "random_string" "s" { length = 6 }
''')
    assert tc.used_arguments([doc]) == {"azurerm_thing": {
        "name", "tags", "outer", "outer.inner", "outer.inner.leaf", "profile", "profile.ranges"}}


def test_every_used_azurerm_argument_is_in_the_version_table() -> None:
    used = tc.used_arguments(raw_documents())
    missing = sorted(f"{kind}.{arg}" for kind, args in used.items() for arg in args
                     if arg not in ARGUMENT_TABLE["arguments"].get(kind, {}))
    assert not missing, ("add these to Tests/deploy/azurerm_arguments.json with the first azurerm version that "
                         f"has them and a source: {missing}")
    for kind, entries in ARGUMENT_TABLE["arguments"].items():
        for arg, entry in entries.items():
            where = f"{kind}.{arg}"
            assert re.fullmatch(r"\d+\.\d+\.\d+", entry["introduced"]), where
            assert "https://" in entry.get("source", ""), f"{where}: no source URL"
            assert arg in used.get(kind, set()) or entry.get("unused_reason"), \
                f"{where} is no longer used by infra/: remove it or give an unused_reason"


def test_azurerm_constraint_fits_every_used_argument() -> None:
    problems = version_problems(azurerm_constraint(), tc.used_arguments(raw_documents()))
    assert not problems, "\n".join(problems)


def test_old_constraint_would_be_rejected() -> None:
    """The constraint this stack used to have lets terraform pick versions without these arguments."""
    problems = version_problems("~> 4.30", tc.used_arguments(raw_documents()))
    text = "\n".join(problems)
    for expected in ("azurerm_storage_queue.storage_account_id (introduced 4.46.0",
                     "azurerm_eventgrid_system_topic.source_resource_id (introduced 4.40.0",
                     "azurerm_federated_identity_credential.user_assigned_identity_id (introduced 4.65.0",
                     "changelog checked through 4.81.0 only", "allows 4.75.0"):
        assert expected in text, text


def test_deprecated_federated_credential_arguments_would_be_rejected() -> None:
    """parent_id + resource_group_name (the previous identity.tf) do not fit the current range."""
    problems = version_problems(azurerm_constraint(), {
        "azurerm_federated_identity_credential": {"parent_id", "resource_group_name"}})
    text = "\n".join(problems)
    assert "parent_id (introduced 4.0.0, deprecated 4.65.0" in text, text
    assert "resource_group_name (introduced 4.0.0, deprecated 4.60.0" in text, text


def test_uploader_nsg_rule_reaches_the_load_balancer_frontend() -> None:
    """AKS load-balancing rules use floating IP: packets keep the load balancer's public frontend IP as
    destination, so a subnet NSG rule with destination VirtualNetwork drops the uploader's port 80."""
    nsg = one("azurerm_network_security_group")
    rules = {r["name"]: r for r in nsg["security_rule"]}
    rule = rules["allow-uploader-http"]
    assert rule["direction"] == "Inbound" and rule["access"] == "Allow"
    assert rule["destination_port_range"] == "80"
    destination = rule.get("destination_address_prefix")
    assert destination != "VirtualNetwork"
    assert destination in {"*", "Internet"} or "azurerm_public_ip." in str(destination), destination
