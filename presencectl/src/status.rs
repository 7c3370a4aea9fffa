//! `presencectl status <agent>`: the record, the cached Teams id, Genesys and Teams now, what
//! the reconciler would do, and (with `--history`) the agent's last outcomes from the logs.

use crate::agent::{budget, now_ms, resolve};
use crate::deployment::Deployment;
use crate::describe::{Record, TeamsId};
use crate::output::{Answer, DOCTOR_FIX, doctor_fix, fields, with_fix};
use presence_core::app::Parts;
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::reconcile::{Quiet, Refresh, Shown, Verdict, judge_mapped};
use presence_core::domain::teams::TeamsState;
use presence_core::ports::{GenesysBulk, PresenceReader, StateStore, TeamsIdCache, TeamsIdEntry};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub genesys_user_id: String,
    pub record: Record,
    pub teams_id: Option<TeamsId>,
    /// Genesys's current presence and routing status (`presence`, `routingStatus`).
    pub genesys_now: Reading,
    /// What Teams shows now (`availability/activity`).
    pub teams_now: Reading,
    /// Whether the agent is in `SYNC_SCOPE`, and why.
    pub scope: String,
    /// What the reconciler would do for the user now, and why.
    pub verdict: String,
    /// Whether Teams shows what Genesys says it should (nothing to repair).
    pub agree: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<crate::history::Line>>,
    #[serde(skip)]
    text: String,
}

/// A remote read: its value, or why there is none.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    pub value: Option<String>,
    pub note: Option<String>,
}

impl Reading {
    fn value(value: String) -> Reading {
        Reading {
            value: Some(value),
            note: None,
        }
    }

    fn note(note: impl Into<String>) -> Reading {
        Reading {
            value: None,
            note: Some(note.into()),
        }
    }

    fn line(&self) -> String {
        match (&self.value, &self.note) {
            (Some(value), _) => value.clone(),
            (None, Some(note)) => format!("unknown: {note}"),
            (None, None) => "unknown".into(),
        }
    }
}

pub async fn run(deployment: &Deployment, agent: &str, history: bool) -> Result<Status, String> {
    let config = deployment.config()?;
    let parts = Parts::new(config, &deployment.aws);
    let user = resolve(&parts, config, agent).await?;
    let store = parts.state_store(config);
    let now = now_ms();
    let record = store
        .read(&user)
        .await
        .map_err(|e| doctor_fix(format!("reading the record of {user}: {e}")))?;
    let cached = (store.get(&user, now / 1000).await)
        .map_err(|e| doctor_fix(format!("reading the cached Teams id of {user}: {e}")))?;
    let (genesys, genesys_now) = genesys_now(&parts, config, &user).await;
    // Teams is read for the user the record last wrote to, or the cached Teams id.
    let teams_user = record
        .applied_to
        .clone()
        .or(match cached.as_ref().map(|c| &c.entry) {
            Some(TeamsIdEntry::Teams(teams)) => Some(teams.clone()),
            _ => None,
        });
    let (shown, teams_now) = match &teams_user {
        Some(teams) => teams_now(&parts, config, teams).await,
        None => (None, Reading::note("no Teams id known for this user")),
    };
    // The reconciler's rules (its function sets DRIFT_POLICY).
    let reconcile = deployment.reconcile_config()?;
    let rules = reconcile
        .reconcile
        .settings(reconcile.settings.max_clock_skew)
        .map_err(|e| with_fix(e, DOCTOR_FIX))?
        .rules;
    let shown_ref = shown.as_ref().map(|(availability, activity)| Shown {
        availability,
        activity,
    });
    let seen = genesys
        .as_ref()
        .map(presence_core::service::reconcile::view);
    let target = record.target(&reconcile.mapping).0;
    let verdict = judge_mapped(&rules, &record, &target, seen, shown_ref, now);
    let no_teams = matches!(
        cached.as_ref().map(|c| &c.entry),
        Some(TeamsIdEntry::NoTeamsId | TeamsIdEntry::ClaimedBy { .. })
    );
    // Teams unread (or unreadable) cannot be said to agree with a preferred presence.
    let seen = shown.is_some() || !matches!(record.applied(), TeamsState::Preferred(_));
    let agree = !no_teams
        && seen
        && matches!(
            verdict,
            Verdict::Nothing(Quiet::Clean | Quiet::NoSession)
                | Verdict::Refresh(Refresh::KeepAlive)
        );
    let history = match (history, &deployment.stack) {
        (true, Some(stack)) => {
            Some(crate::history::last_outcomes(deployment, &stack.log_group, &user).await?)
        }
        (true, None) => {
            return Err(with_fix(
                "--history reads the function's log group, which only a stack names",
                "give --stack (the deployment's stack), or drop --history",
            ));
        }
        (false, _) => None,
    };
    let mut status = Status {
        genesys_user_id: user.to_string(),
        record: Record::of(&record),
        teams_id: cached.as_ref().map(|c| TeamsId::of(c, &config.settings)),
        scope: scope_line(config, &record, genesys.as_ref()),
        genesys_now,
        teams_now,
        verdict: verdict_text(&verdict, record.rev > 0),
        agree,
        history,
        text: String::new(),
    };
    status.text = text(
        &status,
        &record,
        cached.as_ref().map_or(0, |c| c.expires_at),
        now,
    );
    Ok(status)
}

