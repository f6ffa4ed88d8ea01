terraform {
  required_version = ">= 1.6.0"
  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # The range the code needs, checked argument by argument against
      # Tests/deploy/azurerm_arguments.json (Tests/deploy/test_terraform.py fails when they disagree):
      #  - >= 4.65.0: azurerm_federated_identity_credential.user_assigned_identity_id first exists in
      #    4.65.0, where it replaced the now-deprecated parent_id (CHANGELOG-v4.md 4.65.0, #31921);
      #    resource_group_name on that resource is deprecated from 4.60.0 (#30860) and is not set.
      #    The other late arguments are older: azurerm_storage_queue.storage_account_id (4.46.0,
      #    #28752), azurerm_eventgrid_system_topic.source_resource_id (4.40.0),
      #    azurerm_storage_container.storage_account_id (4.9.0, #27733), features.storage (4.9.0).
      #    The old "~> 4.30" let terraform pick 4.30-4.45, where validate fails on these arguments.
      #  - != 4.75.0: its azurerm_federated_identity_credential update calls the create path and
      #    fails any in-place change with "already exists" (#32521, fixed in 4.76.0 by #32522).
      #  - < 4.82.0: 4.81.0 is the newest 4.x release whose changelog was checked against this code;
      #    azurerm_subnet.service_endpoints is deprecated by #32413 and removed in 5.0. Raise the bound
      #    only after checking the newer changelogs (and the table's changelog_checked_through).
      version = ">= 4.65.0, != 4.75.0, < 4.82.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "azurerm" {
  features {
    storage {
      # No azurerm_storage_account here uses queue_properties or static_website, so the provider need
      # not reach the account's Blob/Queue data-plane endpoints at all (which the storage firewall
      # blocks for a runner whose IP is not in storage_allowed_ip_ranges; see infra/README.md).
      # From azurerm 4.9.0 (#27818).
      data_plane_available = false
    }
  }
  subscription_id = var.subscription_id
  # Containers and queues are created through Azure Resource Manager (storage_account_id), and any
  # data-plane call the provider makes uses Microsoft Entra ID: Shared Key can stay off.
  storage_use_azuread = true
}
