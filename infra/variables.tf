variable "subscription_id" {
  description = "Azure subscription to deploy into (az account show --query id -o tsv)."
  type        = string
}

variable "location" {
  description = "Azure region for every resource. It must offer availability zones 1-3 (or set zones = [])."
  type        = string
  default     = "westeurope"
}

variable "prefix" {
  description = "Lower-case letters and digits, 3-11 characters: the start of every resource name. A random 6-character suffix makes the global names (storage account, registry) unique."
  type        = string
  default     = "mediapipe"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,10}$", var.prefix))
    error_message = "prefix: 3-11 lower-case letters and digits, starting with a letter."
  }
}

variable "zones" {
  description = "Availability zones for the node pools."
  type        = list(string)
  default     = ["1", "2", "3"]
}

variable "kubernetes_version" {
  description = "AKS Kubernetes version (null = the region's default). The manifests need 1.30 or newer (preStop sleep)."
  type        = string
  default     = null
}

variable "aks_sku_tier" {
  description = "AKS control plane tier: Free or Standard (financially backed API server SLA)."
  type        = string
  default     = "Standard"
}

variable "system_vm_size" {
  description = "VM size of the system node pool (CoreDNS, KEDA, metrics; no application pods). Needs a temp disk of at least 64 GiB for the ephemeral OS disk."
  type        = string
  default     = "Standard_D2ds_v5"
}

variable "work_vm_size" {
  description = "VM size of the workload node pool (uploader and processor pods). D4ds_v5: 4 vCPU, 16 GiB, 150 GiB temp disk, which holds the ephemeral OS disk and the processors' 10 GiB work volumes."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "work_min_count" {
  description = "Cluster autoscaler lower bound of the workload pool."
  type        = number
  default     = 1
}

variable "work_max_count" {
  description = "Cluster autoscaler upper bound of the workload pool. KEDA allows up to 20 processors of 1-2 vCPU each."
  type        = number
  default     = 10
}

variable "host_encryption_enabled" {
  description = "Encryption at host for node disks. Needs the subscription feature Microsoft.Compute/EncryptionAtHost registered (docs/deploy.md step 1)."
  type        = bool
  default     = true
}

variable "api_server_authorized_ip_ranges" {
  description = "CIDR ranges allowed to reach the Kubernetes API server, e.g. [\"203.0.113.7/32\"]. Empty = any address (Entra ID authentication still applies)."
  type        = list(string)
  default     = []
}

variable "storage_allowed_ip_ranges" {
  description = "Public IPv4 addresses or ranges (no /31, /32 written as a plain address) that may reach the storage account besides the cluster's subnet: your workstation, for az storage commands."
  type        = list(string)
  default     = []
}

variable "storage_shared_key_enabled" {
  description = "Allow Shared Key (account key, connection string, service SAS). Off: every client uses Microsoft Entra ID (workload identity). Turn on only for the connection-string alternative."
  type        = bool
  default     = false
}

variable "storage_replication_type" {
  description = "Replication of the storage account: ZRS (zone-redundant), GZRS/RAGZRS (also geo-replicated), LRS."
  type        = string
  default     = "ZRS"
}

variable "raw_retention_days" {
  description = "Lifecycle rule: delete raw uploads (container rawfiles) this many days after their last modification."
  type        = number
  default     = 30
}

variable "status_container_name" {
  description = "The container of job status documents."
  type        = string
  default     = "jobstatus"
}

variable "namespace" {
  description = "Kubernetes namespace of the application (k8s/namespace.yaml)."
  type        = string
  default     = "mediapipeline"
}

variable "enable_event_grid" {
  description = "Also queue a job for every blob created under rawfiles/<event_grid_prefix> (files dropped in by other tools, e.g. AzCopy). The uploader's own blobs are dated paths outside this prefix and are queued by the uploader."
  type        = bool
  default     = false
}

variable "event_grid_prefix" {
  description = "Blob name prefix inside rawfiles that the Event Grid subscription watches."
  type        = string
  default     = "dropbox/"
}

variable "log_retention_days" {
  description = "Log Analytics retention (AKS container insights, storage queue logs)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default = {
    app = "mediapipeline"
  }
}
