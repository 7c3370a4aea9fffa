//! The contract of [`PassLedger`]: one run lease, and the pass saved only by its holder.

use super::Table;
use crate::ports::{PassState, ReadTally, RunClaim};

pub async fn one_run_holds_the_lease_and_only_it_saves_the_pass<T: Table>(table: &T) {
    let granted = table.begin("a", 2_000, 1_000).await.unwrap();
    assert_eq!(granted, RunClaim::Granted(PassState::default()));
    let held = table.begin("b", 3_000, 1_500).await.unwrap();
    assert_eq!(held, RunClaim::HeldByAnother { until_ms: 2_000 });
    let state = PassState {
        records_cursor: Some("teams-id#anything".to_owned()),
        sweep_cursor: Some("100".to_owned()),
        sweeping: true,
        last_sweep_ms: Some(900),
        sweep_scope: Some("division:0a0a0a0a-0000-4000-8000-00000000000a".to_owned()),
        last_pass_ms: None,
        walk_started_ms: Some(800),
        walk_reads: ReadTally {
            genesys_ok: 3,
            genesys_failed: 1,
            teams_ok: 0,
            teams_failed: 2,
        },
    };
    assert!(!table.save("b", &state).await.unwrap());
    assert!(table.save("a", &state).await.unwrap());
    assert!(table.end("a", &state).await.unwrap());
    assert!(!table.save("a", &state).await.unwrap(), "released");
    // The next run finds the pass where the last one left it.
    let next = table.begin("b", 3_000, 1_600).await.unwrap();
    assert_eq!(next, RunClaim::Granted(state.clone()));
    // A run that died holding the lease is taken over once it ends.
    let after = table.begin("c", 5_000, 3_001).await.unwrap();
    assert_eq!(after, RunClaim::Granted(state));
    assert!(!table.end("b", &PassState::default()).await.unwrap());
}
