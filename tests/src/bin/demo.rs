//! Runs the `presence-sync` function locally, as Lambda would: moto (DynamoDB and Secrets
//! Manager), the fake Genesys Cloud and Microsoft servers, the Lambda Runtime API, and the
//! built binary; replays a shift of Genesys events and prints each agent's Genesys presence
//! beside the Teams presence that resulted. It also draws the shift
//! (`target/demo/shift.html`, [`presence_sync_tests::shift_picture`]): one lane per agent,
//! Genesys above Teams, each change's lag and each skipped or failed event's reason. Its last
//! scene is the reverse direction ([`presence_sync_tests::demo_watch`]): a Teams meeting takes
//! an agent off queue and back, with no echo.
//!
//! The clock is simulated: the shift's events carry the times of a shift that began an hour
//! ago, and are replayed in seconds; the lags shown are measured.
//!
//! `make demo` (or `cargo build -p presence-sync && cargo run -p presence-sync-tests --bin demo`).
#![forbid(unsafe_code)]

use presence_sync_tests::aws::env_for;
use presence_sync_tests::events::{activity, new_id, presence, routing};
use presence_sync_tests::fake_microsoft::MsEndpoint;
use presence_sync_tests::fault::Fault;
use presence_sync_tests::runtime_api::{InvokeFailure, LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::shift_picture::{self, Lane, Origin, Shift, Step};
use presence_sync_tests::world::{Agent, World};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What happens around one delivery.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Twist {
    None,
    /// Graph answers 503 until the invocation's budget runs out (a 3-second invocation).
    GraphOutage,
}

struct Person {
    name: &'static str,
    agent: Agent,
    genesys_presence: String,
}

/// Where the replayed shift's reconciler runs, after the last event (ms after its start).
const RECONCILER_AT_MS: i64 = 3_300_000;
/// What no event repairs happens here (ms after the shift's start).
const OUTSIDE_AT_MS: i64 = 3_200_000;

/// The shift began an hour ago (to the minute): its events' times are real recent ones, so an
/// operator's "changed 50 min ago" reads true. Its minute of the day (UTC), for the picture.
fn start_the_clock() -> i64 {
    let now = chrono::Utc::now().timestamp();
    let start = (now - 3600) / 60 * 60;
    let start = chrono::DateTime::from_timestamp(start, 0).unwrap_or_default();
    let start = presence_sync_tests::events::start_clock_at(start);
    let minute = (start.timestamp() / 60).rem_euclid(24 * 60);
    println!(
        "Replaying an hour's shift that began at {:02}:{:02} UTC: its events are sent in seconds, at the times they carry (a simulated clock; the lags are measured).",
        minute / 60,
        minute % 60
    );
    minute
}

#[tokio::main]
async fn main() {
    let start_clock_minutes = start_the_clock();
    println!("Starting moto, fake Genesys Cloud and Microsoft Graph, and the Lambda Runtime API…");
    let world = World::start().await;
    let runtime = RuntimeApi::start_for("presence-sync").await;
    let mut env = world.function_env();
    env.extend(env_for(&world.moto));
    env.extend(runtime.lambda_env("presence-sync"));
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
    let mut process = LambdaProcess::spawn(&binary_path("presence-sync"), env);

    let mut people: Vec<Person> = ["Ana", "Ben", "Chloé", "Dev", "Eli"]
        .into_iter()
        .map(|name| Person {
            name,
            agent: world.agent(),
            genesys_presence: "-".into(),
        })
        .collect();
    // One agent whose Genesys user has no Teams id (not provisioned by the Teams SCIM app).
    let fay = Agent {
        genesys: new_id(),
        teams: "(none)".into(),
    };
    world.genesys.add_user(&fay.genesys, None);
    people.push(Person {
        name: "Fay",
        agent: fay,
        genesys_presence: "-".into(),
    });

    // A shift, in milliseconds after 08:00: sign-in On Queue, interactions, breaks, a late
    // (out-of-order) event, a duplicate delivery, and sign-out.
    let mut events: Vec<(usize, &str, i64, Value, Twist)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let t = 60_000 * i as i64;
        events.push((
            i,
            "On Queue",
            t,
            activity(&p.agent.genesys, "ON_QUEUE", t, "IDLE", t),
            Twist::None,
        ));
    }
    let ana = &people[0].agent.genesys;
    let ben = &people[1].agent.genesys;
    let chloe = &people[2].agent.genesys;
    let dev = &people[3].agent.genesys;
    let eli = &people[4].agent.genesys;
    let duplicate = presence(dev, "Break", 900_000);
    // Dev's return to the queue meets a Graph outage; Lambda's retry delivers it again.
    let back_on_queue = activity(dev, "On Queue", 2_800_000, "IDLE", 2_800_000);
    let none = Twist::None;
    events.extend([
        (
            0,
            "(routing) INTERACTING",
            400_000,
            routing(ana, "INTERACTING", 400_000),
            none,
        ),
        (1, "Meal", 500_000, presence(ben, "Meal", 500_000), none),
        (
            2,
            "Training",
            600_000,
            activity(chloe, "Training", 600_000, "OFF_QUEUE", 600_000),
            none,
        ),
        (3, "Break", 900_000, duplicate.clone(), none),
        (3, "Break (delivered again)", 900_000, duplicate, none),
        (
            1,
            "Available",
            2_300_000,
            presence(ben, "AVAILABLE", 2_300_000),
            none,
        ),
        (
            1,
            "Meal (late, older)",
            1_900_000,
            presence(ben, "Meal", 1_900_000),
            none,
        ),
        (4, "Away", 2_400_000, presence(eli, "AWAY", 2_400_000), none),
        (
            0,
            "(routing) IDLE",
            2_500_000,
            routing(ana, "IDLE", 2_500_000),
            none,
        ),
        (
            3,
            "On Queue",
            2_800_000,
            back_on_queue.clone(),
            Twist::GraphOutage,
        ),
        (
            3,
            "On Queue (Lambda's retry)",
            2_800_000,
            back_on_queue,
            none,
        ),
        (
            4,
            "Offline",
            3_000_000,
            presence(eli, "OFFLINE", 3_000_000),
            none,
        ),
        (
            5,
            "Available",
            3_100_000,
            presence(&people[5].agent.genesys, "AVAILABLE", 3_100_000),
            none,
        ),
    ]);

    println!(
        "\n{:<7} {:<26} {:<9} {:<17} Teams now",
        "agent", "Genesys event", "outcome", "reason"
    );
    let mut steps: Vec<Vec<Step>> = vec![Vec::new(); people.len()];
    // When each event was first delivered: the lag runs from there, retries included.
    let mut first_delivered: HashMap<String, Instant> = HashMap::new();
    for (who, label, at_ms, event, twist) in events {
        let event_id = event["id"].as_str().unwrap_or_default().to_owned();
        let delivered = *first_delivered.entry(event_id).or_insert_with(Instant::now);
        let timeout = match twist {
            Twist::None => Duration::from_secs(10),
            Twist::GraphOutage => {
                world
                    .ms
                    .faults()
                    .push_n(MsEndpoint::Presence, Fault::status(503), 50);
                Duration::from_secs(3)
            }
        };
        let invocation = runtime.invoke(event, timeout).await;
        world.ms.faults().clear();
        let person = &mut people[who];
        let changes_genesys = !label.starts_with("(routing)")
            && !label.contains("late")
            && !label.contains("again")
            && !label.contains("retry");
        if changes_genesys {
            person.genesys_presence = label.to_owned();
        }
        let (outcome, reason) = match &invocation.result {
            Ok(report) => (
                report["outcome"].as_str().unwrap_or("?").to_owned(),
                report["reason"].as_str().unwrap_or("?").to_owned(),
            ),
            Err(InvokeFailure::Error(error)) => ("failed".to_owned(), error.error_type.clone()),
            Err(failure) => ("failed".to_owned(), format!("{failure:?}")),
        };
        let teams_now = teams(&world, &person.agent);
        println!(
            "{:<7} {:<26} {:<9} {:<17} {}",
            person.name, label, outcome, reason, teams_now
        );
        // Graph's own record of when it accepted the change.
        let lag = (outcome == "applied" || outcome == "cleared")
            .then(|| {
                world
                    .ms
                    .presence_history(&person.agent.teams)
                    .last()
                    .map(|c| c.at())
            })
            .flatten()
            .map(|accepted| accepted.saturating_duration_since(delivered));
        steps[who].push(Step {
            origin: Origin::Event,
            at_ms,
            label: label.to_owned(),
            genesys: changes_genesys.then(|| label.to_owned()),
            outcome,
            reason,
            teams: teams_now,
            lag,
        });
    }

    println!(
        "\n{:<7} {:<18} {:<26} Graph calls",
        "agent", "Genesys presence", "Teams preferred presence"
    );
    for p in &people {
        println!(
            "{:<7} {:<18} {:<26} {}",
            p.name,
            p.genesys_presence,
            teams(&world, &p.agent),
            world.graph_calls(&p.agent)
        );
    }
    if people.iter().any(|p| teams(&world, &p.agent) == CLEARED) {
        println!(
            "{CLEARED}: Offline in Genesys clears the preferred presence this function set; Teams then shows the agent's own status (their Teams client's)."
        );
    }
    reconcile(&world, &people, &mut steps).await;
    operator(&world, &people[2]).await;
    let gus = presence_sync_tests::demo_watch::play(&world).await;

    println!(
        "\nRemote calls: Graph presence {}, Graph token {}, Genesys token {}, SCIM {}",
        world.ms.presence_calls().len(),
        world.ms.token_requests(),
        world.genesys.token_requests(),
        world.genesys.scim_calls()
    );
    process.kill().await;

    let mut lanes: Vec<Lane> = people
        .iter()
        .zip(steps)
        .map(|(p, steps)| Lane {
            name: p.name.to_owned(),
            has_teams_user: p.agent.teams != "(none)",
            steps,
        })
        .collect();
    lanes.push(gus);
    let shift = Shift {
        title: "presence-sync demo: a replayed shift, Genesys Cloud ⇄ Microsoft Teams".to_owned(),
        start_clock_minutes,
        lanes,
    };
    let dir = shift_picture::output_dir();
    let page = dir.join("shift.html");
    match std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&page, shift_picture::render(&shift)))
    {
        Ok(()) => println!(
            "\nThe shift, drawn: {} (open it in a browser)",
            page.display()
        ),
        Err(error) => eprintln!("could not write {}: {error}", page.display()),
    }
}

