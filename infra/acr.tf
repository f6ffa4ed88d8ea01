# Premium: zone redundancy, retention of untagged manifests (7 days), dedicated data endpoints.
resource "azurerm_container_registry" "main" {
  #checkov:skip=CKV_AZURE_139:The registry must be reachable from `az acr build` / docker push on a workstation and from the AKS nodes without a private endpoint; pulls are authenticated (AcrPull on the kubelet identity), admin user and anonymous pull are off.
  #checkov:skip=CKV_AZURE_165:Geo-replication is for multi-region clusters; this stack is one region (zone-redundant registry).
  #checkov:skip=CKV_AZURE_164:Content trust (Notary v1) is deprecated by Azure in favour of Notation signing, which is a CI-pipeline concern outside this stack.
  #checkov:skip=CKV_AZURE_166:Quarantine holds every pushed image until a scanner releases it; there is no such scanner in this stack, so images could never be pulled.
  #checkov:skip=CKV_AZURE_163:Vulnerability scanning is Microsoft Defender for Containers, a subscription-level plan, not a registry setting.
  name                          = local.global_name
  resource_group_name           = azurerm_resource_group.main.name
  location                      = azurerm_resource_group.main.location
  sku                           = "Premium"
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = true
  zone_redundancy_enabled       = true
  data_endpoint_enabled         = true
  retention_policy_in_days      = 7
  tags                          = var.tags
}
