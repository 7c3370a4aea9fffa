//! The contract of [`TeamsIdCache`]: answers kept until they expire, an operator's override
//! that no lookup replaces, and claims on a Teams id released only as they were read.

use super::{Table, teams, user};
use crate::ports::{CachePut, CachedTeamsId, Claim, TeamsIdEntry, TeamsIdOrigin};

const NOW: i64 = 1_900_000_000;
const OPERATOR: &str = "arn:aws:sts::123456789012:assumed-role/Operators/jane";

fn looked_up(n: u32, expires_at: i64) -> CachedTeamsId {
    CachedTeamsId {
        entry: TeamsIdEntry::Teams(teams(n)),
        expires_at,
        origin: TeamsIdOrigin::Directory,
    }
}

fn overridden(n: u32, expires_at: i64) -> CachedTeamsId {
    CachedTeamsId {
        origin: TeamsIdOrigin::overridden(NOW, OPERATOR),
        ..looked_up(n, expires_at)
    }
}

pub async fn a_cached_answer_is_kept_until_it_expires<T: Table>(table: &T) {
    let u = user(1);
    assert_eq!(
        table.put(&u, &looked_up(1, NOW + 10), NOW).await.unwrap(),
        CachePut::Stored(None)
    );
    assert_eq!(
        table.get(&u, NOW + 9).await.unwrap(),
        Some(looked_up(1, NOW + 10))
    );
    assert_eq!(table.get(&u, NOW + 10).await.unwrap(), None, "expired");
    let none = CachedTeamsId {
        entry: TeamsIdEntry::NoTeamsId,
        ..looked_up(0, NOW + 20)
    };
    let replaced = table.put(&u, &none, NOW + 11).await.unwrap();
    assert_eq!(
        replaced,
        CachePut::Stored(Some(looked_up(1, NOW + 10))),
        "expired or not"
    );
    assert_eq!(table.get(&u, NOW + 11).await.unwrap(), Some(none));
    table.forget(&u).await.unwrap();
    assert_eq!(table.get(&u, NOW + 11).await.unwrap(), None);
}

pub async fn a_lookups_answer_never_replaces_an_override_that_holds<T: Table>(table: &T) {
    let u = user(2);
    table.put(&u, &overridden(7, NOW + 100), NOW).await.unwrap();
    let lookup = table
        .put(&u, &looked_up(2, NOW + 50), NOW + 1)
        .await
        .unwrap();
    assert_eq!(lookup, CachePut::KeptOverride(overridden(7, NOW + 100)));
    assert_eq!(
        table.get(&u, NOW + 1).await.unwrap(),
        Some(overridden(7, NOW + 100))
    );
    // Once the override has expired, a lookup's answer replaces it.
    let later = table
        .put(&u, &looked_up(2, NOW + 200), NOW + 100)
        .await
        .unwrap();
    assert_eq!(later, CachePut::Stored(Some(overridden(7, NOW + 100))));
}

pub async fn an_override_replaces_anything_and_records_who_set_it<T: Table>(table: &T) {
    let u = user(3);
    table.put(&u, &looked_up(3, NOW + 50), NOW).await.unwrap();
    let set = table.put(&u, &overridden(8, NOW + 100), NOW).await.unwrap();
    assert_eq!(set, CachePut::Stored(Some(looked_up(3, NOW + 50))));
    let again = table.put(&u, &overridden(9, NOW + 100), NOW).await.unwrap();
    assert_eq!(again, CachePut::Stored(Some(overridden(8, NOW + 100))));
    let cached = table.get(&u, NOW).await.unwrap().unwrap();
    assert_eq!(
        cached.origin,
        TeamsIdOrigin::Override {
            at: NOW,
            by: OPERATOR.to_owned()
        }
    );
}

pub async fn a_claim_is_granted_extended_and_refused_to_another_until_it_ends<T: Table>(table: &T) {
    let (a, b, t) = (user(4), user(5), teams(4));
    assert_eq!(
        table.claim(&t, &a, NOW + 10, NOW).await.unwrap(),
        Claim::Granted
    );
    assert_eq!(
        table.claim(&t, &b, NOW + 10, NOW).await.unwrap(),
        Claim::HeldBy(a.clone())
    );
    assert_eq!(
        table.claim(&t, &a, NOW + 20, NOW + 5).await.unwrap(),
        Claim::Granted
    );
    assert_eq!(
        table.claim(&t, &b, NOW + 30, NOW + 19).await.unwrap(),
        Claim::HeldBy(a.clone())
    );
    // The extension holds until its own end; then anyone may take it.
    assert_eq!(
        table.claim(&t, &b, NOW + 30, NOW + 20).await.unwrap(),
        Claim::Granted
    );
    let held = table.read_claim(&t).await.unwrap().unwrap();
    assert_eq!((held.holder, held.until), (b, NOW + 30));
    assert_eq!(table.read_claim(&teams(99)).await.unwrap(), None);
}

