# AKS with the OIDC issuer + workload identity (pods get Entra tokens without secrets), the KEDA
# add-on (queue-depth scaling, k8s/keda.yaml), the cluster autoscaler on both pools, Azure CNI
# overlay with Cilium (enforces k8s/networkpolicy.yaml), Entra ID + Azure RBAC for kubectl.
resource "azurerm_kubernetes_cluster" "main" {
  #checkov:skip=CKV_AZURE_115:docs/deploy.md drives kubectl from a workstation; a private API server would need a jump host or VPN. Access is Entra ID only (local accounts off) and can be narrowed with api_server_authorized_ip_ranges.
  #checkov:skip=CKV_AZURE_6:Authorized IP ranges are a variable (api_server_authorized_ip_ranges); the default is empty because the operator's address is not known in advance. docs/deploy.md sets it.
  #checkov:skip=CKV_AZURE_117:OS and data disks use platform-managed keys plus encryption at host; a customer-managed disk encryption set needs a Key Vault this stack does not own.
  name                         = "aks-${local.name}"
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  dns_prefix                   = local.name
  kubernetes_version           = var.kubernetes_version
  sku_tier                     = var.aks_sku_tier
  oidc_issuer_enabled          = true
  workload_identity_enabled    = true
  local_account_disabled       = true
  azure_policy_enabled         = true
  automatic_upgrade_channel    = "patch"
  node_os_upgrade_channel      = "NodeImage"
  image_cleaner_enabled        = true
  image_cleaner_interval_hours = 48
  tags                         = var.tags

  default_node_pool {
    # System pool: CoreDNS, KEDA, metrics-server, konnectivity; application pods go to "work".
    name                         = "system"
    vm_size                      = var.system_vm_size
    vnet_subnet_id               = azurerm_subnet.nodes.id
    zones                        = var.zones
    only_critical_addons_enabled = true
    auto_scaling_enabled         = true
    min_count                    = 1
    max_count                    = 3
    max_pods                     = 50
    os_disk_type                 = "Ephemeral"
    os_disk_size_gb              = 64
    host_encryption_enabled      = var.host_encryption_enabled
    temporary_name_for_rotation  = "systemtmp"
    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled = true
    tenant_id          = data.azurerm_client_config.current.tenant_id
  }

  dynamic "api_server_access_profile" {
    for_each = length(var.api_server_authorized_ip_ranges) > 0 ? [1] : []
    content {
      authorized_ip_ranges = var.api_server_authorized_ip_ranges
    }
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    load_balancer_sku   = "standard"
    outbound_type       = "loadBalancer"
    pod_cidr            = "192.168.0.0/16"
    service_cidr        = "10.43.0.0/16"
    dns_service_ip      = "10.43.0.10"
  }

  workload_autoscaler_profile {
    keda_enabled = true
  }

  auto_scaler_profile {
    # A processor may need 3600 s to finish its jobs (terminationGracePeriodSeconds 3660, see
    # k8s/processor.yaml); the autoscaler's default of 600 s would kill it mid-transcode when it
    # empties a node.
    max_graceful_termination_sec  = 3660
    scale_down_unneeded           = "10m"
    scale_down_delay_after_add    = "10m"
    balance_similar_node_groups   = true
    skip_nodes_with_local_storage = false
    expander                      = "least-waste"
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.main.id
    msi_auth_for_monitoring_enabled = true
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }
}

# Workload pool: the uploader and processor pods, scaled by the cluster autoscaler as KEDA adds
# processors.
resource "azurerm_kubernetes_cluster_node_pool" "work" {
  name                    = "work"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.main.id
  mode                    = "User"
  vm_size                 = var.work_vm_size
  vnet_subnet_id          = azurerm_subnet.nodes.id
  zones                   = var.zones
  auto_scaling_enabled    = true
  min_count               = var.work_min_count
  max_count               = var.work_max_count
  max_pods                = 50
  os_disk_type            = "Ephemeral"
  os_disk_size_gb         = 64
  host_encryption_enabled = var.host_encryption_enabled
  node_labels = {
    "mediapipeline/pool" = "work"
  }
  upgrade_settings {
    max_surge = "33%"
  }
  tags = var.tags
}

# With a custom subnet the cluster identity manages the load balancer's and nodes' network
# interfaces in it.
resource "azurerm_role_assignment" "aks_network" {
  scope                = azurerm_subnet.nodes.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.main.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

# The nodes pull the images from the registry with the kubelet identity (no pull secrets).
resource "azurerm_role_assignment" "aks_acr_pull" {
  scope                            = azurerm_container_registry.main.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.main.kubelet_identity[0].object_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Whoever runs terraform apply may run kubectl (Entra ID + Azure RBAC; local accounts are off).
resource "azurerm_role_assignment" "operator_cluster_admin" {
  scope                = azurerm_kubernetes_cluster.main.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = data.azurerm_client_config.current.object_id
}
