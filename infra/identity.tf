# One user-assigned identity for the pipeline. Its federated credentials let three Kubernetes
# ServiceAccounts exchange their tokens for Entra tokens of this identity: the uploader and the
# processor (k8s/serviceaccounts.yaml) and KEDA's operator (the AKS add-on's keda-operator in
# kube-system), which reads the queue length for k8s/keda.yaml's TriggerAuthentication.
resource "azurerm_user_assigned_identity" "pipeline" {
  name                = "id-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = var.tags
}

locals {
  federated_subjects = {
    uploader      = "system:serviceaccount:${var.namespace}:uploader"
    processor     = "system:serviceaccount:${var.namespace}:processor"
    keda-operator = "system:serviceaccount:kube-system:keda-operator"
  }
}

# user_assigned_identity_id (azurerm >= 4.65) replaces parent_id, and the resource group comes from
# that ID: resource_group_name is deprecated from 4.60 (infra/versions.tf).
resource "azurerm_federated_identity_credential" "pipeline" {
  for_each                  = local.federated_subjects
  name                      = "fic-${each.key}"
  user_assigned_identity_id = azurerm_user_assigned_identity.pipeline.id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = azurerm_kubernetes_cluster.main.oidc_issuer_url
  subject                   = each.value
}

# Data-plane access to the one storage account, nothing at the subscription level.
resource "azurerm_role_assignment" "pipeline_blob" {
  scope                = azurerm_storage_account.media.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.pipeline.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "pipeline_queue" {
  scope                = azurerm_storage_account.media.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = azurerm_user_assigned_identity.pipeline.principal_id
  principal_type       = "ServicePrincipal"
}

# The operator may read blobs and peek at queues (docs/deploy.md troubleshooting, az ... --auth-mode login).
resource "azurerm_role_assignment" "operator_blob_reader" {
  scope                = azurerm_storage_account.media.id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "operator_queue_reader" {
  scope                = azurerm_storage_account.media.id
  role_definition_name = "Storage Queue Data Reader"
  principal_id         = data.azurerm_client_config.current.object_id
}
