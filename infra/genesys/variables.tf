variable "genesys_org_region" {
  description = "Where your Genesys Cloud org runs, named as the Genesys provider names it: the AWS region of its host (eu-west-1 for mypurecloud.ie, us-east-1 for mypurecloud.com, ...; shared/src/config/genesys_region.rs has the table). Not the region of your AWS account (aws_region). make deploy derives it from any form you give."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]$", var.genesys_org_region))
    error_message = "genesys_org_region must be the AWS region of the Genesys org, such as eu-west-1 (for mypurecloud.ie); not its host."
  }
}

variable "aws_account_id" {
  description = "12-digit id of the AWS account that receives the events (where template.yaml is deployed)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account id."
  }
}

variable "aws_region" {
  description = "AWS region where the partner event source is created and template.yaml is deployed, e.g. eu-west-1 (the client secret is stored there too)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as eu-west-1."
  }
}

variable "event_source_suffix" {
  description = "Last part of the partner event source name aws.partner/genesys.com/cloud/<org id>/<suffix>."
  type        = string
  default     = "presence-sync"

  validation {
    condition     = can(regex("^[.\\-_A-Za-z0-9]+$", var.event_source_suffix))
    error_message = "event_source_suffix may contain only letters, digits, '.', '-' and '_'."
  }
}

variable "topic_filters" {
  description = "Notification topics Genesys publishes to the event source. The activity topic carries both presence and routing status, so one event per change is enough; the function also accepts the presence and routingStatus topics."
  type        = list(string)
  default     = ["v2.users.{id}.activity"]

  validation {
    condition = length(var.topic_filters) > 0 && alltrue([
      for topic in var.topic_filters :
      contains(["v2.users.{id}.activity", "v2.users.{id}.presence", "v2.users.{id}.routingStatus"], topic)
    ])
    error_message = "topic_filters may name only v2.users.{id}.activity, v2.users.{id}.presence and v2.users.{id}.routingStatus (the topics template.yaml's rule accepts)."
  }
}

variable "integration_name" {
  description = "Display name of the Amazon EventBridge Source integration in Genesys Cloud."
  type        = string
  default     = "presence-sync (Amazon EventBridge)"
}

variable "role_name" {
  description = "Name of the role that lets the OAuth client read users through SCIM."
  type        = string
  default     = "presence-sync SCIM reader"
}

variable "role_division_id" {
  description = "Division the role is granted in: \"*\" (all divisions, so that every agent's Teams id can be read) or one division id."
  type        = string
  default     = "*"
}

variable "read_queues" {
  description = "Whether the function's role may read queues and their members (routing:queue:view): needed when the stack's SyncScope names a queue:<id>. make deploy sets it from SyncScope."
  type        = bool
  default     = false
}

variable "two_way" {
  description = "Whether the function's role may set agents' Genesys presence (presence:userPresence:edit) and read the org's presence definitions (presence:presenceDefinition:view), and presence-watch gets an OAuth client of its own with that role: needed when the stack runs presence-watch (TeamsToGenesys=on). make deploy sets it from TeamsToGenesys."
  type        = bool
  default     = false
}

variable "oauth_client_name" {
  description = "Name of the OAuth client (client credentials) the function uses for SCIM."
  type        = string
  default     = "presence-sync"
}

variable "token_validity_seconds" {
  description = "Lifetime of the OAuth client's access tokens (300 to 172800). The function caches one token per instance and renews it before it expires."
  type        = number
  default     = 86400

  validation {
    condition     = var.token_validity_seconds >= 300 && var.token_validity_seconds <= 172800
    error_message = "token_validity_seconds must be between 300 (5 minutes) and 172800 (48 hours)."
  }
}

variable "secret_name_prefix" {
  description = "Name prefix of the Secrets Manager secret that holds the OAuth client's secret (Secrets Manager appends a unique suffix)."
  type        = string
  default     = "presence-sync-genesys-"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,100}$", var.secret_name_prefix))
    error_message = "secret_name_prefix may contain only letters, digits and /_+=.@- (at most 100)."
  }
}