/// What no event repairs: Ben's break never reaches us (the event is lost on the way), and
/// Chloé sets herself Available in Teams by hand while she is in training. One run of the
/// built `presence-reconcile` binary (DRIFT_POLICY=repair) puts both right; the picture gets
/// both and the repair.
async fn reconcile(world: &World, people: &[Person], steps: &mut [Vec<Step>]) {
    let (ben, chloe) = (&people[1], &people[2]);
    let t = OUTSIDE_AT_MS;
    let at = presence_sync_tests::events::at;
    world.genesys.set_state(
        &ben.agent.genesys,
        "Break",
        Some(&at(t)),
        "OFF_QUEUE",
        Some(&at(t)),
    );
    // Genesys's own view of Chloé: in training since her event (nothing newer to recover).
    let training = at(600_000);
    world.genesys.set_state(
        &chloe.agent.genesys,
        "Training",
        Some(&training),
        "OFF_QUEUE",
        Some(&training),
    );
    world
        .ms
        .set_teams_presence_by_hand(&chloe.agent.teams, "Available", "Available");
    println!("\nNo event repairs these:");
    println!(
        "  Ben goes on Break in Genesys, but the event is lost: Teams shows {}",
        teams(world, &ben.agent)
    );
    let (availability, activity) = world.ms.shown_presence(&chloe.agent.teams);
    println!("  Chloé (Training) sets herself {availability}/{activity} in Teams by hand");
    steps[1].push(outside(
        t,
        "Break (event lost)",
        Some("Break"),
        "lost",
        &teams(world, &ben.agent),
    ));
    steps[2].push(outside(
        t,
        "Available by hand in Teams",
        None,
        "by-hand",
        &format!("{availability}/{activity}"),
    ));

    let runtime = RuntimeApi::start_for("presence-reconcile").await;
    let mut env = world.function_env();
    env.extend(env_for(&world.moto));
    env.extend(runtime.lambda_env("presence-reconcile"));
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
    env.push(("DRIFT_POLICY".into(), "repair".into()));
    let mut process = LambdaProcess::spawn(&binary_path("presence-reconcile"), env);
    let run = runtime
        .invoke(
            presence_sync_tests::events::scheduled(),
            Duration::from_secs(60),
        )
        .await;
    process.kill().await;
    let report = match &run.result {
        Ok(report) => report,
        Err(failure) => {
            println!("\npresence-reconcile failed: {failure:?}");
            return;
        }
    };
    let figure = |name: &str| report[name].as_u64().unwrap_or(0);
    println!(
        "\npresence-reconcile, one run: {} scanned, {} recovered, {} drifted and repaired, {} kept alive, {} settled",
        counted(figure("scanned"), "user", "users"),
        counted(figure("recovered"), "lost event", "lost events"),
        counted(figure("driftRepaired"), "user", "users"),
        figure("keptAlive"),
        figure("settled"),
    );
    let (availability, activity) = world.ms.shown_presence(&chloe.agent.teams);
    println!("  Ben:   Teams shows {}", teams(world, &ben.agent));
    println!("  Chloé: Teams shows {availability}/{activity} again");
    // Drawn only as far as the run did it.
    if figure("recovered") > 0 {
        steps[1].push(repaired("lost event recovered", &teams(world, &ben.agent)));
    }
    if figure("driftRepaired") > 0 {
        steps[2].push(repaired(
            "drift repaired",
            &format!("{availability}/{activity}"),
        ));
    }
}

