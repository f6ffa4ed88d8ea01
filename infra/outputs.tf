output "resource_group_name" {
  description = "The resource group of everything."
  value       = azurerm_resource_group.main.name
}

output "aks_name" {
  description = "The AKS cluster (az aks get-credentials -g <resource_group_name> -n <aks_name>)."
  value       = azurerm_kubernetes_cluster.main.name
}

output "acr_name" {
  description = "The container registry (az acr build -r <acr_name> ...)."
  value       = azurerm_container_registry.main.name
}

output "acr_login_server" {
  description = "The registry's login server: the image name prefix in k8s/kustomization.yaml."
  value       = azurerm_container_registry.main.login_server
}

output "storage_account_name" {
  description = "The storage account (AZURE_STORAGE_ACCOUNT)."
  value       = azurerm_storage_account.media.name
}

output "workload_identity_client_id" {
  description = "Client id of the pipeline's user-assigned identity (ServiceAccount annotation, KEDA identityId)."
  value       = azurerm_user_assigned_identity.pipeline.client_id
}

output "tenant_id" {
  description = "The Microsoft Entra tenant."
  value       = data.azurerm_client_config.current.tenant_id
}

output "oidc_issuer_url" {
  description = "The cluster's OIDC issuer (what the federated credentials trust)."
  value       = azurerm_kubernetes_cluster.main.oidc_issuer_url
}

output "k8s_azure_env" {
  description = "The content of k8s/azure.env: terraform -chdir=infra output -raw k8s_azure_env > k8s/azure.env"
  value       = <<-EOT
    storageAccount=${azurerm_storage_account.media.name}
    clientId=${azurerm_user_assigned_identity.pipeline.client_id}
    tenantId=${data.azurerm_client_config.current.tenant_id}
  EOT
}

output "storage_connection_string" {
  description = "Only with storage_shared_key_enabled = true: the connection string for k8s/components/connection-string."
  value       = var.storage_shared_key_enabled ? azurerm_storage_account.media.primary_connection_string : null
  sensitive   = true
}
