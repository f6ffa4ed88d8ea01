terraform {
  required_version = ">= 1.6.0"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.30"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
  # Containers and queues are created through Azure Resource Manager (storage_account_id), and any
  # data-plane call the provider makes uses Microsoft Entra ID: Shared Key can stay off.
  storage_use_azuread = true
}
