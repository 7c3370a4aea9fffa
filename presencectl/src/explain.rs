//! `presencectl explain <event.json>`: what the event function would do with an event against
//! the user's current record, and why, worked out by the library's own rules
//! (`PresenceSync::admit` and `PresenceSync::explain`): no write, no Graph call. With
//! `--mapping`, offline: against that mapping and no record (the first event the function sees
//! for the user), without AWS or a deployment.

use crate::agent::now_ms;
use crate::deployment::Deployment;
use crate::describe::teams_state;
use crate::output::{Answer, DOCTOR_FIX, fields, with_fix};
use presence_core::config::Config;
use presence_core::domain::decide::AfterClaim;
use presence_core::domain::event::GenesysEvent;
use presence_core::domain::mapping::{KeepReason, Target};
use presence_core::domain::outcome::Why;
use presence_core::domain::state::{Intent, Observation, UserState};
use presence_core::domain::step::Step;
use presence_core::ports::StateStore;
use presence_core::service::SyncError;
use serde::Serialize;
use std::io::Read;
use std::path::Path;

/// The largest event file read (EventBridge events are at most 256 KB).
const MAX_EVENT_FILE: u64 = 1 << 20;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    /// `rejected` (the function refuses the event), `answered` (it answers without calling
    /// Teams), `calls-teams` or `waits` (another instance holds the user).
    pub result: &'static str,
    pub genesys_user_id: Option<String>,
    /// Why the function rejects it (its error, as it would log it).
    pub rejected: Option<String>,
    /// The steps the function would take, in order.
    pub steps: Vec<String>,
    /// What the record maps to afterwards (`Busy/Busy`, `cleared`, or `keep: …`).
    pub target: Option<String>,
    /// The mapping entry that decided it (`OnQueue`, `routing:INTERACTING`, a definition id).
    pub mapping_entry: Option<String>,
    /// What the event was weighed against: the user's record, or none (offline).
    pub against: &'static str,
}

const AGAINST_RECORD: &str = "the user's current record in the state table";
const AGAINST_NOTHING: &str =
    "no record (offline, --mapping: the first event the function sees for this user)";

pub async fn run(deployment: &Deployment, path: &Path) -> Result<Explained, String> {
    let raw = read_event(path)?;
    let config = deployment.config()?;
    let sync = presence_core::app::build_with(config, &deployment.aws);
    let event = match sync.admit(raw) {
        Ok(event) => event,
        Err(error) => return Ok(rejected(&error, AGAINST_RECORD)),
    };
    let store = presence_core::app::Parts::new(config, &deployment.aws).state_store(config);
    let record = store.read(&event.user).await.map_err(|e| {
        with_fix(
            format!("reading the record of {}: {e}", event.user),
            DOCTOR_FIX,
        )
    })?;
    Ok(explained(&sync, &event, &record, AGAINST_RECORD))
}

/// Offline: the event against `mapping` (`{}` for the default one) and an empty record; no
/// AWS call, no deployment.
pub fn offline(path: &Path, mapping: &str) -> Result<Explained, String> {
    let raw = read_event(path)?;
    let config = Config::from_lookup(|name| match name {
        // Never read offline: the configuration requires them.
        "STATE_TABLE" | "AZURE_SECRET_ID" | "GENESYS_SECRET_ID" => Some("(offline)".into()),
        "GENESYS_ENVIRONMENT" => Some("mypurecloud.com".into()),
        "PRESENCE_MAPPING" => Some(mapping.into()),
        _ => None,
    })
    .map_err(|e| {
        with_fix(
            e,
            "correct the mapping (presencectl mapping check '<json>' says which entry)",
        )
    })?;
    // The clients are built, never called: nothing reads the table or calls Graph.
    let aws = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::from_static("us-east-1"))
        .build();
    let sync = presence_core::app::build_with(&config, &aws);
    Ok(match sync.admit(raw) {
        Ok(event) => explained(&sync, &event, &UserState::default(), AGAINST_NOTHING),
        Err(error) => rejected(&error, AGAINST_NOTHING),
    })
}

fn rejected(error: &SyncError, against: &'static str) -> Explained {
    Explained {
        result: "rejected",
        genesys_user_id: None,
        rejected: Some(format!("{} ({})", error, error.kind())),
        steps: vec![
            "reject the event: it fails and goes to the failure queue after Lambda's retries"
                .into(),
        ],
        target: None,
        mapping_entry: None,
        against,
    }
}

