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

output "oauth_client_secret" {
  description = "client_secret of the Genesys secret. Read it with `terraform output -raw oauth_client_secret`."
  value       = genesyscloud_oauth_client.presence_sync.client_secret
  sensitive   = true
}

output "genesys_secret_json" {
  description = "The whole Genesys secret, {\"client_id\",\"client_secret\"}, for aws secretsmanager put-secret-value."
  value = jsonencode({
    client_id     = genesyscloud_oauth_client.presence_sync.id
    client_secret = genesyscloud_oauth_client.presence_sync.client_secret
  })
  sensitive = true
}
