//! The reconciler's shares of the remotes' limits: its actions' Teams-id lookups spend its
//! Genesys pace, and an answer the sweep read in bulk is counted as such.

use super::*;
use crate::metrics::{self, TEAMS_ID_LOOKUPS};

#[tokio::test(start_paused = true)]
async fn teams_id_lookups_of_its_actions_spend_the_reconcilers_genesys_share() {
    // Two lost events of agents whose Teams id is cached nowhere: each recovery looks it up.
    let org = Org::new(2);
    for n in 1..=2 {
        org.lost_event(n, "ON_QUEUE", 1_000);
    }
    let mut tight = ReconcileSettings {
        page_size: 10,
        ..settings(DriftPolicy::Report)
    };
    // Two Genesys requests a minute: the bulk read takes one slot, a lookup the next, 30 s
    // later, further than an action's time.
    tight.genesys_per_minute = 2;
    let shared = Shared::new(&tight);
    let sync = PresenceSync::new(
        org.store.clone(),
        org.store.clone(),
        Hinted::new(&shared, org.directory.clone()),
        org.teams.clone(),
        PresenceMapping::default(),
        Settings::default(),
    );
    for n in 1..=2 {
        org.store.put_record(&user(n), recorded_earlier());
    }
    let outcome = sync
        .reconcile(&org.genesys, &org.teams, &shared, &tight, &invocation(60))
        .await
        .unwrap();
    let PassOutcome::Worked(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        org.directory.lookups(),
        0,
        "no lookup beyond the share: {report:?}"
    );
    assert!(report.failed >= 1, "{report:?}");
}

/// A record On Queue at an older version than Genesys's (a lost event since).
fn recorded_earlier() -> UserState {
    UserState {
        presence: observed("ON_QUEUE", 500).presence,
        rev: 1,
        ..UserState::default()
    }
}

#[tokio::test]
async fn a_teams_id_the_sweep_read_is_counted_as_from_the_sweep_not_scim() {
    let org = Org::new(2);
    for n in 1..=2 {
        org.lost_event(n, "ON_QUEUE", 5_000);
    }
    let (report, batch) = metrics::capture(org.run(DriftPolicy::Report)).await;
    assert_eq!(report.backfilled, 2, "{report:?}");
    assert_eq!(batch.count(&TEAMS_ID_LOOKUPS, &["sweep"]), 2);
    assert_eq!(batch.count(&TEAMS_ID_LOOKUPS, &["scim"]), 0);
}
