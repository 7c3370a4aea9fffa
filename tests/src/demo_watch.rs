//! The demo's last scene, both directions (`make demo`): Gus, On Queue in a two-way
//! deployment, joins a Teams meeting; `presence-watch` takes him off queue in Genesys
//! ("In a Teams meeting") and, when he leaves the meeting, puts him back On Queue. The Genesys
//! events of both writes reach `presence-sync`, which recognises the first as its own (`echo`)
//! and writes nothing to Teams for either. The built binaries run under the Lambda Runtime
//! API, as in the rest of the demo.

use crate::aws::env_for;
use crate::events::{activity, at};
use crate::runtime_api::{LambdaProcess, RuntimeApi, binary_path};
use crate::shift_picture::{Lane, Origin, Step};
use crate::world::{Agent, World};
use serde_json::{Value, json};
use std::time::Duration;

/// When the scene happens in the replayed shift (ms after its start).
const ON_QUEUE_AT_MS: i64 = 1_200_000;
const MEETING_AT_MS: i64 = 2_100_000;
const LEFT_AT_MS: i64 = 3_150_000;
/// The demo's poll period (`WATCH_PERIOD_SECONDS`, its least): a warm watcher polls on one
/// schedule across runs, so a run polls only if one of its slots falls within its work.
const WATCH_PERIOD_SECONDS: u64 = 5;
/// One watcher run: its work ends 1.5 s before ([`presence_core::policy::DEADLINE_MARGIN`]),
/// and lasts longer than a poll period by 4 s, so that each run polls Gus at least once and
/// has time after its last poll for the look (a 1-s window, one bulk read) and one write at
/// the Genesys share's one request a second.
const WATCH_RUN: Duration = Duration::from_millis(WATCH_PERIOD_SECONDS * 1_000 + 5_500);

/// The two functions of a two-way deployment, running.
struct TwoWay {
    sync: RuntimeApi,
    watch: RuntimeApi,
    processes: Vec<LambdaProcess>,
}

impl TwoWay {
    async fn start(world: &World) -> TwoWay {
        let sync = RuntimeApi::start_for("presence-sync-two-way").await;
        let watch = RuntimeApi::start_for("presence-watch").await;
        let mut processes = Vec::new();
        for (runtime, name) in [(&sync, "presence-sync"), (&watch, "presence-watch")] {
            let mut env = world.function_env();
            env.extend(env_for(&world.moto));
            env.extend(runtime.lambda_env(name));
            env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
            env.push(("PRESENCE_MODE".into(), "two-way".into()));
            env.push(("ON_QUEUE_POLICY".into(), "take-off".into()));
            env.push((
                "WATCH_PERIOD_SECONDS".into(),
                WATCH_PERIOD_SECONDS.to_string(),
            ));
            processes.push(LambdaProcess::spawn(&binary_path(name), env));
        }
        TwoWay {
            sync,
            watch,
            processes,
        }
    }

    /// One Genesys event through presence-sync: `outcome/reason`.
    async fn event(&self, event: Value) -> String {
        match self
            .sync
            .invoke(event, Duration::from_secs(10))
            .await
            .result
        {
            Ok(report) => format!(
                "{}/{}",
                report["outcome"].as_str().unwrap_or("?"),
                report["reason"].as_str().unwrap_or("?")
            ),
            Err(failure) => format!("failed/{failure:?}"),
        }
    }

    /// One scheduled watcher run: its report.
    async fn run(&self) -> Value {
        let scheduled = crate::events::scheduled();
        match self.watch.invoke(scheduled, WATCH_RUN).await.result {
            Ok(report) => report,
            Err(failure) => json!({ "failed": format!("{failure:?}") }),
        }
    }
}

