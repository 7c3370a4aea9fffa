//! The deployment, step by step: each step prints what it does, the tools' output indented
//! under it, and `✓ <step>` with its time; a failure prints the step, what failed, its fix and
//! the command that resumes. Steps before `--from` only read what they made.

use super::account::{Reservations, StackSoFar};
use super::command::Runner;
use super::function_env;
use super::genesys_grant::{GenesysAdmin, Grant};
use super::modules::{azure_module, genesys_module, integration_name, role_name};
use super::prerequisites::{self, AwsIdentity, Purpose};
use super::rule;
use super::settings::{self, Given, Settings};
use super::stack::{self, Made, Until};
use super::verify::{self, Verdict};
use super::{DEFAULT_STACK, DeployArgs, Problem, Step};
use crate::deployment::{Account, load_aws};
use presence_core::policy::GENESYS_GRANT_SETTLE;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What every step shares.
pub(super) struct Context {
    pub stack: String,
    pub account: Account,
    pub aws: aws_config::SdkConfig,
    pub runner: Runner,
    pub state_dir: PathBuf,
    /// Steps before this one only read what they made.
    pub from: Step,
    /// The stack as the prerequisites step found it (a deployment only).
    pub stack_so_far: Option<StackSoFar>,
}

impl Context {
    pub async fn new(
        stack: Option<&str>,
        account: &Account,
        state_dir: &std::path::Path,
    ) -> Context {
        let stack = stack.unwrap_or(DEFAULT_STACK).to_owned();
        let aws = load_aws(account).await;
        let repo = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut env = Vec::new();
        if let Some(region) = aws.region() {
            env.push(("AWS_REGION".to_owned(), region.to_string()));
            env.push(("AWS_DEFAULT_REGION".to_owned(), region.to_string()));
        }
        if let Some(profile) = &account.profile {
            env.push(("AWS_PROFILE".to_owned(), profile.clone()));
        }
        let logs = state_dir.join(&stack).join("logs");
        Context {
            runner: Runner::new(&repo, logs, env),
            stack,
            account: account.clone(),
            aws,
            state_dir: state_dir.to_owned(),
            from: Step::Prerequisites,
            stack_so_far: None,
        }
    }

    /// Whether the step only reads (it comes before `--from`).
    pub fn reads_only(&self, step: Step) -> bool {
        step < self.from
    }

    /// Runs one step: its heading, then `✓ <step>` with what it made, or the failure.
    pub async fn step<T>(
        &self,
        step: Step,
        total: usize,
        work: impl Future<Output = Result<(T, String), Problem>>,
    ) -> Result<T, (Step, Problem)> {
        let started = Instant::now();
        println!(
            "\n== {}/{total} {}: {}",
            step.number(),
            step.name(),
            step.what()
        );
        let (made, said) = work.await.map_err(|problem| (step, problem))?;
        println!("✓ {} ({}): {said}", step.name(), took(started.elapsed()));
        Ok(made)
    }
}

