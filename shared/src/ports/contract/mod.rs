//! One contract per port of the state table (the records, their walk, the pass ledger, the
//! Teams-id cache and its claims), run unchanged against every adapter: the in-memory store
//! in this crate's unit tests, the DynamoDB store against moto in
//! `tests/tests/suite/store_contract.rs` (moto patched to scan in DynamoDB's unsorted order,
//! tests/moto_server.py). A fake that drifts from the service it stands for fails here.
//!
//! Each case is a function over a fresh [`Table`]; [`crate::state_table_contract!`] makes a
//! test of each for one adapter.

use crate::domain::event::{PresenceValue, Stamped};
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::presence::SystemPresence;
use crate::domain::state::Observation;
use crate::domain::version::Version;
use crate::ports::{PassLedger, RecordScan, StateStore, TeamsIdCache};
use std::future::Future;

mod ledger;
mod records;
mod teams_ids;
mod walk;
mod watch;

pub use ledger::*;
pub use records::*;
pub use teams_ids::*;
pub use walk::*;
pub use watch::*;

/// What a hand edit in the DynamoDB console can leave in a user record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandEdit {
    /// A well-formed record (under a key that may itself be wrong).
    None,
    /// A number stored as a string (`rev = "x"`).
    WrongType,
    /// A Teams state this version does not know (`applied = "Purple/Dancing"`).
    UnknownValue,
}

/// A state table under test: the ports, and the edits only a person (or another program)
/// makes to the table.
pub trait Table: StateStore + RecordScan + PassLedger + TeamsIdCache {
    /// Puts an item of a kind this project does not write at `key`.
    fn put_other(&self, key: &str) -> impl Future<Output = ()> + Send;
    /// Puts a user record at `key` (any key), edited by hand as `edit` says.
    fn put_user_item(&self, key: &str, edit: HandEdit) -> impl Future<Output = ()> + Send;
}

/// The `n`th test user (ids in increasing order of `n`).
pub fn user(n: u32) -> GenesysUserId {
    GenesysUserId::parse(&format!("3f9e6a2b-5d4c-4b1a-8e7f-{n:012}")).expect("a user id")
}

/// The `n`th test Teams user.
pub fn teams(n: u32) -> TeamsUserId {
    TeamsUserId::parse(&format!("a1b2c3d4-0000-4000-8000-{n:012}")).expect("a Teams id")
}

/// Genesys reporting `system` at version `ms`.
pub fn observed(system: &str, ms: i64) -> Observation {
    Observation {
        presence: Some(Stamped {
            value: PresenceValue {
                system: SystemPresence::observe(system),
                definition_id: None,
            },
            version: Version::from_millis(ms),
        }),
        routing: None,
    }
}

/// A test of each contract case for one adapter: `$table` is an expression giving a future
/// of a fresh, empty [`Table`] (evaluated once per test).
#[macro_export]
macro_rules! state_table_contract {
    ($table:expr) => {
        $crate::state_table_contract!(@cases $table;
            a_missing_record_reads_empty_and_a_recorded_one_reads_back,
            an_older_observation_is_refused_with_the_record_as_it_is,
            a_lease_is_taken_as_the_claim_rule_allows_and_used_only_by_its_holder,
            reclaim_and_replace_insist_on_the_revision,
            letting_go_and_rejoining_insist_on_the_revision_and_read_back,
            a_scope_exception_is_kept_on_the_record_and_removed,
            a_watch_mark_insists_on_the_revision_reads_back_and_is_removed,
            a_watch_mark_waits_for_whoever_is_changing_teams,
            an_unreadable_record_fails_its_read_naming_it,
            read_many_reads_every_user_in_batches_and_leaves_unreadable_records_out,
            a_walk_meets_every_user_once_among_the_other_items,
            the_walk_is_in_the_tables_hash_order_not_in_key_order,
            a_walk_resumes_from_any_key,
            a_table_of_mostly_other_items_gives_short_pages_that_go_on,
            unreadable_records_are_skipped_and_the_walk_goes_on,
            a_cursor_that_cannot_be_a_key_is_refused,
            one_run_holds_the_lease_and_only_it_saves_the_pass,
            a_cached_answer_is_kept_until_it_expires,
            a_lookups_answer_never_replaces_an_override_that_holds,
            an_override_replaces_anything_and_records_who_set_it,
            a_claim_is_granted_extended_and_refused_to_another_until_it_ends,
            a_claim_is_released_only_as_it_was_read,
            memberships_are_kept_with_what_is_known_until_they_expire,
            memberships_are_read_many_at_once_leaving_out_the_expired_and_missing,
            answers_are_read_many_at_once_leaving_out_the_expired_and_missing,
        );
    };
    (@cases $table:expr; $($case:ident,)*) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::ports::contract::$case(&$table.await).await;
            }
        )*
    };
}
