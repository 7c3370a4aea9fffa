//! `presencectl deploy` and `presencectl destroy` (`make deploy`, `make destroy`): the whole
//! deployment — Microsoft Entra ID (infra/azure), Genesys Cloud (infra/genesys) and the AWS
//! stack (template.yaml) — in one command, step by step. Every step is idempotent, so a re-run
//! upgrades in place and resumes after a failure; a failed step says which it was, what failed
//! and the command to resume. The steps are in `run.rs`, the tools they drive beside it.

mod account;
mod command;
mod destroy;
pub(crate) mod function_env;
mod genesys_grant;
mod modules;
mod prerequisites;
mod rule;
mod run;
mod settings;
mod stack;
mod terraform;
mod verify;

pub use destroy::destroy;
pub use run::deploy;

use std::path::PathBuf;

/// The steps of a deployment, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Step {
    Prerequisites,
    Settings,
    Azure,
    Genesys,
    Credentials,
    Build,
    Stack,
    EventSource,
    Doctor,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Prerequisites,
        Step::Settings,
        Step::Azure,
        Step::Genesys,
        Step::Credentials,
        Step::Build,
        Step::Stack,
        Step::EventSource,
        Step::Doctor,
    ];

    /// The name `--from` takes and the messages use.
    pub fn name(self) -> &'static str {
        match self {
            Step::Prerequisites => "prerequisites",
            Step::Settings => "settings",
            Step::Azure => "azure",
            Step::Genesys => "genesys",
            Step::Credentials => "credentials",
            Step::Build => "build",
            Step::Stack => "stack",
            Step::EventSource => "event-source",
            Step::Doctor => "doctor",
        }
    }

    /// What the step does, in a line.
    fn what(self) -> &'static str {
        match self {
            Step::Prerequisites => "the tools and sign-ins the deployment needs",
            Step::Settings => {
                "the AWS account and region from the credentials, the Genesys Cloud region (asked once)"
            }
            Step::Azure => {
                "Entra ID app registration, Presence.ReadWrite.All with admin consent, its client secret into Secrets Manager (Terraform, infra/azure)"
            }
            Step::Genesys => {
                "Genesys role, the role granted to the deployment client, the function's OAuth client with its secret into Secrets Manager, the EventBridge integration (Terraform, infra/genesys)"
            }
            Step::Credentials => {
                "doctor's checks of the two secrets: Entra ID token with the Graph permission, Genesys token and SCIM read"
            }
            Step::Build => "the functions for arm64, release (sam build, Cargo Lambda)",
            Step::Stack => {
                "the stack, rule enabled (sam deploy, every parameter from the Terraform outputs)"
            }
            Step::EventSource => "the Genesys partner event source turns Active",
            Step::Doctor => "presencectl doctor on the whole deployment",
        }
    }

    fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }
}

/// Something that stops a step: what was wrong, and its fix in one sentence.
#[derive(Clone, Debug)]
pub struct Problem {
    pub what: String,
    pub fix: String,
}

/// `presencectl deploy`'s options (the stack is the global `--stack`, default presence-sync;
/// the AWS account and region come from the credentials, `--profile` and `--region`).
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    /// The Genesys Cloud region of your org, in any form you know: its AWS region
    /// (eu-west-1), its host (mypurecloud.ie), or the address you sign in at
    /// (https://login.mypurecloud.ie). Asked for on the first run when missing; remembered.
    #[arg(long, env = "GENESYS_REGION")]
    pub genesys_region: Option<String>,
    /// An e-mail address for the alarms (AWS sends it a confirmation to click); '' for none.
    /// Remembered.
    #[arg(long, env = "ALARM_EMAIL")]
    pub alarm_email: Option<String>,
    /// A further stack parameter, KEY=VALUE (repeatable): DriftPolicy=repair,
    /// ReservedConcurrency=100, … (template.yaml). Remembered.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// Start at this step; the steps before it only read what they made (a resume after a
    /// failure; a plain re-run resumes too, as every step is idempotent).
    #[arg(long, value_enum)]
    pub from: Option<Step>,
    /// How long new credentials may take to work before the credentials step fails, in
    /// seconds.
    #[arg(long, default_value_t = presence_core::policy::CREDENTIALS_WAIT.as_secs(), value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub credentials_wait: u64,
    /// Where the settings and the tools' logs are kept (`<dir>/<stack>/`).
    #[arg(long, default_value = ".deploy")]
    pub state_dir: PathBuf,
}

/// `presencectl destroy`'s options.
#[derive(clap::Args, Debug)]
pub struct DestroyArgs {
    /// Where `deploy` kept the settings and logs.
    #[arg(long, default_value = ".deploy")]
    pub state_dir: PathBuf,
}

/// The stack `deploy` and `destroy` use without `--stack`.
pub const DEFAULT_STACK: &str = "presence-sync";
