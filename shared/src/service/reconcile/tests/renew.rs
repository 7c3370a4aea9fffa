//! The sweep renews the Teams ids of the agents it reads before their cached answers expire,
//! from its directory pages (no Genesys request of its own), so that yesterday's shift-start
//! lookups expiring as today's shift starts do not send every first event to Genesys.

use super::*;
use crate::ports::{CachedTeamsId, TeamsIdCache, TeamsIdEntry, TeamsIdOrigin};

fn epoch_s() -> i64 {
    crate::service::limits::now_ms() / 1000
}

async fn cache(org: &Org, n: u8, expires_at: i64, origin: TeamsIdOrigin) {
    let cached = CachedTeamsId {
        entry: TeamsIdEntry::Teams(teams(n)),
        expires_at,
        origin,
    };
    org.store.put(&user(n), &cached, 0).await.unwrap();
}

async fn expires_at(org: &Org, n: u8) -> i64 {
    org.store
        .get(&user(n), 0)
        .await
        .unwrap()
        .unwrap()
        .expires_at
}

#[tokio::test]
async fn the_sweep_renews_teams_ids_before_they_expire_so_a_shift_start_looks_up_none() {
    let org = Org::new(4);
    for n in 1..=4 {
        org.event(n, "ON_QUEUE", 1_000).await;
    }
    let (now, day) = (epoch_s(), 24 * 3600);
    // Agent 1's answer expired (yesterday's lookup), agent 2's expires within the hour, agent
    // 3's was looked up two hours ago; agent 4's is an operator's, and expires soon.
    cache(&org, 1, now - 60, TeamsIdOrigin::Directory).await;
    cache(&org, 2, now + 3_000, TeamsIdOrigin::Directory).await;
    cache(&org, 3, now + day - 7_200, TeamsIdOrigin::Directory).await;
    let operator = TeamsIdOrigin::overridden(now, "arn:aws:sts::1:assumed-role/Ops/jane");
    cache(&org, 4, now + 3_000, operator).await;
    let lookups = org.directory.lookups();
    // The first run sweeps (no sweep yet).
    let report = org.run(DriftPolicy::Report).await;
    assert!(report.sweep_completed, "{report:?}");
    assert_eq!(report.teams_ids_renewed, 2, "{report:?}");
    assert_eq!(org.directory.lookups(), lookups, "from the directory pages");
    for n in 1..=2 {
        let renewed = expires_at(&org, n).await;
        assert!(renewed >= now + day - 60, "agent {n}: {renewed} vs {now}");
    }
    assert_eq!(
        expires_at(&org, 3).await,
        now + day - 7_200,
        "not due: left"
    );
    assert_eq!(
        expires_at(&org, 4).await,
        now + 3_000,
        "the operator's: left"
    );
    // The shift starts on new instances (nothing in memory): no Teams id is looked up.
    let org = org.with_scope("all");
    for n in 1..=3 {
        org.outcome(n, "AVAILABLE", 5_000 + i64::from(n))
            .await
            .unwrap();
    }
    assert_eq!(org.directory.lookups(), lookups);
}