async fn genesys_now(
    parts: &Parts,
    config: &presence_core::config::Config,
    user: &GenesysUserId,
) -> (Option<presence_core::ports::GenesysNow>, Reading) {
    use presence_core::ports::Account;
    let genesys = parts.genesys_bulk(config);
    match genesys.current(std::slice::from_ref(user), budget()).await {
        Ok(mut found) => match found.pop() {
            Some(now) if now.account == Account::NotFound => {
                (Some(now), Reading::note("Genesys does not know this user"))
            }
            Some(now) if !now.account.is_active() => {
                let state = format!("{:?}", now.account).to_lowercase();
                let reading = Reading::note(format!("the Genesys account is {state}"));
                (Some(now), reading)
            }
            Some(now) => {
                let presence = (now.observation.presence.as_ref())
                    .map_or("-".to_owned(), |p| p.value.system.to_string());
                let routing = (now.observation.routing.as_ref())
                    .map_or("-".to_owned(), |r| r.value.to_string());
                let reading = Reading::value(format!("{presence}, routing status {routing}"));
                (Some(now), reading)
            }
            None => (None, Reading::note("Genesys did not answer for this user")),
        },
        Err(error) => (None, Reading::note(error.to_string())),
    }
}

async fn teams_now(
    parts: &Parts,
    config: &presence_core::config::Config,
    teams: &presence_core::domain::ids::TeamsUserId,
) -> (Option<(String, String)>, Reading) {
    let graph = parts.presence_writer(config);
    match graph.read(std::slice::from_ref(teams), budget()).await {
        Ok(mut found) => match found.pop() {
            Some(now) => {
                let reading = Reading::value(format!("{}/{}", now.availability, now.activity));
                (Some((now.availability, now.activity)), reading)
            }
            None => (
                None,
                Reading::note(format!("Graph does not know Teams user {teams}")),
            ),
        },
        Err(error) => (None, Reading::note(error.to_string())),
    }
}

