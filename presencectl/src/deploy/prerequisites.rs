//! Everything the deployment needs, checked before anything is created, each with its fix:
//! the repository's deployment code, Terraform, a signed-in Azure CLI (or a service
//! principal), AWS credentials and a region, the stack's state and Lambda's concurrency
//! (account.rs), the SAM CLI, Cargo Lambda, the Rust arm64 target, and the Genesys
//! deployment client's id and secret in the environment.

use super::Problem;
use super::account::{self, Reservations, StackSoFar};
use super::command::Runner;
use crate::aws_error;

/// The Rust target of the arm64 Lambda functions.
pub const ARM64_TARGET: &str = "aarch64-unknown-linux-gnu";
/// The oldest Terraform the modules accept (`required_version` in infra/*/versions.tf).
const TERRAFORM_MIN: (u64, u64) = (1, 5);
/// The Genesys deployment client: the Genesys Terraform provider reads these itself.
pub const GENESYS_CLIENT_ID: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
pub const GENESYS_CLIENT_SECRET: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
/// A service principal for the Azure provider, instead of `az login`.
const ARM_VARIABLES: [&str; 3] = ["ARM_TENANT_ID", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET"];

/// One prerequisite: what was found, or what is missing and its fix.
pub struct Found {
    pub name: &'static str,
    pub result: Result<String, Problem>,
}

const SAM_FIX: &str = "bash scripts/setup-venv.sh --all (the SAM CLI into .venv/tools/sam)";
const CARGO_LAMBDA_FIX: &str = "make setup (Cargo Lambda and zig into .venv)";

fn found(name: &'static str, result: Result<String, Problem>) -> Found {
    Found { name, result }
}

/// Who the AWS credentials are: the account and the region.
pub struct AwsIdentity {
    pub account: String,
    pub region: String,
}

/// What the prerequisites are for: a removal needs no build tools, nor room for the
/// functions' reserved concurrency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// What the functions reserve as this run will deploy them.
    Deploy {
        reserved: Reservations,
    },
    Destroy,
}

/// What the checks found: each prerequisite, who the AWS credentials are, and the stack so
/// far (for a deployment).
pub struct Checked {
    pub found: Vec<Found>,
    pub identity: Option<AwsIdentity>,
    pub stack: Option<StackSoFar>,
}

/// Every prerequisite, in order (none stops the others from being checked).
pub async fn check(
    runner: &Runner,
    aws: &aws_config::SdkConfig,
    stack: &str,
    purpose: Purpose,
) -> Checked {
    let identity = aws_identity(aws).await;
    let aws_found = match &identity {
        Ok(identity) => Ok(format!(
            "account {} in {}",
            identity.account, identity.region
        )),
        Err(problem) => Err(problem.clone()),
    };
    let mut found = vec![
        found("deployment code", repository(runner)),
        found("terraform", terraform(runner).await),
        found("Azure sign-in", azure(runner).await),
        found("AWS credentials", aws_found),
        found(
            "SAM CLI",
            version(runner, "sam", &["--version"], SAM_FIX).await,
        ),
        found(
            "Cargo Lambda",
            version(
                runner,
                "cargo-lambda",
                &["lambda", "--version"],
                CARGO_LAMBDA_FIX,
            )
            .await,
        ),
        found("Rust arm64 target", arm64_target(runner).await),
        found("Genesys deployment client", genesys_client()),
    ];
    let mut so_far = None;
    match purpose {
        Purpose::Deploy { reserved } if identity.is_ok() => {
            let read = account::stack(aws, stack).await;
            let judged = read
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|s| account::judge_stack(stack, s));
            let room = match &read {
                Ok(s) => account::concurrency(aws, reserved, s).await,
                Err(problem) => Err(problem.clone()),
            };
            let (stack_found, room_found) = (
                Found {
                    name: "AWS stack",
                    result: judged,
                },
                Found {
                    name: "Lambda concurrency",
                    result: room,
                },
            );
            found.insert(4, stack_found);
            found.insert(5, room_found);
            so_far = read.ok();
        }
        Purpose::Deploy { .. } => {}
        Purpose::Destroy => {
            found.retain(|f| !matches!(f.name, "Cargo Lambda" | "Rust arm64 target"));
        }
    }
    Checked {
        found,
        identity: identity.ok(),
        stack: so_far,
    }
}

fn repository(runner: &Runner) -> Result<String, Problem> {
    let missing: Vec<&str> = [
        "template.yaml",
        "samconfig.toml",
        "infra/azure/main.tf",
        "infra/genesys/main.tf",
    ]
    .into_iter()
    .filter(|path| !runner.repo.join(path).is_file())
    .collect();
    if missing.is_empty() {
        return Ok(format!(
            "template.yaml and infra/ in {}",
            runner.repo.display()
        ));
    }
    Err(Problem {
        what: format!(
            "{} not found in {}",
            missing.join(", "),
            runner.repo.display()
        ),
        fix: "run from the repository's root (make deploy does)".into(),
    })
}

