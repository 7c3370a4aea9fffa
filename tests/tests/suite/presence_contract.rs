//! One contract for the `GenesysPresence` port, held by both adapters: the in-memory one the
//! watcher's unit tests and the shift model use, and the Users API adapter against the Genesys
//! contract fake (written from the platform SDK's `PresenceApi` documentation). The same org
//! definitions, a write answered with the presence as Genesys then serves it (a newer
//! version), and the same kind of error for an unknown definition and an unknown user.

use presence_core::adapters::memory::{MemoryGenesys, definition_of};
use presence_core::domain::event::{PresenceValue, Stamped};
use presence_core::domain::ids::GenesysUserId;
use presence_core::domain::presence::{Observed, SystemPresence};
use presence_core::domain::state::Observation;
use presence_core::domain::version::Version;
use presence_core::ports::{Budget, GenesysPresence, PresenceChange};
use presence_sync_tests::events::{at, new_id};
use presence_sync_tests::world::World;
use std::time::Duration;

/// The user's presence before the write: On Queue at this many ms of the events' clock.
const BEFORE_MS: i64 = 1_000;

fn budget() -> Budget {
    Budget {
        until: tokio::time::Instant::now() + Duration::from_secs(8),
    }
}

/// The contract, on an adapter whose org knows `known` (On Queue since [`BEFORE_MS`]) and not
/// `unknown`: the error types it answered, for the harnesses to compare.
async fn contract<G: GenesysPresence>(
    genesys: &G,
    known: &GenesysUserId,
    unknown: &GenesysUserId,
) -> (String, String) {
    let definitions = genesys.definitions(budget()).await.expect("definitions");
    for system in [
        SystemPresence::OnQueue,
        SystemPresence::Meeting,
        SystemPresence::Busy,
    ] {
        assert!(
            definitions
                .iter()
                .any(|d| d.id == definition_of(system) && d.system == Observed::Known(system)),
            "the org's {system:?} definition: {definitions:?}"
        );
    }
    let meeting = definition_of(SystemPresence::Meeting);
    let change = |id| PresenceChange {
        definition_id: id,
        message: "In a Teams meeting",
    };
    let written = genesys
        .set_presence(known, change(meeting), budget())
        .await
        .expect("the write");
    assert_eq!(
        written.value.system,
        Observed::Known(SystemPresence::Meeting)
    );
    assert_eq!(written.value.definition_id.as_deref(), Some(meeting));
    let before = at(BEFORE_MS);
    let before = chrono::DateTime::parse_from_rfc3339(&before).unwrap();
    assert!(
        written.version.millis() > before.timestamp_millis(),
        "a newer version than the presence it replaced: {written:?}"
    );
    let not_a_definition = new_id();
    let bad = genesys
        .set_presence(known, change(&not_a_definition), budget())
        .await
        .expect_err("an unknown definition is refused");
    let nobody = genesys
        .set_presence(unknown, change(meeting), budget())
        .await
        .expect_err("an unknown user is refused");
    (bad.error_type().to_owned(), nobody.error_type().to_owned())
}

fn user() -> GenesysUserId {
    GenesysUserId::parse(&new_id()).unwrap()
}

#[tokio::test]
async fn the_in_memory_adapter_and_the_users_api_adapter_hold_the_same_contract() {
    let (known, unknown) = (user(), user());
    let memory = MemoryGenesys::new();
    let since = chrono::DateTime::parse_from_rfc3339(&at(BEFORE_MS)).unwrap();
    memory.set_user(
        &known,
        None,
        Observation {
            presence: Some(Stamped {
                value: PresenceValue {
                    system: Observed::Known(SystemPresence::OnQueue),
                    definition_id: Some(definition_of(SystemPresence::OnQueue).to_owned()),
                },
                version: Version::from_millis(since.timestamp_millis()),
            }),
            routing: None,
        },
    );
    let in_memory = contract(&memory, &known, &unknown).await;

    let world = World::start().await;
    world.genesys.add_user(known.as_str(), None);
    let since = at(BEFORE_MS);
    (world.genesys).set_state(
        known.as_str(),
        "On Queue",
        Some(&since),
        "IDLE",
        Some(&since),
    );
    let config = world.config(&[]);
    let parts = presence_core::app::Parts::new(&config, &world.sdk);
    let users_api = contract(&parts.genesys_bulk(&config), &known, &unknown).await;
    assert_eq!(
        in_memory, users_api,
        "(unknown definition, unknown user): the in-memory adapter fails as the Users API does"
    );
}
