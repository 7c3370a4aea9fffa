terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

# Credentials come from the environment, never from this directory: sign in with
# `az login --tenant <id> --allow-no-subscriptions` as a Global Administrator, or a Privileged
# Role Administrator who may also register applications (infra/README.md), or
# set ARM_TENANT_ID / ARM_CLIENT_ID / ARM_CLIENT_SECRET for a service principal with
# Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All.
provider "azuread" {
  tenant_id = var.tenant_id
}

# The Secrets Manager secret (main.tf), in the stack's region. Credentials from the
# environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, an SSO session, …), as the AWS CLI finds them.
provider "aws" {
  region = var.aws_region
}