/// `1 lost event`, `2 lost events`.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A change the function never saw, for the picture.
fn outside(at_ms: i64, label: &str, genesys: Option<&str>, outcome: &str, teams: &str) -> Step {
    Step {
        origin: Origin::Outside,
        at_ms,
        label: label.to_owned(),
        genesys: genesys.map(str::to_owned),
        outcome: outcome.to_owned(),
        reason: if outcome == "lost" {
            "no event"
        } else {
            "drift"
        }
        .to_owned(),
        teams: teams.to_owned(),
        lag: None,
    }
}

/// The reconciler's repair, for the picture.
fn repaired(reason: &str, teams: &str) -> Step {
    Step {
        origin: Origin::Reconciler,
        at_ms: RECONCILER_AT_MS,
        label: "the reconciler's run".to_owned(),
        genesys: None,
        outcome: "applied".to_owned(),
        reason: reason.to_owned(),
        teams: teams.to_owned(),
        lag: None,
    }
}

/// The operator's view of one agent after the repair: `presencectl status`, with the
/// functions' variables (no stack here), run by the demo against its own emulator.
async fn operator(world: &World, person: &Person) {
    let mut env = world.function_env();
    env.extend(env_for(&world.moto));
    env.push(("AWS_ENDPOINT_URL".into(), world.moto.clone()));
    let binary = binary_path("presencectl");
    println!(
        "\nWhat an operator sees of {} after the repair: presencectl status {} (run here against the demo's emulator, which stops with the demo; against a deployment: presencectl --stack presence-sync status <agent id or e-mail>):",
        person.name, person.agent.genesys
    );
    let output = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env)
        .args(["status", &person.agent.genesys])
        .output()
        .await;
    match output {
        Ok(output) => print!("{}", String::from_utf8_lossy(&output.stdout)),
        Err(error) => eprintln!("could not run presencectl: {error}"),
    }
}

fn teams(world: &World, agent: &Agent) -> String {
    if agent.teams == "(none)" {
        return "(no Teams user)".into();
    }
    world.teams(agent).unwrap_or_else(|| CLEARED.into())
}

/// Teams with no preferred presence from this function (cleared): the agent's own status.
const CLEARED: &str = "(cleared)";
