output "integration_id" {
  description = "Id of the Amazon EventBridge Source integration."
  value       = genesyscloud_integration.eventbridge.id
}

output "event_source_name" {
  description = "The partner event source name to accept in AWS: template.yaml's GenesysEventSourceName parameter."
  value       = "aws.partner/genesys.com/cloud/${data.genesyscloud_organizations_me.current.id}/${var.event_source_suffix}"
}

output "oauth_client_id" {
  description = "client_id of the Genesys secret (the OAuth client's id)."
  value       = genesyscloud_oauth_client.presence_sync.id
}

output "scim_reader_role_id" {
  description = "The role the function's OAuth client holds; the deployment client must hold it too before the client is created (make deploy grants it)."
  value       = genesyscloud_auth_role.scim_reader.id
}

output "role_division_id" {
  description = "The division of the role's grants (var.role_division_id)."
  value       = var.role_division_id
}

output "secret_arn" {
  description = "The Secrets Manager secret holding {client_id, client_secret}: template.yaml's ExistingGenesysSecretArn. The client secret itself is no output: it goes from Genesys to Secrets Manager inside Terraform."
  value       = aws_secretsmanager_secret.genesys.arn
  # The version must exist before the stack (or doctor) reads the secret.
  depends_on = [aws_secretsmanager_secret_version.genesys]
}

output "watcher_secret_arn" {
  description = "With two_way: the secret of presence-watch's own OAuth client {client_id, client_secret}, template.yaml's ExistingWatcherGenesysSecretArn; empty without."
  value       = var.two_way ? aws_secretsmanager_secret.watcher[0].arn : ""
  depends_on  = [aws_secretsmanager_secret_version.watcher]
}