pub async fn a_claim_is_released_only_as_it_was_read<T: Table>(table: &T) {
    let (a, b, t) = (user(6), user(7), teams(6));
    table.claim(&t, &a, NOW + 10, NOW).await.unwrap();
    let read = table.read_claim(&t).await.unwrap().unwrap();
    // A lookup renews the claim (same end: within the same second) after it was read.
    table.claim(&t, &a, NOW + 10, NOW).await.unwrap();
    assert!(
        !table.release_claim(&t, &read).await.unwrap(),
        "renewed since it was read"
    );
    assert_eq!(
        table.claim(&t, &b, NOW + 10, NOW).await.unwrap(),
        Claim::HeldBy(a.clone())
    );
    let read = table.read_claim(&t).await.unwrap().unwrap();
    assert!(table.release_claim(&t, &read).await.unwrap());
    assert!(
        !table.release_claim(&t, &read).await.unwrap(),
        "already released"
    );
    assert_eq!(
        table.claim(&t, &b, NOW + 10, NOW).await.unwrap(),
        Claim::Granted
    );
}

pub async fn memberships_are_kept_with_what_is_known_until_they_expire<T: Table>(table: &T) {
    use crate::domain::scope::{Membership, ScopeId};
    use crate::ports::CachedMembership;
    let u = user(9);
    let id = |n: u32| ScopeId::parse(&format!("0d0d0d0d-0000-4000-8000-{n:012}")).unwrap();
    assert_eq!(table.get_membership(&u, NOW).await.unwrap(), None);
    let known = CachedMembership {
        membership: Membership {
            division: Some(id(1)),
            groups: Some(vec![id(2), id(3)]),
            queues: Some(vec![]),
        },
        expires_at: NOW + 10,
    };
    table.put_membership(&u, &known).await.unwrap();
    let read = table.get_membership(&u, NOW).await.unwrap();
    assert_eq!(
        read.as_ref(),
        Some(&known),
        "no queues is known, not unknown"
    );
    assert_eq!(
        table.get_membership(&u, NOW + 10).await.unwrap(),
        None,
        "expired"
    );
    let unknown = CachedMembership {
        membership: Membership::default(),
        expires_at: NOW + 20,
    };
    table.put_membership(&u, &unknown).await.unwrap();
    assert_eq!(table.get_membership(&u, NOW).await.unwrap(), Some(unknown));
}

pub async fn memberships_are_read_many_at_once_leaving_out_the_expired_and_missing<T: Table>(
    table: &T,
) {
    use crate::adapters::keys::membership_key;
    use crate::ports::CachedMembership;
    // More users than one BatchGetItem request takes (100).
    let users: Vec<_> = (1..=150).map(user).collect();
    for (k, u) in users.iter().enumerate() {
        let cached = CachedMembership {
            membership: Default::default(),
            // Every third one expired; the others at different times.
            expires_at: if k % 3 == 0 { NOW } else { NOW + k as i64 },
        };
        if k % 5 != 4 {
            table.put_membership(u, &cached).await.unwrap();
        }
    }
    // An item that is not a user's memberships, under one's key, is left out.
    let odd = user(151);
    table.put_other(&membership_key(&odd)).await;
    let mut asked = users.clone();
    asked.push(odd);
    asked.push(users[1].clone());
    let found = table.get_memberships(&asked, NOW).await.unwrap();
    assert_read_many(&users, found.iter().map(|(u, c)| (u, c.expires_at)));
}

/// What a read of many gave (each user's expiry) against what was cached for `users`: the
/// `k`th until `NOW + k`, except every third (expired at `NOW`) and every fifth (never cached).
fn assert_read_many<'u>(
    users: &[crate::domain::ids::GenesysUserId],
    found: impl Iterator<Item = (&'u crate::domain::ids::GenesysUserId, i64)>,
) {
    let expected: std::collections::HashMap<_, _> = users
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 3 != 0 && k % 5 != 4)
        .map(|(k, u)| (u.clone(), NOW + k as i64))
        .collect();
    let read: std::collections::HashMap<_, _> = found.map(|(u, at)| (u.clone(), at)).collect();
    assert_eq!(read, expected);
}

pub async fn answers_are_read_many_at_once_leaving_out_the_expired_and_missing<T: Table>(
    table: &T,
) {
    use crate::adapters::keys::teams_key;
    // More users than one BatchGetItem request takes (100), an operator's answer among them.
    let users: Vec<_> = (1..=120).map(user).collect();
    for (k, u) in users.iter().enumerate() {
        let expires_at = if k % 3 == 0 { NOW } else { NOW + k as i64 };
        let cached = match k {
            7 => overridden(k as u32, expires_at),
            _ => looked_up(k as u32, expires_at),
        };
        if k % 5 != 4 {
            table.put(u, &cached, NOW).await.unwrap();
        }
    }
    // An item that is not a cached answer, under one's key, is left out.
    let odd = user(121);
    table.put_other(&teams_key(&odd)).await;
    let mut asked = users.clone();
    asked.push(odd);
    let found = table.get_many(&asked, NOW).await.unwrap();
    assert_read_many(&users, found.iter().map(|(u, c)| (u, c.expires_at)));
    assert_eq!(found[&users[7]], overridden(7, NOW + 7), "as it was cached");
    assert_eq!(found[&users[8]], looked_up(8, NOW + 8));
}
