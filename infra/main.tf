data "azurerm_client_config" "current" {}

resource "random_string" "suffix" {
  length  = 6
  upper   = false
  special = false
}

locals {
  name        = "${var.prefix}-${random_string.suffix.result}"
  global_name = "${var.prefix}${random_string.suffix.result}"
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.name}"
  location = var.location
  tags     = var.tags
}

resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

# The cluster's network. The node subnet has a service endpoint for Microsoft.Storage, and the
# storage account only accepts traffic from this subnet (plus storage_allowed_ip_ranges).
resource "azurerm_virtual_network" "main" {
  name                = "vnet-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = ["10.42.0.0/16"]
  tags                = var.tags
}

resource "azurerm_subnet" "nodes" {
  name                 = "snet-aks-nodes"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = ["10.42.0.0/20"]
  service_endpoints    = ["Microsoft.Storage"]
}

# Subnet NSG. AKS keeps its own NSG on the node NICs up to date for LoadBalancer Services; this one
# at the subnet only has to let the uploader's public port through (plus Azure's default rules:
# VNet-internal traffic and the load balancer's probes).
#
# Destination: AKS creates its load-balancing rules with floating IP, so a packet reaches the node
# still addressed to the load balancer's public frontend IP (not the node's private IP), and AKS's
# own NSG rules use that frontend IP as destination. "VirtualNetwork" would not match it and port 80
# would be dropped here. The frontend IP is allocated by AKS when k8s/uploader.yaml's Service is
# created (Terraform does not own it), so the rule uses the "Internet" service tag, which covers
# Azure's public IP space and so the frontend, but not the VNet's private addresses. Nodes have no
# public IPs of their own. Sources: Azure Load Balancer "Floating IP" docs (with floating IP the
# mapping is to the frontend IP), cloud-provider-azure reconcileSecurityGroup (destination = LB
# IPs unless service.beta.kubernetes.io/azure-disable-load-balancer-floating-ip), Azure/AKS#674,
# and the Azure service tags overview (Internet includes the Azure-owned public IP space).
resource "azurerm_network_security_group" "nodes" {
  #checkov:skip=CKV_AZURE_160:Port 80 from the internet is the product: the uploader's public LoadBalancer Service (issue 6). Put TLS in front (Application Gateway for Containers or an ingress with certificates) before real traffic; see docs/deploy.md.
  name                = "nsg-aks-nodes-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = var.tags

  security_rule {
    name                       = "allow-uploader-http"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "80"
    source_address_prefix      = "Internet"
    destination_address_prefix = "Internet"
  }
}

resource "azurerm_subnet_network_security_group_association" "nodes" {
  subnet_id                 = azurerm_subnet.nodes.id
  network_security_group_id = azurerm_network_security_group.nodes.id
}
