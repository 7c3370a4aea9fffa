//! The Teams-id cache and the register of claims on a Teams id: what is known of a Genesys
//! user's Teams identity, where it came from (a lookup, or an operator's override and who set
//! it), and which Genesys user holds which Teams id.

use super::StoreError;
use crate::domain::ids::{GenesysUserId, TeamsUserId};
use crate::domain::scope::Membership;
use std::future::Future;

/// What the sync knows of a Genesys user's Teams identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TeamsIdEntry {
    /// The user's Teams id, claimed for this Genesys user alone.
    Teams(TeamsUserId),
    /// Genesys has no (valid) Teams id for the user, or does not know the user.
    NoTeamsId,
    /// Genesys gives the user a Teams id that another Genesys user already holds: whoever can
    /// edit external ids must not be able to drive someone else's Teams presence, and two
    /// agents must not fight over one Teams user.
    ClaimedBy {
        teams: TeamsUserId,
        holder: GenesysUserId,
    },
}

/// A cached answer to "which Teams user is this Genesys user?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedTeamsId {
    pub entry: TeamsIdEntry,
    /// Seconds since the Unix epoch after which the answer must be looked up again.
    pub expires_at: i64,
    /// Where the answer came from.
    pub origin: TeamsIdOrigin,
}

/// Where a cached Teams id came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TeamsIdOrigin {
    /// Looked up in Genesys (SCIM, or the reconciler's directory sweep).
    #[default]
    Directory,
    /// Set by an operator (`presencectl teams-id set`) at `at` (epoch seconds): kept until it
    /// expires or is forgotten, whatever Genesys says; a lookup's answer never replaces it.
    Override {
        at: i64,
        /// Who set it: the operator's AWS identity (an ARN, cut to
        /// [`MAX_OVERRIDDEN_BY`] characters), or `unknown`.
        by: String,
    },
}

impl TeamsIdOrigin {
    /// An override set at `at` by `by`, the identity cut to [`MAX_OVERRIDDEN_BY`] characters
    /// and stripped of control characters (it is logged).
    pub fn overridden(at: i64, by: &str) -> Self {
        let by: String = by
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_OVERRIDDEN_BY)
            .collect();
        let by = if by.is_empty() {
            "unknown".to_owned()
        } else {
            by
        };
        TeamsIdOrigin::Override { at, by }
    }
}

/// The longest identity kept on an override (IAM ARNs are at most 2048 characters; role
/// session ARNs of people are well under 200).
pub const MAX_OVERRIDDEN_BY: usize = 256;

/// What caching an answer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CachePut {
    /// Stored, replacing this answer (expired or not), so that a change of Teams id can be
    /// noticed.
    Stored(Option<CachedTeamsId>),
    /// Not stored: an operator's override that has not expired is cached, and a lookup's
    /// answer never replaces it. The override is given back for use.
    KeptOverride(CachedTeamsId),
}

/// The answer to a claim on a Teams id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody else holds the Teams id: it is this user's until the claim's end.
    Granted,
    /// Another Genesys user holds it.
    HeldBy(GenesysUserId),
}

/// A claim on a Teams id as read: who holds it, until when (epoch seconds), and which write of
/// it this is (every grant, renewal included, writes it anew), so that it can be released only
/// if nobody renewed it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldClaim {
    pub holder: GenesysUserId,
    pub until: i64,
    pub rev: u64,
}

/// A user's memberships as the scope reads them, cached beside the Teams id for as long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedMembership {
    pub membership: Membership,
    /// Seconds since the Unix epoch after which they must be looked up again.
    pub expires_at: i64,
}

/// A shared cache of Teams ids, so that a Genesys lookup happens once per cache lifetime, and
/// the register of which Genesys user holds which Teams id.
pub trait TeamsIdCache: Send + Sync {
    /// The cached answer, if there is one that has not expired at `now` (epoch seconds).
    fn get(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> impl Future<Output = Result<Option<CachedTeamsId>, StoreError>> + Send;
    /// The cached answers of `users` that have not expired at `now`, read in batches (the
    /// sweep's look at which fall due); one that cannot be read is left out.
    fn get_many(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<
        Output = Result<std::collections::HashMap<GenesysUserId, CachedTeamsId>, StoreError>,
    > + Send;
    /// Caches an answer. An override (origin [`TeamsIdOrigin::Override`]) replaces whatever
    /// is cached; a lookup's answer replaces anything but an override that has not expired at
    /// `now` (epoch seconds), checked in the same write.
    fn put(
        &self,
        user: &GenesysUserId,
        entry: &CachedTeamsId,
        now: i64,
    ) -> impl Future<Output = Result<CachePut, StoreError>> + Send;
    fn forget(&self, user: &GenesysUserId) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Claims `teams` for `user` until `until` (epoch seconds): granted when nobody holds it,
    /// when `user` already does (the claim is extended), or when the holder's claim ended
    /// before `now`.
    fn claim(
        &self,
        teams: &TeamsUserId,
        user: &GenesysUserId,
        until: i64,
        now: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// The claim on `teams`, if there is one (ended or not).
    fn read_claim(
        &self,
        teams: &TeamsUserId,
    ) -> impl Future<Output = Result<Option<HeldClaim>, StoreError>> + Send;
    /// Gives up the claim on `teams` as it was read; false (and nothing changed) when it was
    /// written since (renewed by a lookup, or taken by someone else).
    fn release_claim(
        &self,
        teams: &TeamsUserId,
        read: &HeldClaim,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The cached memberships of `user`, if they have not expired at `now` (epoch seconds).
    fn get_membership(
        &self,
        user: &GenesysUserId,
        now: i64,
    ) -> impl Future<Output = Result<Option<CachedMembership>, StoreError>> + Send;
    /// The cached memberships of `users` that have not expired at `now`, read in batches
    /// (the reconciler's look at which fall due); one that cannot be read is left out.
    fn get_memberships(
        &self,
        users: &[GenesysUserId],
        now: i64,
    ) -> impl Future<
        Output = Result<std::collections::HashMap<GenesysUserId, CachedMembership>, StoreError>,
    > + Send;
    /// Caches the memberships of `user` (replacing what was cached).
    fn put_membership(
        &self,
        user: &GenesysUserId,
        cached: &CachedMembership,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
