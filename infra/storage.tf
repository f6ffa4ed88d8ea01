# The storage account of the pipeline: Blob containers rawfiles / processed / jobstatus and the
# queues jobqueue / jobqueue-poison. Terraform creates them, so the daemons run with
# UPLOADER_STORAGE_CREATE=false / PROCESSOR_STORAGE_CREATE=false and need only data-plane roles.
resource "azurerm_storage_account" "media" {
  #checkov:skip=CKV_AZURE_59:Public endpoint stays on but default_action = "Deny": only the AKS subnet (service endpoint) and storage_allowed_ip_ranges get in. A private endpoint would also need private DNS for every client; add one if your policy demands it.
  #checkov:skip=CKV2_AZURE_33:Same as CKV_AZURE_59: network access is restricted with the firewall + service endpoint instead of a private endpoint.
  #checkov:skip=CKV2_AZURE_1:Encrypted at rest with Microsoft-managed keys plus infrastructure encryption; customer-managed keys need a Key Vault and key rotation process this stack does not own.
  #checkov:skip=CKV_AZURE_206:ZRS by default (survives a zone loss); geo-replication doubles the cost and is one variable away (storage_replication_type = "GZRS").
  #checkov:skip=CKV_AZURE_33:Queue logging goes to Log Analytics through the diagnostic setting below (queue_properties.logging is the classic-logging data-plane API, blocked here by the firewall).
  name                              = local.global_name
  resource_group_name               = azurerm_resource_group.main.name
  location                          = azurerm_resource_group.main.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.storage_replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = var.storage_shared_key_enabled
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  public_network_access_enabled     = true
  tags                              = var.tags

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices", "Logging", "Metrics"]
    virtual_network_subnet_ids = [azurerm_subnet.nodes.id]
    ip_rules                   = var.storage_allowed_ip_ranges
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }

  # Only relevant when Shared Key is on: no account SAS may live longer than a day.
  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }
}

resource "azurerm_storage_container" "media" {
  #checkov:skip=CKV2_AZURE_21:Blob read/write/delete logs go to Log Analytics through azurerm_monitor_diagnostic_setting.blob (category group allLogs), the replacement of classic Storage Analytics logging.
  for_each              = toset(["rawfiles", "processed", var.status_container_name])
  name                  = each.value
  storage_account_id    = azurerm_storage_account.media.id
  container_access_type = "private"
}

resource "azurerm_storage_queue" "jobs" {
  for_each           = toset(["jobqueue", "jobqueue-poison"])
  name               = each.value
  storage_account_id = azurerm_storage_account.media.id
}

# Raw uploads are only inputs: once processed (or poisoned) they are kept raw_retention_days for
# reprocessing and support, then deleted. Blobs a crashed upload left behind go the same way.
resource "azurerm_storage_management_policy" "media" {
  storage_account_id = azurerm_storage_account.media.id

  rule {
    name    = "delete-old-raw-files"
    enabled = true
    filters {
      prefix_match = ["rawfiles/"]
      blob_types   = ["blockBlob"]
    }
    actions {
      base_blob {
        delete_after_days_since_modification_greater_than = var.raw_retention_days
      }
      snapshot {
        delete_after_days_since_creation_greater_than = var.raw_retention_days
      }
    }
  }
}

resource "azurerm_monitor_diagnostic_setting" "queue" {
  name                       = "queue-logs"
  target_resource_id         = "${azurerm_storage_account.media.id}/queueServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category_group = "allLogs"
  }
}

resource "azurerm_monitor_diagnostic_setting" "blob" {
  name                       = "blob-logs"
  target_resource_id         = "${azurerm_storage_account.media.id}/blobServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category_group = "allLogs"
  }
}