/// `42 s`, `3 min 5 s`.
pub(super) fn took(elapsed: Duration) -> String {
    match elapsed.as_secs() {
        s if s < 60 => format!("{s} s"),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

/// `✗ step …`, what failed, the fix and how to resume.
pub(super) fn report_failure(step: Step, problem: &Problem, resume: &str) {
    println!(
        "\n✗ step {} ({}) failed: {}",
        step.number(),
        step.name(),
        problem.what
    );
    println!("  fix: {}", problem.fix);
    println!("  then resume: {resume}");
}

/// `presencectl deploy`: the deployment, or its upgrade in place; `true` when it failed.
pub async fn deploy(stack: Option<&str>, account: &Account, args: DeployArgs) -> bool {
    let mut context = Context::new(stack, account, &args.state_dir).await;
    context.from = args.from.unwrap_or(Step::Prerequisites);
    let started = Instant::now();
    match steps(&mut context, &args).await {
        Ok((settings, verdict)) => {
            println!("\n{}", verdict.summary(&settings));
            println!("(all steps in {})", took(started.elapsed()));
            false
        }
        Err((step, problem)) => {
            let resume = format!(
                "the same command again (make deploy: every step is idempotent), or from this step: target/debug/presencectl --stack {} deploy --from {}",
                context.stack,
                step.name()
            );
            report_failure(step, &problem, &resume);
            true
        }
    }
}

async fn steps(
    context: &mut Context,
    args: &DeployArgs,
) -> Result<(Settings, Verdict), (Step, Problem)> {
    let total = Step::ALL.len();
    let purpose = Purpose::Deploy {
        reserved: Reservations::from_parameters(|name| parameter(context, args, name)),
    };
    let (identity, so_far) = context
        .step(
            Step::Prerequisites,
            total,
            check_prerequisites(context, purpose),
        )
        .await?;
    context.stack_so_far = so_far;
    let settings = context
        .step(Step::Settings, total, settle(context, &identity, args))
        .await?;
    let azure = context
        .step(Step::Azure, total, azure(context, &settings))
        .await?;
    let (event_source_name, genesys_secret_arn, watcher_genesys_secret_arn) = context
        .step(Step::Genesys, total, genesys(context, &settings))
        .await?;
    let made = Made {
        event_source_name,
        azure_secret_arn: azure,
        genesys_secret_arn,
        watcher_genesys_secret_arn,
    };
    let wait = Duration::from_secs(args.credentials_wait);
    context
        .step(
            Step::Credentials,
            total,
            credentials(context, &settings, &made, wait),
        )
        .await?;
    context.step(Step::Build, total, build(context)).await?;
    context
        .step(Step::Stack, total, deploy_stack(context, &settings, &made))
        .await?;
    let (source, integration) = (&made.event_source_name, integration_name(&settings));
    context
        .step(Step::EventSource, total, async {
            stack::wait_for_source(&context.aws, source, &integration, Until::Active)
                .await
                .map(|said| ((), said))
        })
        .await?;
    let verdict = context
        .step(Step::Doctor, total, async {
            verify::doctor(&context.stack, &context.account)
                .await
                .map(|v| (v, "every check passed".to_owned()))
        })
        .await?;
    Ok((settings, verdict))
}

/// A stack parameter as this run deploys it: given (`--parameter`), else remembered, else none
/// (the template's default).
fn parameter(context: &Context, args: &DeployArgs, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    let given = args
        .parameters
        .iter()
        .rev()
        .find_map(|p| p.strip_prefix(&prefix).map(str::to_owned));
    given.or_else(|| {
        Settings::load(&context.state_dir, &context.stack)
            .ok()
            .flatten()
            .and_then(|s| s.parameters.get(name).cloned())
    })
}

pub(super) async fn check_prerequisites(
    context: &Context,
    purpose: Purpose,
) -> Result<((AwsIdentity, Option<StackSoFar>), String), Problem> {
    let checked =
        prerequisites::check(&context.runner, &context.aws, &context.stack, purpose).await;
    let found = checked.found;
    let width = found.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let mut missing = Vec::new();
    for check in &found {
        match &check.result {
            Ok(detail) => println!("   ✓ {:width$}  {detail}", check.name),
            Err(problem) => {
                println!(
                    "   ✗ {:width$}  {}\n     {:width$}  fix: {}",
                    check.name, problem.what, "", problem.fix
                );
                missing.push(check.name);
            }
        }
    }
    match checked.identity {
        Some(identity) if missing.is_empty() => {
            Ok(((identity, checked.stack), "everything is in place".into()))
        }
        _ => Err(Problem {
            what: format!("missing: {}", missing.join(", ")),
            fix: "each ✗ line above says its fix; nothing was created".into(),
        }),
    }
}

async fn settle(
    context: &Context,
    identity: &AwsIdentity,
    args: &DeployArgs,
) -> Result<(Settings, String), Problem> {
    let saved = Settings::load(&context.state_dir, &context.stack)?;
    let given = Given {
        genesys_region: args.genesys_region.clone(),
        alarm_email: args.alarm_email.clone(),
        parameters: args.parameters.clone(),
    };
    let settings = settings::resolve(
        &context.stack,
        (&identity.account, &identity.region),
        &given,
        saved,
    )?;
    settings.save(&context.state_dir)?;
    let genesys = settings.genesys();
    let said = format!(
        "stack {} in AWS account {} ({}); Genesys Cloud {} ({}); alarm e-mail {}",
        settings.stack,
        settings.aws_account,
        settings.aws_region,
        genesys.aws_region,
        genesys.host,
        settings.alarm_email.as_deref().unwrap_or("none"),
    );
    Ok((settings, said))
}

async fn azure(context: &Context, settings: &Settings) -> Result<(String, String), Problem> {
    let module = azure_module(context, settings);
    if !context.reads_only(Step::Azure) {
        module.prepare().await?;
        module.apply(None).await?;
    }
    let arn = module.output("secret_arn").await?;
    let app = module.output("client_id").await?;
    Ok((
        arn.clone(),
        format!("app registration {app}; its client secret in {arn}"),
    ))
}

/// The partner event source, the functions' Genesys secret and, with the watcher, the secret
/// of its own client.
type GenesysMade = (String, String, Option<String>);

async fn genesys(context: &Context, settings: &Settings) -> Result<(GenesysMade, String), Problem> {
    let module = genesys_module(context, settings);
    if !context.reads_only(Step::Genesys) {
        module.prepare().await?;
        module
            .apply(Some("genesyscloud_auth_role.scim_reader"))
            .await?;
        let role_id = module.output("scim_reader_role_id").await?;
        let division_id = module.output("role_division_id").await?;
        let config = verify::function_config(settings, "-", "-")?;
        let granted = GenesysAdmin::new(&config)?
            .ensure_held(&Grant {
                role_id: &role_id,
                division_id: &division_id,
                role_name: &role_name(settings),
            })
            .await?;
        if granted {
            println!(
                "   granted the role {role_id} to the deployment client (Genesys lets a client give away only roles it holds)"
            );
            tokio::time::sleep(GENESYS_GRANT_SETTLE).await;
        }
        module.apply(None).await?;
    }
    let source = module.output("event_source_name").await?;
    let arn = module.output("secret_arn").await?;
    let mut said = format!("event source {source}; the function's client secret in {arn}");
    let watcher = match function_env::two_way(&settings.parameters) {
        true => Some(module.output("watcher_secret_arn").await?),
        false => None,
    };
    if let Some(watcher) = &watcher {
        said.push_str(&format!("; the watcher's own client secret in {watcher}"));
    }
    Ok(((source, arn, watcher), said))
}

async fn credentials(
    context: &Context,
    settings: &Settings,
    made: &Made,
    wait: Duration,
) -> Result<((), String), Problem> {
    let config =
        verify::function_config(settings, &made.azure_secret_arn, &made.genesys_secret_arn)?;
    // The watcher's own client, as it will run (template.yaml: most of its limit).
    let watcher = match &made.watcher_genesys_secret_arn {
        Some(arn) => {
            let mut watcher = verify::function_config(settings, &made.azure_secret_arn, arn)?;
            watcher.watch.genesys_share_percent = presence_core::config::OWN_CLIENT_SHARE_PERCENT;
            Some(watcher)
        }
        None => None,
    };
    verify::credentials(&context.aws, config, watcher, wait)
        .await
        .map(|said| ((), said))
}

async fn build(context: &Context) -> Result<((), String), Problem> {
    if context.reads_only(Step::Build) {
        return Ok(((), "skipped (--from)".into()));
    }
    stack::build(&context.runner).await?;
    Ok(((), "the functions built for arm64 (.aws-sam/build)".into()))
}

/// The stack, its rule enabled: this step runs only after the credentials step passed.
async fn deploy_stack(
    context: &Context,
    settings: &Settings,
    made: &Made,
) -> Result<((), String), Problem> {
    if context.reads_only(Step::Stack) {
        return Ok(((), "skipped (--from)".into()));
    }
    if context
        .stack_so_far
        .as_ref()
        .is_some_and(StackSoFar::rolled_back)
    {
        println!(
            "   {} is ROLLBACK_COMPLETE (its first creation failed; CloudFormation lets such a stack only be deleted): deleting it, then creating it",
            settings.stack
        );
        stack::delete(&context.runner, settings).await?;
    }
    let source = &made.event_source_name;
    let integration = integration_name(settings);
    // The stack's event bus names the source: a stack made before Genesys makes it fails.
    let found = stack::wait_for_source(&context.aws, source, &integration, Until::Exists).await?;
    println!("   {found}");
    let parameters = stack::parameters(settings, made);
    stack::deploy(&context.runner, settings, &parameters).await?;
    // A rule paused by hand is a change CloudFormation does not see.
    if let Some(said) = rule::enable(&context.aws, &settings.stack).await? {
        println!("   {said}");
    }
    Ok((
        (),
        format!(
            "stack {} deployed in {}, rule enabled",
            settings.stack, settings.aws_region
        ),
    ))
}
