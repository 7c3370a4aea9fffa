//! `presencectl teams-id show|set|forget <agent>`: the cached Teams id of an agent, an
//! operator's override of it (recorded as such, with the operator's AWS identity, and logged),
//! and dropping it
//! (`service::teams_ids::set_override`, `forget_cached`).

use crate::agent::{now_ms, resolve};
use crate::deployment::Deployment;
use crate::describe::TeamsId;
use crate::output::{Answer, doctor_fix, fields, with_fix};
use presence_core::app::Parts;
use presence_core::domain::excerpt::excerpt;
use presence_core::domain::ids::TeamsUserId;
use presence_core::ports::TeamsIdCache;
use presence_core::service::teams_ids::{forget_cached, set_override};
use serde::Serialize;

#[derive(clap::Subcommand)]
pub enum Action {
    /// The cached Teams id (and where it came from).
    Show { agent: String },
    /// Override the Teams id (kept a year, whatever Genesys says; `forget` undoes it).
    Set {
        agent: String,
        /// The Teams (Entra ID) user object id.
        teams_user_id: String,
    },
    /// Drop the cached Teams id: the next event looks the agent up in Genesys again.
    Forget { agent: String },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsIdAnswer {
    /// `show`, `set` or `forget`.
    pub action: &'static str,
    pub genesys_user_id: String,
    /// The entry now (after `set`: the override; after `forget`: none).
    pub teams_id: Option<TeamsId>,
    /// The entry the command replaced or dropped.
    pub previous: Option<TeamsId>,
    #[serde(skip)]
    text: String,
}

pub async fn run(deployment: &Deployment, action: Action) -> Result<TeamsIdAnswer, String> {
    let config = deployment.config()?;
    let parts = Parts::new(config, &deployment.aws);
    let store = parts.state_store(config);
    let now_s = now_ms() / 1000;
    let (action, user, current, previous) = match action {
        Action::Show { agent } => {
            let user = resolve(&parts, config, &agent).await?;
            let cached = store.get(&user, now_s).await.map_err(doctor_fix)?;
            ("show", user, cached, None)
        }
        Action::Set {
            agent,
            teams_user_id,
        } => {
            let user = resolve(&parts, config, &agent).await?;
            let teams = TeamsUserId::parse(teams_user_id.trim()).ok_or_else(|| {
                with_fix(
                    format!("{} is not a Teams user id", excerpt(&teams_user_id)),
                    "give the Entra ID user's object id (a UUID)",
                )
            })?;
            let by = caller_identity(&deployment.aws).await?;
            let previous = set_override(&store, &user, &teams, &by, now_s)
                .await
                .map_err(doctor_fix)?;
            let now = store.get(&user, now_s).await.map_err(doctor_fix)?;
            ("set", user, now, previous)
        }
        Action::Forget { agent } => {
            let user = resolve(&parts, config, &agent).await?;
            let previous = forget_cached(&store, &user, now_s)
                .await
                .map_err(doctor_fix)?;
            ("forget", user, None, previous)
        }
    };
    let now_ms = now_s.saturating_mul(1000);
    let line = |c: &Option<presence_core::ports::CachedTeamsId>| match c {
        Some(c) => TeamsId::of(c, &config.settings).line(now_ms, c.expires_at),
        None => "none cached".into(),
    };
    let mut rows = vec![
        ("genesys user", user.to_string()),
        ("teams id", line(&current)),
    ];
    if action != "show" {
        rows.push(("before", line(&previous)));
    }
    let text = fields(&rows);
    Ok(TeamsIdAnswer {
        action,
        genesys_user_id: user.to_string(),
        teams_id: current.as_ref().map(|c| TeamsId::of(c, &config.settings)),
        previous: previous.as_ref().map(|c| TeamsId::of(c, &config.settings)),
        text,
    })
}

/// The AWS identity running this command (its ARN), recorded on an override so that the
/// table and the functions' log say who set it. GetCallerIdentity needs no permission.
async fn caller_identity(aws: &aws_config::SdkConfig) -> Result<String, String> {
    let identity = aws_sdk_sts::Client::new(aws)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not tell who you are (STS GetCallerIdentity), which an override records: {}",
                excerpt(&aws_sdk_sts::error::DisplayErrorContext(&e).to_string())
            )
        })?;
    identity
        .arn
        .ok_or_else(|| "STS GetCallerIdentity answered without an ARN".to_owned())
}

impl Answer for TeamsIdAnswer {
    fn text(&self) -> String {
        self.text.clone()
    }

    fn problem(&self) -> bool {
        false
    }
}
