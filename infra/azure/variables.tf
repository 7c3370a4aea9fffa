variable "tenant_id" {
  description = "Microsoft Entra tenant (directory) id whose Teams users the function updates. Null: the tenant of the signed-in identity."
  type        = string
  default     = null
}

variable "display_name" {
  description = "Display name of the app registration."
  type        = string
  default     = "presence-sync (Genesys Cloud presence to Teams)"
}

variable "client_secret_rotation_days" {
  description = "Days the client secret is valid. Terraform creates a new secret on the first apply after that; store it again with put-secret-value (infra/README.md)."
  type        = number
  default     = 180

  validation {
    condition     = var.client_secret_rotation_days >= 1 && var.client_secret_rotation_days <= 730
    error_message = "client_secret_rotation_days must be between 1 and 730 (Entra ID allows client secrets of at most two years)."
  }
}
