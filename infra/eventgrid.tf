# Optional (enable_event_grid): a BlobCreated event for every file dropped into
# rawfiles/<event_grid_prefix> becomes a message on jobqueue; the processor handles such events
# like uploads (README, "processor"). The uploader's own blobs live under dated paths
# (rawfiles/2026/11/23/...) outside the prefix and are queued by the uploader itself, so nothing is
# processed twice. Delivery authenticates with the system topic's managed identity, which the
# storage firewall admits as a trusted Azure service.
resource "azurerm_eventgrid_system_topic" "storage" {
  count               = var.enable_event_grid ? 1 : 0
  name                = "evgt-${local.name}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  source_resource_id  = azurerm_storage_account.media.id
  topic_type          = "Microsoft.Storage.StorageAccounts"
  tags                = var.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_role_assignment" "eventgrid_queue_sender" {
  count                = var.enable_event_grid ? 1 : 0
  scope                = azurerm_storage_account.media.id
  role_definition_name = "Storage Queue Data Message Sender"
  principal_id         = azurerm_eventgrid_system_topic.storage[0].identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "blob_created" {
  count                 = var.enable_event_grid ? 1 : 0
  name                  = "blobcreated-to-jobqueue"
  system_topic          = azurerm_eventgrid_system_topic.storage[0].name
  resource_group_name   = azurerm_resource_group.main.name
  included_event_types  = ["Microsoft.Storage.BlobCreated"]
  event_delivery_schema = "EventGridSchema"

  subject_filter {
    subject_begins_with = "/blobServices/default/containers/rawfiles/blobs/${var.event_grid_prefix}"
  }

  storage_queue_endpoint {
    storage_account_id = azurerm_storage_account.media.id
    queue_name         = azurerm_storage_queue.jobs["jobqueue"].name
    # Like the uploader's messages: never expire (a long outage must not drop jobs).
    queue_message_time_to_live_in_seconds = -1
  }

  delivery_identity {
    type = "SystemAssigned"
  }

  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }

  depends_on = [azurerm_role_assignment.eventgrid_queue_sender]
}
