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
# `az login` as an Application Administrator (or Global Administrator) of the tenant, or
# set ARM_TENANT_ID / ARM_CLIENT_ID / ARM_CLIENT_SECRET for a service principal with
# Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All.
provider "azuread" {
  tenant_id = var.tenant_id
}

# Only for aws_secret_arn (main.tf): the secret's own region. Credentials from the environment
# (AWS_PROFILE, AWS_ACCESS_KEY_ID, …); with aws_secret_arn unset nothing calls AWS.
provider "aws" {
  region                      = var.aws_secret_arn == null ? "us-east-1" : split(":", var.aws_secret_arn)[3]
  skip_credentials_validation = var.aws_secret_arn == null
  skip_requesting_account_id  = var.aws_secret_arn == null
  skip_metadata_api_check     = var.aws_secret_arn == null
}
