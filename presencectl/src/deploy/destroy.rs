//! `presencectl destroy` (`make destroy`): what `deploy` made, removed in the reverse order of
//! its dependencies — the stack (it uses the secrets and the partner event source), then the
//! Genesys side (the function's OAuth client, its secret and the integration while the
//! deployment client still holds the role, then the role's grant, then the role), then the
//! Entra ID app — and what is left, said at the end.

use super::genesys_grant::{GenesysAdmin, Grant};
use super::modules::{azure_module, genesys_module, role_name};
use super::prerequisites::Purpose;
use super::run::{Context, check_prerequisites, report_failure, took};
use super::settings::Settings;
use super::stack;
use super::verify;
use super::{DestroyArgs, Problem, Step};
use crate::deployment::Account;
use presence_core::policy::GENESYS_GRANT_SETTLE;
use std::time::Instant;

/// The steps of a removal (named after the deployment's steps they undo).
const STEPS: [Step; 5] = [
    Step::Prerequisites,
    Step::Settings,
    Step::Stack,
    Step::Genesys,
    Step::Azure,
];

/// `presencectl destroy`; `true` when it failed.
pub async fn destroy(stack: Option<&str>, account: &Account, args: DestroyArgs) -> bool {
    let context = Context::new(stack, account, &args.state_dir).await;
    let started = Instant::now();
    match steps(&context).await {
        Ok(settings) => {
            println!("\n{}", left_behind(&settings));
            println!("(all steps in {})", took(started.elapsed()));
            false
        }
        Err((step, problem)) => {
            let resume = match context.stack.as_str() {
                super::DEFAULT_STACK => "make destroy (every step is idempotent)".to_owned(),
                other => format!(
                    "make destroy DEPLOY_ARGS=\"--stack {other}\" (every step is idempotent)"
                ),
            };
            report_failure(step, &problem, &resume);
            true
        }
    }
}

async fn steps(context: &Context) -> Result<Settings, (Step, Problem)> {
    let total = STEPS.len();
    let (identity, _) = context
        .step(
            Step::Prerequisites,
            total,
            check_prerequisites(context, Purpose::Destroy),
        )
        .await?;
    let settings = context
        .step(Step::Settings, total, async {
            let settings = remembered(context, &identity.account, &identity.region)?;
            let said = format!(
                "stack {} in account {} ({})",
                settings.stack, settings.aws_account, settings.aws_region
            );
            Ok((settings, said))
        })
        .await?;
    context
        .step(Step::Stack, total, async {
            stack::delete(&context.runner, &settings).await?;
            Ok((
                (),
                format!(
                    "stack {} deleted, with its log groups, queues, table and alarms",
                    settings.stack
                ),
            ))
        })
        .await?;
    context
        .step(Step::Genesys, total, genesys(context, &settings))
        .await?;
    context
        .step(Step::Azure, total, async {
            let module = azure_module(context, &settings);
            module.prepare().await?;
            module.destroy(&[]).await?;
            Ok(((), "app registration and its client secret deleted; the Azure secret scheduled for deletion".into()))
        })
        .await?;
    let path = Settings::path(&context.state_dir, &context.stack);
    let _ = std::fs::remove_file(path);
    Ok(settings)
}

/// The settings `deploy` kept, in the account the credentials reach.
fn remembered(context: &Context, account: &str, region: &str) -> Result<Settings, Problem> {
    let path = Settings::path(&context.state_dir, &context.stack);
    let settings = Settings::load(&context.state_dir, &context.stack)?.ok_or_else(|| Problem {
        what: format!(
            "nothing deployed from here as stack {} ({} does not exist)",
            context.stack,
            path.display()
        ),
        fix:
            "run make destroy from the clone that deployed it, or name the deployment with --stack"
                .into(),
    })?;
    if settings.aws_account != account || settings.aws_region != region {
        return Err(Problem {
            what: format!(
                "stack {} is in account {} ({}), the AWS credentials reach account {account} ({region})",
                settings.stack, settings.aws_account, settings.aws_region
            ),
            fix: format!(
                "sign in to account {} and give --region {}",
                settings.aws_account, settings.aws_region
            ),
        });
    }
    Ok(settings)
}