/// The verdict as an operator reads it.
fn verdict_text(verdict: &Verdict, record_exists: bool) -> String {
    match verdict {
        Verdict::Repair(_) => "repair: the record holds a version from the future; the reconciler replaces it with Genesys's state".into(),
        Verdict::Recover(_) if !record_exists => "recover: no event recorded for this user yet; `presencectl sync` applies Genesys's state".into(),
        Verdict::Recover(_) => "recover: Genesys holds a newer state than the record (a lost event); `presencectl sync` applies it".into(),
        Verdict::Settle => "settle: the record is dirty (a Graph call was not confirmed); `presencectl sync` re-applies it".into(),
        Verdict::Refresh(Refresh::KeepAlive) => "keep alive: Teams agrees; the preferred presence is due to be re-sent before it expires".into(),
        Verdict::Refresh(Refresh::Remap) => "remap: the mapping in force (PRESENCE_MAPPING, PRESENCE_MODE) maps this state to something else than what was applied; the reconciler re-sends it, or `presencectl sync` now".into(),
        Verdict::Refresh(Refresh::Repair(_)) | Verdict::Report(_) => "drift: Teams shows something else than what was applied; `presencectl sync` re-sends it".into(),
        Verdict::Nothing(Quiet::Clean) => "nothing to do: Teams shows what was applied".into(),
        Verdict::Nothing(Quiet::NoSession) => "nothing to do: the user has no Teams session (Offline), so no preferred presence shows".into(),
        Verdict::Nothing(Quiet::Busy) => "busy: another instance holds the user's lease right now".into(),
        Verdict::Nothing(Quiet::Poisoned) => "poisoned: the record holds a version from the future and Genesys did not answer".into(),
        Verdict::LetGo(reason) => format!("let go ({reason}): Genesys no longer lists the user as active; the reconciler clears what we set in Teams once, then leaves them alone"),
        Verdict::Rejoin(_) => "rejoin: a user let go is active in Genesys again; `presencectl sync` syncs them from Genesys's current state".into(),
        Verdict::Nothing(Quiet::Left) => "nothing to do: the sync let this user go (what we set was cleared); it syncs them again once Genesys lists them as active".into(),
    }
}

fn text(
    status: &Status,
    record: &presence_core::domain::state::UserState,
    expires_at_s: i64,
    now: i64,
) -> String {
    let mut rows = vec![("genesys user", status.genesys_user_id.clone())];
    rows.extend(status.record.rows(record, now));
    let teams_id = match &status.teams_id {
        Some(id) => id.line(now, expires_at_s),
        None => "not cached (looked up in Genesys at the next event)".into(),
    };
    rows.push(("teams id", teams_id));
    rows.push(("scope", status.scope.clone()));
    rows.push(("genesys now", status.genesys_now.line()));
    rows.push(("teams now", status.teams_now.line()));
    if let TeamsState::Preferred(_) = record.applied() {
        rows.push(("should show", status.record.applied.clone()));
    }
    rows.push(("verdict", status.verdict.clone()));
    let mut out = format!(
        "{} {}\n",
        if status.agree { "✓" } else { "✗" },
        if status.agree {
            "Teams agrees with Genesys"
        } else {
            "Teams does not agree with Genesys"
        }
    );
    out.push_str(&fields(&rows));
    if let Some(history) = &status.history {
        out.push_str(&crate::history::text(history));
    }
    out
}

impl Answer for Status {
    fn text(&self) -> String {
        self.text.clone()
    }

    fn problem(&self) -> bool {
        !self.agree
    }
}

/// Whether the agent is in scope and why: the record's let-go mark first, then an operator's
/// exception, then the memberships Genesys reports (queues as the reconciler reads them are
/// not here: a queue-only answer says so).
fn scope_line(
    config: &presence_core::config::Config,
    record: &presence_core::domain::state::UserState,
    genesys: Option<&presence_core::ports::GenesysNow>,
) -> String {
    use presence_core::domain::scope::{InScope, OutOfScope, ScopeVerdict, decide};
    let exception = record.exception.as_ref();
    let by = exception.map_or(String::new(), |m| format!(" (by {})", m.by));
    if let Some(left) = record.left {
        return format!("out: let go ({}){by}", left.reason);
    }
    let known = genesys.map(|n| n.membership.clone()).unwrap_or_default();
    match decide(
        &config.settings.scope,
        exception.map(|m| m.exception),
        &known,
    ) {
        ScopeVerdict::In(InScope::All) => "in: SYNC_SCOPE is all".into(),
        ScopeVerdict::In(InScope::Included) => format!("in: included by an operator{by}"),
        ScopeVerdict::In(InScope::Member(entry)) => format!("in: a member of {entry}"),
        ScopeVerdict::Out(OutOfScope::Excluded) => format!("out: excluded by an operator{by}"),
        ScopeVerdict::Out(OutOfScope::NotAMember) => {
            "out: a member of none of SYNC_SCOPE's entries".into()
        }
        ScopeVerdict::Unknown => "not known here (queues are read by the reconciler)".into(),
    }
}
