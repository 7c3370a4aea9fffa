terraform {
  required_version = ">= 1.5.0"

  required_providers {
    # Genesys Cloud CX as Code. A 1.x release with `expose_client_secret` on
    # genesyscloud_oauth_client is needed (Genesys stopped returning client secrets from
    # its API after creation; the provider keeps the one it created in the state).
    genesyscloud = {
      source  = "mypurecloud/genesyscloud"
      version = "~> 1.0"
    }
  }
}

# Credentials come from the environment, never from this directory:
#   GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET (an admin OAuth client,
#   client credentials) and GENESYSCLOUD_REGION, or the variable below.
provider "genesyscloud" {
  aws_region = var.genesys_region
}
