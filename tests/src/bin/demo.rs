//! Runs the `presence-sync` function locally, as Lambda would: moto (DynamoDB and Secrets
//! Manager), the fake Genesys Cloud and Microsoft servers, the Lambda Runtime API, and the
//! built binary; replays a shift of Genesys events and prints each agent's Genesys presence
//! beside the Teams presence that resulted.
//!
//! `make demo` (or `cargo build -p presence-sync && cargo run -p presence-sync-tests --bin demo`).
#![forbid(unsafe_code)]

use presence_sync_tests::aws::env_for;
use presence_sync_tests::events::{activity, new_id, presence, routing};
use presence_sync_tests::runtime_api::{LambdaProcess, RuntimeApi, binary_path};
use presence_sync_tests::world::{Agent, World};
use serde_json::Value;
use std::time::Duration;

struct Person {
    name: &'static str,
    agent: Agent,
    genesys_presence: String,
}

#[tokio::main]
async fn main() {
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
    let mut events: Vec<(usize, &str, Value)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let t = 60_000 * i as i64;
        events.push((
            i,
            "On Queue",
            activity(&p.agent.genesys, "ON_QUEUE", t, "IDLE", t),
        ));
    }
    let ana = &people[0].agent.genesys;
    let ben = &people[1].agent.genesys;
    let chloe = &people[2].agent.genesys;
    let dev = &people[3].agent.genesys;
    let eli = &people[4].agent.genesys;
    let duplicate = presence(dev, "Break", 900_000);
    events.extend([
        (
            0,
            "(routing) INTERACTING",
            routing(ana, "INTERACTING", 400_000),
        ),
        (1, "Meal", presence(ben, "Meal", 500_000)),
        (
            2,
            "Training",
            activity(chloe, "Training", 600_000, "OFF_QUEUE", 600_000),
        ),
        (3, "Break", duplicate.clone()),
        (3, "Break (delivered again)", duplicate),
        (1, "Available", presence(ben, "AVAILABLE", 2_300_000)),
        (1, "Meal (late, older)", presence(ben, "Meal", 1_900_000)),
        (4, "Away", presence(eli, "AWAY", 2_400_000)),
        (0, "(routing) IDLE", routing(ana, "IDLE", 2_500_000)),
        (
            3,
            "On Queue",
            activity(dev, "On Queue", 2_800_000, "IDLE", 2_800_000),
        ),
        (4, "Offline", presence(eli, "OFFLINE", 3_000_000)),
        (
            5,
            "Available",
            presence(&people[5].agent.genesys, "AVAILABLE", 3_100_000),
        ),
    ]);

    println!(
        "\n{:<7} {:<26} {:<9} {:<14} Teams now",
        "agent", "Genesys event", "outcome", "reason"
    );
    for (who, label, event) in events {
        let invocation = runtime.invoke(event, Duration::from_secs(10)).await;
        let person = &mut people[who];
        if !label.starts_with("(routing)") && !label.contains("late") && !label.contains("again") {
            person.genesys_presence = label.to_owned();
        }
        match invocation.result {
            Ok(report) => println!(
                "{:<7} {:<26} {:<9} {:<14} {}",
                person.name,
                label,
                report["outcome"].as_str().unwrap_or("?"),
                report["reason"].as_str().unwrap_or("?"),
                teams(&world, &person.agent),
            ),
            Err(failure) => println!("{:<7} {:<26} FAILED: {failure:?}", person.name, label),
        }
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
    println!(
        "\nRemote calls: Graph presence {}, Graph token {}, Genesys token {}, SCIM {}",
        world.ms.presence_calls().len(),
        world.ms.token_requests(),
        world.genesys.token_requests(),
        world.genesys.scim_calls()
    );
    process.kill().await;
}

fn teams(world: &World, agent: &Agent) -> String {
    if agent.teams == "(none)" {
        return "(no Teams user)".into();
    }
    world.teams(agent).unwrap_or_else(|| "(own client)".into())
}
