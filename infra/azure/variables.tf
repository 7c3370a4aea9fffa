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

variable "aws_secret_arn" {
  description = "ARN of the stack's Azure secret (output AzureSecretArn). Set: every apply that creates a client secret writes it there before deleting the old one (needs AWS credentials with secretsmanager:PutSecretValue on it, from the environment). Null: store azure_secret_json by hand after such an apply."
  type        = string
  default     = null

  validation {
    condition     = var.aws_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.aws_secret_arn))
    error_message = "aws_secret_arn must be a Secrets Manager secret ARN (the stack output AzureSecretArn)."
  }
}