fn explained(
    sync: &presence_core::app::ProductionSync,
    event: &GenesysEvent,
    record: &UserState,
    against: &'static str,
) -> Explained {
    let explanation = sync.explain(event, record, now_ms());
    let result = match explanation.steps.last() {
        Some(Step::CarryOut(AfterClaim::Call { .. })) => "calls-teams",
        Some(Step::Wait { .. }) => "waits",
        _ => "answered",
    };
    let target = match explanation.target {
        Target::Teams(state) => teams_state(state),
        Target::Keep(KeepReason::Ignored) => "keep: the mapping says ignore".into(),
        Target::Keep(KeepReason::Unmapped) => "keep: a value the mapping does not know".into(),
        Target::Keep(KeepReason::NoPresenceYet) => "keep: no presence seen yet".into(),
    };
    Explained {
        result,
        genesys_user_id: Some(event.user.to_string()),
        rejected: None,
        steps: explanation.steps.iter().map(step).collect(),
        target: Some(target),
        mapping_entry: Some(explanation.matched.to_string()),
        against,
    }
}

/// The event's JSON, from a file or stdin (`-`), bounded.
fn read_event(path: &Path) -> Result<serde_json::Value, String> {
    let name = path.display();
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_EVENT_FILE)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_EVENT_FILE).read_to_string(&mut text))
    };
    let fix = "give a file holding one EventBridge event as JSON (from status --history or the failure queue), or - for stdin";
    read.map_err(|e| with_fix(format!("cannot read the event {name}: {e}"), fix))?;
    serde_json::from_str(&text)
        .map_err(|e| with_fix(format!("the event {name} is not JSON: {e}"), fix))
}

/// One step as an operator reads it.
fn step(step: &Step) -> String {
    match step {
        Step::Record { observation, claim } => {
            let claim = match claim {
                Some(Intent::Teams(state)) => format!(
                    ", taking the user's lease to make Teams show {}",
                    teams_state(*state)
                ),
                Some(Intent::Pending) => ", taking the user's lease".into(),
                None => " (no Teams call needed for it)".into(),
            };
            format!("record {}{claim}", observation_text(observation))
        }
        Step::ReleaseOwn => {
            "release its own lease, leaving the record dirty for the next attempt".into()
        }
        Step::Wait { holder_until_ms } => format!(
            "wait: another instance holds the user until {} (it applies the newest state)",
            crate::output::instant(*holder_until_ms)
        ),
        Step::Reclaim { intent, .. } => format!(
            "take the lease of the dirty record to settle it ({})",
            match intent {
                Intent::Teams(state) => teams_state(*state),
                Intent::Pending => "pending".into(),
            }
        ),
        Step::CarryOut(AfterClaim::Call { state, why, .. }) => format!(
            "call Microsoft Graph: make Teams show {} ({})",
            teams_state(*state),
            match why {
                Why::Changed => "the event changed what Teams should show",
                Why::Reconciled => "an earlier attempt left Teams unknown: re-applied",
                Why::Refreshed => "re-sent before it expires, or over drift",
            }
        ),
        Step::CarryOut(AfterClaim::NoCall { reason, .. }) => {
            format!(
                "no Teams call: {} (then release the lease)",
                reason.as_str()
            )
        }
        Step::Answer(outcome) => format!("answer {outcome}"),
    }
}

fn observation_text(observation: &Observation) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &observation.presence {
        parts.push(format!(
            "presence {} (changed {})",
            p.value.system,
            crate::output::instant(p.version.millis())
        ));
    }
    if let Some(r) = &observation.routing {
        parts.push(format!(
            "routing status {} (changed {})",
            r.value,
            crate::output::instant(r.version.millis())
        ));
    }
    if parts.is_empty() {
        return "nothing new".into();
    }
    parts.join(" and ")
}

impl Answer for Explained {
    fn text(&self) -> String {
        let mut out = match &self.rejected {
            Some(why) => format!("✗ the function would reject this event: {why}\n"),
            None => format!(
                "the function would: {}\n",
                match self.result {
                    "calls-teams" => "call Teams",
                    "waits" => "wait for another instance",
                    _ => "answer without calling Teams",
                }
            ),
        };
        let mut rows = Vec::new();
        if let Some(user) = &self.genesys_user_id {
            rows.push(("genesys user", user.clone()));
        }
        for (n, step) in self.steps.iter().enumerate() {
            rows.push((
                if n == 0 { "steps" } else { "" },
                format!("{}. {step}", n + 1),
            ));
        }
        if let Some(target) = &self.target {
            rows.push(("maps to", target.clone()));
        }
        if let Some(entry) = &self.mapping_entry {
            rows.push(("mapping entry", entry.clone()));
        }
        rows.push(("against", self.against.to_owned()));
        out.push_str(&fields(&rows));
        out
    }

    /// A rejected event is the problem; any other answer is the function working as designed.
    fn problem(&self) -> bool {
        self.rejected.is_some()
    }
}
