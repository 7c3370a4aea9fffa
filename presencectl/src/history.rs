//! The agent's last outcomes from the event function's log group (a Logs Insights query over
//! its JSON lines: `outcome`, `reason`, `errorType`, `genesysUserId`).

use crate::aws_error;
use crate::deployment::Deployment;
use crate::output::instant;
use presence_core::domain::excerpt::cut;
use presence_core::domain::ids::GenesysUserId;
use serde::Serialize;
use std::time::Duration;

/// How far back the query looks, and how many lines it keeps.
const LOOK_BACK: Duration = Duration::from_secs(7 * 24 * 3600);
const LINES: usize = 20;

/// One logged outcome.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub at: String,
    /// `applied`, `cleared`, `skipped` or `failed`.
    pub outcome: String,
    /// The reason, or the error type of a failure.
    pub reason: String,
    pub teams: Option<String>,
}

/// The query (the user id is a validated UUID, so it cannot change the query).
fn query(user: &GenesysUserId) -> String {
    format!(
        "filter fields.genesysUserId = \"{user}\" | fields @timestamp, @message | sort @timestamp desc | limit {LINES}"
    )
}

pub async fn last_outcomes(
    deployment: &Deployment,
    log_group: &str,
    user: &GenesysUserId,
) -> Result<Vec<Line>, String> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&deployment.aws);
    let end = chrono::Utc::now().timestamp();
    let failed = |detail: String| {
        let fix = aws_error::fix_for(&detail)
            .unwrap_or("let this principal call logs:StartQuery and logs:GetQueryResults on the log group, or drop --history");
        format!("CloudWatch Logs: querying {log_group}: {detail} — fix: {fix}")
    };
    let started = logs
        .start_query()
        .log_group_name(log_group)
        .start_time(end - LOOK_BACK.as_secs() as i64)
        .end_time(end + 60)
        .query_string(query(user))
        .send()
        .await
        .map_err(|e| failed(aws_error::describe(&e)))?;
    let id = started.query_id().unwrap_or_default().to_owned();
    // Logs Insights answers within seconds; give up after a minute.
    for _ in 0..120 {
        let answer = logs
            .get_query_results()
            .query_id(&id)
            .send()
            .await
            .map_err(|e| failed(aws_error::describe(&e)))?;
        use aws_sdk_cloudwatchlogs::types::QueryStatus;
        match answer.status() {
            Some(QueryStatus::Complete) => return Ok(lines(answer.results(), user)),
            Some(QueryStatus::Running | QueryStatus::Scheduled) | None => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Some(other) => {
                return Err(format!(
                    "CloudWatch Logs: the query ended {}",
                    other.as_str()
                ));
            }
        }
    }
    Err("CloudWatch Logs: the query did not finish within a minute".into())
}

/// The user's outcome lines among the results (filtered again here: a line that is not one of
/// ours, or another user's, is left out).
fn lines(
    results: &[Vec<aws_sdk_cloudwatchlogs::types::ResultField>],
    user: &GenesysUserId,
) -> Vec<Line> {
    let mut out = Vec::new();
    for row in results {
        let field = |name: &str| {
            row.iter()
                .find(|f| f.field() == Some(name))
                .and_then(|f| f.value())
        };
        let Some(message) = field("@message") else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(message) else {
            continue;
        };
        // The function logs JSON lines with the event's fields under `fields`.
        let get = |name: &str| {
            json.get("fields")
                .and_then(|f| f.get(name))
                .and_then(|v| v.as_str())
                .map(cut)
        };
        if get("genesysUserId").as_deref() != Some(user.as_str()) {
            continue;
        }
        let Some(outcome) = get("outcome") else {
            continue;
        };
        let at = field("@timestamp")
            .and_then(timestamp_ms)
            .map(instant)
            .unwrap_or_else(|| "-".into());
        out.push(Line {
            at,
            reason: get("reason")
                .or_else(|| get("errorType"))
                .unwrap_or_default(),
            outcome,
            teams: get("teams"),
        });
        if out.len() == LINES {
            break;
        }
    }
    out
}

/// `@timestamp` as Logs Insights gives it (`2026-12-01 10:00:00.000`), or ms since the epoch.
fn timestamp_ms(raw: &str) -> Option<i64> {
    if let Ok(ms) = raw.parse::<i64>() {
        return Some(ms);
    }
    chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

pub fn text(lines: &[Line]) -> String {
    if lines.is_empty() {
        return "  history         no outcome logged for this user in the last 7 days\n".into();
    }
    let mut out = String::from("  history:\n");
    for line in lines {
        let teams = line
            .teams
            .as_deref()
            .map(|t| format!(" → {t}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "    {}  {}/{}{teams}\n",
            line.at, line.outcome, line.reason
        ));
    }
    out
}