/// Plays the scene, printing it; the lane it draws.
pub async fn play(world: &World) -> Lane {
    println!("\nBoth directions (presence-watch, two-way, ON_QUEUE_POLICY=take-off):");
    let two_way = TwoWay::start(world).await;
    let gus = world.agent();
    world.ms.sign_in(&gus.teams);
    let t = ON_QUEUE_AT_MS;
    let since = Some(at(t));
    let since = since.as_deref();
    (world.genesys).set_state(&gus.genesys, "On Queue", since, "IDLE", since);
    let outcome = two_way
        .event(activity(&gus.genesys, "ON_QUEUE", t, "IDLE", t))
        .await;
    say("Gus goes On Queue", &outcome, world, &gus);
    let signed_in = own(t - 120_000, "signed in to Teams", world, &gus);
    let mut steps = vec![signed_in, step(t, "On Queue", &outcome, world, &gus)];

    world.ms.join_meeting(&gus.teams);
    say("Gus joins a Teams meeting", "", world, &gus);
    steps.push(own(MEETING_AT_MS, "joins a Teams meeting", world, &gus));
    steps.push(two_way.watch(world, &gus, "take-off", MEETING_AT_MS).await);

    world.ms.leave_meeting(&gus.teams);
    say("Gus leaves the meeting", "", world, &gus);
    steps.push(own(LEFT_AT_MS, "leaves the meeting", world, &gus));
    steps.push(two_way.watch(world, &gus, "restore", LEFT_AT_MS).await);
    println!(
        "  Graph writes for Gus: {} (two-way writes nothing over On Queue, and nothing for the watcher's own writes); Genesys writes: {}",
        world.graph_calls(&gus),
        world.genesys.presence_writes().len()
    );
    for mut process in two_way.processes {
        process.kill().await;
    }
    Lane {
        name: "Gus".to_owned(),
        has_teams_user: true,
        steps,
    }
}

impl TwoWay {
    /// One watcher run after a Teams change at `at_ms` (drawn one poll period later), then
    /// the Genesys events of its writes through presence-sync: the step it draws.
    async fn watch(&self, world: &World, gus: &Agent, kind: &str, at_ms: i64) -> Step {
        let report = self.run().await;
        let counted = if kind == "take-off" {
            "takenOff"
        } else {
            "restored"
        };
        let (system, genesys) = genesys_now(world, gus);
        println!(
            "  presence-watch, one run: {} {} → Genesys {genesys}",
            figure(&report, counted),
            if kind == "take-off" {
                "taken off"
            } else {
                "restored"
            }
        );
        let mut outcomes = Vec::new();
        for event in world.genesys.drain_presence_events() {
            let outcome = self.event(event).await;
            say(
                "  its Genesys event reaches presence-sync",
                &outcome,
                world,
                gus,
            );
            outcomes.push(outcome);
        }
        Step {
            origin: Origin::Watcher,
            at_ms: at_ms + WATCH_PERIOD_SECONDS as i64 * 1_000,
            label: match outcomes.iter().any(|o| o == "skipped/echo") {
                true => format!("watcher: {kind} (its event: echo)"),
                false => format!("watcher: {kind}"),
            },
            genesys: Some(system),
            outcome: "set-genesys".to_owned(),
            reason: kind.to_owned(),
            teams: shown(world, gus),
            lag: None,
        }
    }
}

fn figure(report: &Value, name: &str) -> String {
    match report.get(name).and_then(Value::as_u64) {
        Some(n) => n.to_string(),
        None => format!("? ({report})"),
    }
}

fn say(what: &str, outcome: &str, world: &World, gus: &Agent) {
    let (availability, activity) = world.ms.shown_presence(&gus.teams);
    let outcome = if outcome.is_empty() {
        String::new()
    } else {
        format!(": {outcome}")
    };
    println!("  {what}{outcome} · Teams shows {availability}/{activity}");
}

/// Gus's Genesys presence now, as the Users API serves it: the system presence, and it with
/// its message.
fn genesys_now(world: &World, gus: &Agent) -> (String, String) {
    let presence = world
        .genesys
        .user_presence(&gus.genesys)
        .unwrap_or_default();
    let system = presence["presenceDefinition"]["systemPresence"]
        .as_str()
        .unwrap_or("?");
    let shown = match presence["message"].as_str().filter(|m| !m.is_empty()) {
        Some(message) => format!("{system} (\"{message}\")"),
        None => system.to_owned(),
    };
    (system.to_owned(), shown)
}

fn shown(world: &World, gus: &Agent) -> String {
    let (availability, activity) = world.ms.shown_presence(&gus.teams);
    format!("{availability}/{activity}")
}

fn step(at_ms: i64, label: &str, outcome: &str, world: &World, gus: &Agent) -> Step {
    let (outcome, reason) = outcome.split_once('/').unwrap_or((outcome, ""));
    Step {
        origin: Origin::Event,
        at_ms,
        label: label.to_owned(),
        genesys: Some(label.to_owned()),
        outcome: outcome.to_owned(),
        reason: reason.to_owned(),
        teams: shown(world, gus),
        lag: None,
    }
}

/// The agent's own Teams activity (nothing of ours in Teams).
fn own(at_ms: i64, label: &str, world: &World, gus: &Agent) -> Step {
    Step {
        origin: Origin::Outside,
        at_ms,
        label: label.to_owned(),
        genesys: None,
        outcome: "own".to_owned(),
        reason: "Teams activity".to_owned(),
        teams: shown(world, gus),
        lag: None,
    }
}
