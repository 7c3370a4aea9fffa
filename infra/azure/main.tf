# Microsoft side of presence-sync (infra/README.md): an app registration that may set any
# user's Teams presence, with admin consent, and a client secret stored in AWS Secrets Manager.
#
# Microsoft Graph application permission Presence.ReadWrite.All: the function calls
# POST /users/{id}/presence/setUserPreferredPresence and clearUserPreferredPresence with
# an app-only token (client credentials). Nothing else is requested.

locals {
  presence_readwrite_all = "83cded22-8297-4ff6-a7fa-e97e9545a259"
}

data "azuread_client_config" "current" {}

data "azuread_application_published_app_ids" "well_known" {}

# Microsoft Graph's service principal in the tenant (it always exists): read, never managed.
# As a resource (`use_existing = true`) Terraform would adopt it, and `terraform destroy`
# would delete the tenant's own Graph principal (hashicorp/terraform-provider-azuread#538,
# #1141; pulumi/pulumi-azuread#2045 reports a first-party principal actually deleted).
data "azuread_service_principal" "msgraph" {
  client_id = data.azuread_application_published_app_ids.well_known.result["MicrosoftGraph"]
}

# A state written while this was a resource (type azuread_service_principal, same name)
# still holds it: `make deploy` and `make destroy` forget it with `terraform state rm` (never
# a destroy) before anything else (presencectl/src/deploy/terraform.rs); by hand, do that
# first (infra/README.md, "By hand").

resource "azuread_application" "presence_sync" {
  display_name     = var.display_name
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]

  required_resource_access {
    resource_app_id = data.azuread_application_published_app_ids.well_known.result["MicrosoftGraph"]

    resource_access {
      id   = local.presence_readwrite_all
      type = "Role"
    }
  }
}

resource "azuread_service_principal" "presence_sync" {
  client_id = azuread_application.presence_sync.client_id
  owners    = [data.azuread_client_config.current.object_id]
}

# Admin consent for the application permission: an app role assignment of Graph's
# Presence.ReadWrite.All to the app's service principal.
resource "azuread_app_role_assignment" "presence_readwrite_all" {
  app_role_id         = local.presence_readwrite_all
  principal_object_id = azuread_service_principal.presence_sync.object_id
  resource_object_id  = data.azuread_service_principal.msgraph.object_id
}

resource "time_rotating" "client_secret" {
  rotation_days = var.client_secret_rotation_days
}

resource "azuread_application_password" "presence_sync" {
  application_id = azuread_application.presence_sync.id
  display_name   = "presence-sync Lambda (AWS Secrets Manager)"
  end_date       = time_rotating.client_secret.rotation_rfc3339

  rotate_when_changed = {
    rotation = time_rotating.client_secret.id
  }

  # On rotation the new secret exists before the old one is removed, and everything that
  # reads it (the Secrets Manager version below) is updated in between.
  lifecycle {
    create_before_destroy = true
  }
}

# The client secret goes straight into Secrets Manager (the stack's ExistingAzureSecretArn):
# it never passes through a terminal, a file or another process. On rotation the new secret
# is written in the same apply, before the old one is deleted (create_before_destroy orders
# it so): no window in which the function holds a deleted secret. Running instances keep
# their token, and re-read the secret once when the token endpoint refuses the old one.
resource "aws_secretsmanager_secret" "azure" {
  name_prefix = var.secret_name_prefix
  description = "presence-sync: the Entra ID app registration {tenant_id, client_id, client_secret}. Managed by Terraform (infra/azure)."
  # Encrypted with the AWS managed key aws/secretsmanager (template.yaml's functions need no
  # kms grant for it). A destroy keeps it recoverable for a week.
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "azure" {
  secret_id = aws_secretsmanager_secret.azure.id
  secret_string = jsonencode({
    tenant_id                = data.azuread_client_config.current.tenant_id
    client_id                = azuread_application.presence_sync.client_id
    client_secret            = azuread_application_password.presence_sync.value
    client_secret_expires_at = azuread_application_password.presence_sync.end_date
  })
}