async fn terraform(runner: &Runner) -> Result<String, Problem> {
    let fix = "install Terraform 1.5 or later (https://developer.hashicorp.com/terraform/install)";
    let answer = runner
        .capture("terraform", &["version".into(), "-json".into()], &[])
        .await
        .map_err(|failure| Problem {
            what: failure.to_string(),
            fix: fix.into(),
        })?;
    let version = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["terraform_version"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut numbers = version.split('.').map(|n| n.parse::<u64>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if (major, minor) >= TERRAFORM_MIN {
        Ok(format!("Terraform {version}"))
    } else {
        Err(Problem {
            what: format!(
                "Terraform {version:?} is older than {}.{}",
                TERRAFORM_MIN.0, TERRAFORM_MIN.1
            ),
            fix: fix.into(),
        })
    }
}

/// `az login` (the Azure provider uses the CLI's sign-in), or a service principal's `ARM_*`.
async fn azure(runner: &Runner) -> Result<String, Problem> {
    if ARM_VARIABLES
        .iter()
        .all(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()))
    {
        return Ok("a service principal (ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET)".into());
    }
    let fix = "install the Azure CLI if it is missing (https://learn.microsoft.com/cli/azure/install-azure-cli), then sign in with az login --tenant <tenant id> --allow-no-subscriptions (a Teams-only tenant has no Azure subscription, which plain az login refuses) as a Global Administrator, or a Privileged Role Administrator who may also register applications (infra/README.md, manual action 1)";
    let answer = runner
        .capture(
            "az",
            &[
                "account".into(),
                "show".into(),
                "--output".into(),
                "json".into(),
            ],
            &[],
        )
        .await
        .map_err(|failure| Problem {
            what: failure.to_string(),
            fix: fix.into(),
        })?;
    let account: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    let tenant = account["tenantId"].as_str().unwrap_or("?");
    let user = account["user"]["name"].as_str().unwrap_or("?");
    Ok(format!(
        "az signed in as {} to tenant {}",
        presence_core::domain::excerpt::cut(user),
        presence_core::domain::excerpt::cut(tenant)
    ))
}

/// The account (from STS) and region (from the profile, `AWS_REGION` or `--region`).
async fn aws_identity(aws: &aws_config::SdkConfig) -> Result<AwsIdentity, Problem> {
    let Some(region) = aws.region().map(|r| r.to_string()) else {
        return Err(Problem {
            what: "no AWS region: neither --region, AWS_REGION nor the profile names one".into(),
            fix: "give --region eu-west-1 (the region to deploy to), or set it in your profile"
                .into(),
        });
    };
    let answer = aws_sdk_sts::Client::new(aws)
        .get_caller_identity()
        .send()
        .await;
    match answer {
        Ok(identity) => Ok(AwsIdentity {
            account: identity.account().unwrap_or_default().to_owned(),
            region,
        }),
        Err(error) => Err(Problem {
            what: format!(
                "STS: {}",
                aws_error::describe(&error)
            ),
            fix: "sign in to AWS (aws sso login, or export AWS_PROFILE / give --profile) with a principal that may deploy CloudFormation stacks".into(),
        }),
    }
}

async fn version(
    runner: &Runner,
    program: &str,
    args: &[&str],
    fix: &str,
) -> Result<String, Problem> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    match runner.capture(program, &args, &[]).await {
        Ok(out) => Ok(presence_core::domain::excerpt::cut(
            out.lines().next().unwrap_or(program),
        )),
        Err(failure) => Err(Problem {
            what: failure.to_string(),
            fix: fix.into(),
        }),
    }
}

async fn arm64_target(runner: &Runner) -> Result<String, Problem> {
    let fix = format!("rustup target add {ARM64_TARGET} (make deploy adds it, saying so)");
    let args: Vec<String> = ["target", "list", "--installed"]
        .map(str::to_owned)
        .to_vec();
    match runner.capture("rustup", &args, &[]).await {
        Ok(out) if out.lines().any(|l| l.trim() == ARM64_TARGET) => {
            Ok(format!("{ARM64_TARGET} installed"))
        }
        Ok(_) => Err(Problem {
            what: format!("the Rust target {ARM64_TARGET} is not installed"),
            fix,
        }),
        Err(failure) => Err(Problem {
            what: failure.to_string(),
            fix,
        }),
    }
}

/// The deployment client's id and secret, exported (never read from a file or an argument).
fn genesys_client() -> Result<String, Problem> {
    let missing: Vec<&str> = [GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET]
        .into_iter()
        .filter(|name| std::env::var(name).map_or(true, |v| v.trim().is_empty()))
        .collect();
    if missing.is_empty() {
        return Ok(format!(
            "{GENESYS_CLIENT_ID} and {GENESYS_CLIENT_SECRET} are set"
        ));
    }
    Err(Problem {
        what: format!("{} not set", missing.join(" and ")),
        fix: format!(
            "create the deployment OAuth client in Genesys Cloud (infra/README.md, manual action 2) and export {GENESYS_CLIENT_ID} and {GENESYS_CLIENT_SECRET} (read -s keeps the secret off the screen and out of the shell history)"
        ),
    })
}
