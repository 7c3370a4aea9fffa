terraform {
  required_version = ">= 1.5.0"

  required_providers {
    # Genesys Cloud CX as Code. `expose_client_secret` on genesyscloud_oauth_client is
    # needed (Genesys stopped returning client secrets from its API after creation; the
    # provider keeps the one it created in the state): it arrived in v1.68.5
    # (MyPureCloud/terraform-provider-genesyscloud #1885, released with #1888; v1.68.4's
    # tree has no such attribute).
    genesyscloud = {
      source  = "mypurecloud/genesyscloud"
      version = ">= 1.68.5, < 2.0.0"
    }
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

# Credentials come from the environment, never from this directory:
#   GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET (an admin OAuth client,
#   client credentials; make deploy reads them from your environment too, to grant the role).
provider "genesyscloud" {
  aws_region = var.genesys_org_region
}

# The Secrets Manager secret (main.tf), in the stack's region. Credentials from the
# environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, an SSO session, …), as the AWS CLI finds them.
provider "aws" {
  region = var.aws_region
}
