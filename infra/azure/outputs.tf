output "tenant_id" {
  description = "tenant_id of the Azure secret."
  value       = data.azuread_client_config.current.tenant_id
}

output "client_id" {
  description = "client_id of the Azure secret (the app registration's application id)."
  value       = azuread_application.presence_sync.client_id
}

output "client_secret" {
  description = "client_secret of the Azure secret. Read it with `terraform output -raw client_secret`."
  value       = azuread_application_password.presence_sync.value
  sensitive   = true
}

output "client_secret_expires" {
  description = "When the client secret expires; apply again before then and store the new one."
  value       = azuread_application_password.presence_sync.end_date
}

output "azure_secret_json" {
  description = "The whole Azure secret, {\"tenant_id\",\"client_id\",\"client_secret\",\"client_secret_expires_at\"}, for aws secretsmanager put-secret-value (not needed with aws_secret_arn, which writes it in the same apply)."
  value = jsonencode({
    tenant_id                = data.azuread_client_config.current.tenant_id
    client_id                = azuread_application.presence_sync.client_id
    client_secret            = azuread_application_password.presence_sync.value
    client_secret_expires_at = azuread_application_password.presence_sync.end_date
  })
  sensitive = true
}
