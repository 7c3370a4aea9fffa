output "tenant_id" {
  description = "tenant_id of the Azure secret."
  value       = data.azuread_client_config.current.tenant_id
}

output "client_id" {
  description = "client_id of the Azure secret (the app registration's application id)."
  value       = azuread_application.presence_sync.client_id
}

output "client_secret_expires" {
  description = "When the client secret expires; apply again (make deploy) before then."
  value       = azuread_application_password.presence_sync.end_date
}

output "secret_arn" {
  description = "The Secrets Manager secret holding {tenant_id, client_id, client_secret, client_secret_expires_at}: template.yaml's ExistingAzureSecretArn. The client secret itself is no output: it goes from Entra ID to Secrets Manager inside Terraform."
  value       = aws_secretsmanager_secret.azure.arn
  # The version must exist before the stack (or doctor) reads the secret.
  depends_on = [aws_secretsmanager_secret_version.azure]
}
