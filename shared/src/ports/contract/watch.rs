//! The contract of the watcher's mark on a record: kept whole through every phase, written
//! only on the record as the watcher read it with nobody changing Teams, and kept by the
//! event path's writes (which read it to recognise our own Genesys change).

use super::records::{NOW, accepted, lease, record, refused};
use super::{Table, user};
use crate::domain::event::PresenceValue;
use crate::domain::presence::SystemPresence;
use crate::domain::version::Version;
use crate::domain::watch::{Phase, TeamsActivity, WatchMark};
use crate::ports::Finish;

fn mark(phase: Phase, restore_definition: Option<&str>) -> WatchMark {
    WatchMark {
        activity: TeamsActivity::InAMeeting,
        set_definition: "bbdff279-7ae1-48ea-bade-7831d7234c64".to_owned(),
        message: "In a Teams meeting".to_owned(),
        restore_to: PresenceValue {
            system: SystemPresence::observe("ON_QUEUE"),
            definition_id: restore_definition.map(str::to_owned),
        },
        phase,
    }
}

pub async fn a_watch_mark_insists_on_the_revision_reads_back_and_is_removed<T: Table>(table: &T) {
    let u = user(7);
    accepted(record(table, &u, "e1", ("ON_QUEUE", 1_000), None).await);
    let read = table.read(&u).await.unwrap();
    let taking = mark(
        Phase::Taking { at_ms: NOW },
        Some("e08eaf1b-ee47-4fa9-a231-1200e284798f"),
    );
    let mut stale = read.clone();
    stale.rev -= 1;
    refused(
        table
            .set_watch(&u, &stale, Some(&taking), NOW)
            .await
            .unwrap(),
    );
    accepted(
        table
            .set_watch(&u, &read, Some(&taking), NOW)
            .await
            .unwrap(),
    );
    let after = table.read(&u).await.unwrap();
    assert_eq!(
        after,
        read.after_set_watch(read.rev, Some(&taking), NOW).unwrap()
    );
    let version = Version::from_millis(2_000);
    for phase in [
        Phase::Held {
            at_ms: NOW + 1,
            version,
        },
        Phase::Restoring {
            at_ms: NOW + 2,
            version,
        },
        Phase::Overridden {
            at_ms: NOW + 3,
            version,
        },
    ] {
        let before = table.read(&u).await.unwrap();
        let next = mark(phase, None);
        accepted(
            table
                .set_watch(&u, &before, Some(&next), NOW)
                .await
                .unwrap(),
        );
        assert_eq!(table.read(&u).await.unwrap().watch, Some(next), "{phase:?}");
    }
    // The event path's writes keep it.
    accepted(record(table, &u, "e2", ("BUSY", 3_000), None).await);
    let kept = table.read(&u).await.unwrap();
    assert_eq!(
        kept.watch.as_ref().map(|m| m.phase.as_str()),
        Some("overridden")
    );
    accepted(table.set_watch(&u, &kept, None, NOW).await.unwrap());
    assert_eq!(table.read(&u).await.unwrap().watch, None);
}

pub async fn a_watch_mark_waits_for_whoever_is_changing_teams<T: Table>(table: &T) {
    let u = user(8);
    accepted(record(table, &u, "e1", ("ON_QUEUE", 1_000), Some(&lease("sync"))).await);
    let read = table.read(&u).await.unwrap();
    let taking = mark(Phase::Taking { at_ms: NOW }, None);
    refused(
        table
            .set_watch(&u, &read, Some(&taking), NOW)
            .await
            .unwrap(),
    );
    assert!(
        table
            .finish(&u, "sync", Finish::Untouched, NOW)
            .await
            .unwrap()
    );
    let read = table.read(&u).await.unwrap();
    accepted(
        table
            .set_watch(&u, &read, Some(&taking), NOW)
            .await
            .unwrap(),
    );
}
