//! `presencectl scope show|include|exclude|reset`: the deployment's `SYNC_SCOPE`, the
//! operators' exceptions and how many agents are in and out; an exception set (with the
//! caller's AWS identity) and acted on at once (`PresenceSync::set_scope_exception`).

use crate::agent::resolve;
use crate::deployment::Deployment;
use crate::output::{Answer, doctor_fix, fields};
use crate::sync::{invocation, reconciler};
use crate::teams_id::caller_identity;
use presence_core::app::Parts;
use presence_core::domain::left::LeftReason;
use presence_core::domain::scope::{Exception, Scope};
use presence_core::ports::RecordScan;
use presence_core::service::ExceptionChange;
use serde::Serialize;

#[derive(clap::Subcommand)]
pub enum Action {
    /// The configured scope, the exceptions, and how many recorded agents are in and out.
    Show,
    /// Sync the agent whatever the scope says (an opt-in); recorded with who you are.
    Include { agent: String },
    /// Never sync the agent (an opt-out): what we set in their Teams is cleared now.
    Exclude { agent: String },
    /// Drop the agent's exception: the scope decides again.
    Reset { agent: String },
}

/// One operator's exception, as `scope show` lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub genesys_user_id: String,
    pub exception: &'static str,
    pub set_by: String,
    pub set_at_ms: i64,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScopeAnswer {
    /// `show`, `include`, `exclude` or `reset`.
    pub action: &'static str,
    /// `SYNC_SCOPE` as configured.
    pub scope: String,
    pub exceptions: Vec<Listed>,
    /// Recorded agents in scope, out of it (`outOfScope`, `excluded`) and departed.
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    pub genesys_user_id: Option<String>,
    pub change: Option<ExceptionChange>,
    #[serde(skip)]
    text: String,
}

pub async fn run(deployment: &Deployment, action: Action) -> Result<ScopeAnswer, String> {
    let config = deployment.config()?;
    let scope = match &config.settings.scope {
        Scope::All => "all".to_owned(),
        Scope::Members(entries) => {
            let shown: Vec<String> = entries.iter().map(ToString::to_string).collect();
            shown.join(",")
        }
    };
    let (agent, exception, name) = match action {
        Action::Show => return show(deployment, scope).await,
        Action::Include { agent } => (agent, Some(Exception::Include), "include"),
        Action::Exclude { agent } => (agent, Some(Exception::Exclude), "exclude"),
        Action::Reset { agent } => (agent, None, "reset"),
    };
    let user = resolve(&Parts::new(config, &deployment.aws), config, &agent).await?;
    let by = caller_identity(&deployment.aws).await?;
    let reconciler = reconciler(deployment)?;
    let change = reconciler
        .sync
        .set_scope_exception(&reconciler.genesys, &user, exception, &by, &invocation())
        .await
        .map_err(|e| doctor_fix(format!("{e} ({})", e.kind())))?;
    let did = match (change.let_go, change.taken_back) {
        (true, _) => "let go: what we set in Teams was cleared",
        (_, true) => "taken back: synced from Genesys's current state",
        _ => "recorded (nothing to do now)",
    };
    let text = fields(&[
        ("genesys user", user.to_string()),
        (
            "exception",
            exception
                .map_or("none (the scope decides)", Exception::as_str)
                .into(),
        ),
        ("set by", by),
        ("now", did.into()),
    ]);
    Ok(ScopeAnswer {
        action: name,
        scope,
        genesys_user_id: Some(user.to_string()),
        change: Some(change),
        text,
        ..ScopeAnswer::default()
    })
}

/// Walks the recorded agents: their exceptions, and how many are in and out.
async fn show(deployment: &Deployment, scope: String) -> Result<ScopeAnswer, String> {
    let config = deployment.config()?;
    let store = Parts::new(config, &deployment.aws).state_store(config);
    let mut answer = ScopeAnswer {
        action: "show",
        scope,
        ..ScopeAnswer::default()
    };
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .scan(cursor.as_deref(), 100)
            .await
            .map_err(doctor_fix)?;
        for (user, record) in page.records {
            let standing = match record.left.map(|l| l.reason) {
                None => "inScope",
                Some(LeftReason::OutOfScope) => "outOfScope",
                Some(LeftReason::Excluded) => "excluded",
                Some(LeftReason::Departed) => "departed",
            };
            *answer.counts.entry(standing).or_default() += 1;
            if let Some(mark) = record.exception {
                answer.exceptions.push(Listed {
                    genesys_user_id: user.to_string(),
                    exception: mark.exception.as_str(),
                    set_by: mark.by,
                    set_at_ms: mark.at_ms,
                });
            }
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    answer.text = show_text(&answer);
    Ok(answer)
}

fn show_text(answer: &ScopeAnswer) -> String {
    let count = |k: &str| answer.counts.get(k).copied().unwrap_or(0).to_string();
    let mut rows = vec![
        ("SYNC_SCOPE", answer.scope.clone()),
        ("in scope", count("inScope")),
        ("out of scope", count("outOfScope")),
        ("excluded", count("excluded")),
        ("departed", count("departed")),
    ];
    for listed in &answer.exceptions {
        let at = presence_core::domain::version::Version::from_millis(listed.set_at_ms);
        let line = format!("{} (by {}, {at})", listed.exception, listed.set_by);
        rows.push(("exception", format!("{}: {line}", listed.genesys_user_id)));
    }
    fields(&rows)
}

impl Answer for ScopeAnswer {
    fn text(&self) -> String {
        self.text.clone()
    }

    fn problem(&self) -> bool {
        false
    }
}
