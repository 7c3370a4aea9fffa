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
  description = "Days the client secret is valid. The first apply after that (make deploy) creates a new one and stores it in Secrets Manager in the same apply."
  type        = number
  default     = 180

  validation {
    condition     = var.client_secret_rotation_days >= 1 && var.client_secret_rotation_days <= 730
    error_message = "client_secret_rotation_days must be between 1 and 730 (Entra ID allows client secrets of at most two years)."
  }
}

variable "aws_region" {
  description = "AWS region of the presence-sync stack: the client secret is stored in Secrets Manager there (make deploy sets it from your AWS credentials)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as eu-west-1."
  }
}

variable "secret_name_prefix" {
  description = "Name prefix of the Secrets Manager secret that holds the client secret (Secrets Manager appends a unique suffix)."
  type        = string
  default     = "presence-sync-azure-"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,100}$", var.secret_name_prefix))
    error_message = "secret_name_prefix may contain only letters, digits and /_+=.@- (at most 100)."
  }
}
