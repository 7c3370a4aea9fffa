//! The two Terraform modules with this deployment's variables, as `deploy` and `destroy` run
//! them, and the names they give what they make (the role, the integration).

use super::function_env;
use super::run::Context;
use super::settings::Settings;
use super::terraform::{Module, Terraform};

pub(super) fn azure_module<'a>(context: &'a Context, settings: &Settings) -> Terraform<'a> {
    Terraform {
        runner: &context.runner,
        module: Module::Azure,
        workspace: &context.stack,
        variables: vec![
            ("aws_region", settings.aws_region.clone()),
            ("secret_name_prefix", format!("{}-azure-", settings.stack)),
            (
                "display_name",
                format!("{} (Genesys Cloud presence to Teams)", settings.stack),
            ),
        ],
    }
}

/// The Genesys integration, as infra/genesys names it (`integration_name`).
pub(super) fn integration_name(settings: &Settings) -> String {
    format!("{} (Amazon EventBridge)", settings.stack)
}

/// The function's Genesys role, as infra/genesys names it (`role_name`).
pub(super) fn role_name(settings: &Settings) -> String {
    format!("{} SCIM reader", settings.stack)
}

pub(super) fn genesys_module<'a>(context: &'a Context, settings: &Settings) -> Terraform<'a> {
    let stack = &settings.stack;
    Terraform {
        runner: &context.runner,
        module: Module::Genesys,
        workspace: &context.stack,
        variables: vec![
            (
                "genesys_org_region",
                settings.genesys().aws_region.to_owned(),
            ),
            ("aws_account_id", settings.aws_account.clone()),
            ("aws_region", settings.aws_region.clone()),
            ("event_source_suffix", stack.clone()),
            ("secret_name_prefix", format!("{stack}-genesys-")),
            ("role_name", role_name(settings)),
            ("oauth_client_name", stack.clone()),
            ("integration_name", integration_name(settings)),
            // What the functions do with Genesys beyond reading users, as the stack's
            // parameters say: the role grows with them (infra/genesys/main.tf).
            (
                "read_queues",
                function_env::reads_queues(&settings.parameters).to_string(),
            ),
            (
                "two_way",
                function_env::two_way(&settings.parameters).to_string(),
            ),
        ],
    }
}