/// The Genesys resources that give the SCIM reader role away or use the client: destroyed
/// while the deployment client still holds the role. The Genesys provider deletes an OAuth
/// client by first updating it (state inactive) with its roles (`deleteOAuthClient`,
/// MyPureCloud/terraform-provider-genesyscloud), and Genesys lets a client give only roles
/// it holds (`genesyscloud_oauth_client`, `roles`; Resource Center, "Edit an OAuth client":
/// "the same roles as the OAuth client you plan to edit").
const HOLDING_THE_ROLE: [&str; 5] = [
    "genesyscloud_oauth_client.presence_sync",
    "aws_secretsmanager_secret.genesys",
    // The watcher's own client (two_way) holds the same role.
    "genesyscloud_oauth_client.presence_watch",
    "aws_secretsmanager_secret.watcher",
    "genesyscloud_integration.eventbridge",
];

/// The function's client (and its secret, and the integration) while the deployment client
/// holds the role, then the role's grant taken back, then the rest of the module.
async fn genesys(context: &Context, settings: &Settings) -> Result<((), String), Problem> {
    let module = genesys_module(context, settings);
    module.prepare().await?;
    // No role in the state: the role was never created (or is gone already).
    if let (Ok(role_id), Ok(division_id)) = (
        module.output("scim_reader_role_id").await,
        module.output("role_division_id").await,
    ) {
        let config = verify::function_config(settings, "-", "-")?;
        let admin = GenesysAdmin::new(&config)?;
        let grant = Grant {
            role_id: &role_id,
            division_id: &division_id,
            role_name: &role_name(settings),
        };
        if admin.ensure_held(&grant).await? {
            println!(
                "   granted the role {role_id} to the deployment client again (deleting the function's client needs it)"
            );
            tokio::time::sleep(GENESYS_GRANT_SETTLE).await;
        }
        module.destroy(&HOLDING_THE_ROLE).await?;
        if admin.revoke(&grant).await? {
            println!("   took the role {role_id} back from the deployment client");
        }
    }
    module.destroy(&[]).await?;
    Ok(((), "integration (the partner event source goes with it), OAuth clients and role deleted; the Genesys secrets scheduled for deletion".into()))
}

/// What `destroy` leaves, and why.
fn left_behind(settings: &Settings) -> String {
    let stack = &settings.stack;
    format!(
        "Removed: the stack {stack} (its log groups with it: the template deletes them, so the functions' logs are gone), the Genesys integration, role and OAuth client, the Entra ID app registration.\n\
         Left in place:\n\
         \x20 - the Entra ID app registration, soft-deleted: Entra keeps a deleted application restorable for 30 days (Entra admin center → App registrations → Deleted applications), then deletes it;\n\
         \x20 - the Genesys deployment client you created (delete it in Admin → Integrations → OAuth once nothing else uses it);\n\
         \x20 - the two secrets, scheduled for deletion after Secrets Manager's 7-day recovery window (aws secretsmanager list-secrets --include-planned-deletion);\n\
         \x20 - SAM's artifact bucket stack aws-sam-cli-managed-default, shared by every SAM deployment of account {account} in {region};\n\
         \x20 - the Terraform state of workspace {stack} in infra/azure and infra/genesys (terraform.tfstate.d/{stack}, no resources left in it) and the tools' logs in .deploy/{stack}/logs;\n\
         \x20 - the build's artifacts in the clone: .aws-sam/ and target/deploy-arm64 (rm -rf them to reclaim the space).",
        account = settings.aws_account,
        region = settings.aws_region,
    )
}
