//! Which agents the sync drives: `SYNC_SCOPE` (everyone, or the members of some Genesys
//! divisions, groups and queues) and the per-agent exceptions operators keep in the state
//! table, which win over it. One pure decision, [`decide`], whose cases are the rules of
//! `docs/design.md` ("Scope").

use super::excerpt::excerpt;
use super::ids::is_uuid;

/// A Genesys division, group or queue id (a canonical UUID, lower case).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId(String);

impl ScopeId {
    pub fn parse(raw: &str) -> Option<Self> {
        is_uuid(raw).then(|| ScopeId(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ScopeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an entry of the scope names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeKind {
    Division,
    Group,
    Queue,
}

impl ScopeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Division => "division",
            ScopeKind::Group => "group",
            ScopeKind::Queue => "queue",
        }
    }
}

/// One entry of `SYNC_SCOPE`: `division:<id>`, `group:<id>` or `queue:<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeEntry {
    pub kind: ScopeKind,
    pub id: ScopeId,
}

impl std::fmt::Display for ScopeEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

/// The agents the sync drives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every Genesys user with a Teams id (the default).
    #[default]
    All,
    /// The members of any of these (a union): `SYNC_SCOPE=division:…,queue:…`.
    Members(Vec<ScopeEntry>),
}

/// Why `SYNC_SCOPE` was refused, naming the entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("is empty; use `all`, or division:<id>, group:<id>, queue:<id> separated by commas")]
    Empty,
    #[error(
        "entry {0} is not division:<id>, group:<id> or queue:<id> (an id is a Genesys UUID), nor `all`"
    )]
    BadEntry(String),
    #[error("entry {0} appears more than once")]
    Repeated(String),
    #[error("has {0} entries; at most {MAX_ENTRIES}")]
    TooMany(usize),
    #[error("mixes `all` with other entries: `all` already takes everyone")]
    AllWithOthers,
}

/// The most entries a scope holds: each division, group and queue is a lookup of its own
/// for `presencectl doctor`, and hundreds are a configuration mistake.
pub const MAX_ENTRIES: usize = 100;

impl Scope {
    /// Parses `SYNC_SCOPE`: `all`, or entries separated by commas (spaces around them are
    /// ignored; kinds are case-insensitive).
    pub fn parse(raw: &str) -> Result<Scope, ScopeError> {
        let parts: Vec<&str> = raw.split(',').map(str::trim).collect();
        if parts.iter().all(|p| p.is_empty()) {
            return Err(ScopeError::Empty);
        }
        if parts.iter().any(|p| p.eq_ignore_ascii_case("all")) {
            return match parts.len() {
                1 => Ok(Scope::All),
                _ => Err(ScopeError::AllWithOthers),
            };
        }
        if parts.len() > MAX_ENTRIES {
            return Err(ScopeError::TooMany(parts.len()));
        }
        let mut entries: Vec<ScopeEntry> = Vec::with_capacity(parts.len());
        for part in parts {
            let entry = entry(part).ok_or_else(|| ScopeError::BadEntry(excerpt(part)))?;
            if entries.contains(&entry) {
                return Err(ScopeError::Repeated(entry.to_string()));
            }
            entries.push(entry);
        }
        Ok(Scope::Members(entries))
    }

    /// The entries of one kind.
    pub fn of(&self, kind: ScopeKind) -> impl Iterator<Item = &ScopeId> {
        let entries: &[ScopeEntry] = match self {
            Scope::All => &[],
            Scope::Members(entries) => entries,
        };
        entries
            .iter()
            .filter(move |e| e.kind == kind)
            .map(|e| &e.id)
    }

    /// The scope written one way only (`all`, or its entries sorted, kinds in lower case), so
    /// that the same scope written otherwise compares equal: what the reconciler keeps of the
    /// scope its last sweep read the directory under.
    pub fn canonical(&self) -> String {
        match self {
            Scope::All => "all".to_owned(),
            Scope::Members(entries) => {
                let mut sorted: Vec<String> = entries.iter().map(ToString::to_string).collect();
                sorted.sort();
                sorted.join(",")
            }
        }
    }

    /// Whether deciding needs a user's division and groups (looked up, then cached).
    pub fn needs_membership(&self) -> bool {
        self.of(ScopeKind::Division).next().is_some() || self.of(ScopeKind::Group).next().is_some()
    }
}

fn entry(part: &str) -> Option<ScopeEntry> {
    let (kind, id) = part.split_once(':')?;
    let kind = match kind.trim().to_ascii_lowercase().as_str() {
        "division" => ScopeKind::Division,
        "group" => ScopeKind::Group,
        "queue" => ScopeKind::Queue,
        _ => return None,
    };
    Some(ScopeEntry {
        kind,
        id: ScopeId::parse(id.trim())?,
    })
}

/// An operator's exception for one agent, kept in the state table: it wins over the scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exception {
    /// Synced whatever the scope says (an opt-in).
    Include,
    /// Never synced (an opt-out: a manager, a works council's request).
    Exclude,
}

impl Exception {
    pub const fn as_str(self) -> &'static str {
        match self {
            Exception::Include => "include",
            Exception::Exclude => "exclude",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "include" => Some(Exception::Include),
            "exclude" => Some(Exception::Exclude),
            _ => None,
        }
    }
}

/// The longest identity kept with an exception (an AWS principal ARN is at most 2,048
/// characters; a role session's is far shorter): longer is cut.
pub const MAX_SET_BY: usize = 256;

/// An exception as the state table keeps it on the agent's record: which, who set it (the
/// operator's AWS identity, cut to [`MAX_SET_BY`]), and when (ms since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionMark {
    pub exception: Exception,
    pub by: String,
    pub at_ms: i64,
}

impl ExceptionMark {
    pub fn new(exception: Exception, by: &str, at_ms: i64) -> Self {
        ExceptionMark {
            exception,
            by: by
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_SET_BY)
                .collect(),
            at_ms,
        }
    }
}

impl super::state::UserState {
    /// The record after an operator set (or removed) the agent's exception: whatever else it
    /// holds (the lease protocol does not look at it); letting the agent go or taking them
    /// back is a write of its own.
    pub fn after_set_exception(&self, mark: Option<&ExceptionMark>) -> super::state::UserState {
        let mut next = self.clone();
        next.exception = mark.cloned();
        next.rev += 1;
        next
    }
}

/// What is known of an agent's memberships. `None`: not known (not looked up, or the
/// lookup failed); an empty list: known to be none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    pub division: Option<ScopeId>,
    pub groups: Option<Vec<ScopeId>>,
    pub queues: Option<Vec<ScopeId>>,
}

/// Why an agent is in scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InScope {
    /// `SYNC_SCOPE=all`.
    All,
    /// An operator's `include`.
    Included,
    /// A member of this entry of the scope.
    Member(ScopeEntry),
}

/// Why an agent is out of scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutOfScope {
    /// An operator's `exclude`.
    Excluded,
    /// A member of none of the scope's entries (as far as what is known goes).
    NotAMember,
}

/// The decision for one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeVerdict {
    In(InScope),
    Out(OutOfScope),
    /// Some membership the scope names is not known: look it up before deciding.
    Unknown,
}

/// Whether the sync drives `agent`: an exception first, then `all`, then any entry the agent
/// is known to be a member of; out only when every membership the scope names is known.
pub fn decide(scope: &Scope, exception: Option<Exception>, known: &Membership) -> ScopeVerdict {
    match exception {
        Some(Exception::Exclude) => return ScopeVerdict::Out(OutOfScope::Excluded),
        Some(Exception::Include) => return ScopeVerdict::In(InScope::Included),
        None => {}
    }
    let Scope::Members(entries) = scope else {
        return ScopeVerdict::In(InScope::All);
    };
    let mut unknown = false;
    for entry in entries {
        let member = match entry.kind {
            ScopeKind::Division => known.division.as_ref().map(|d| *d == entry.id),
            ScopeKind::Group => known.groups.as_ref().map(|g| g.contains(&entry.id)),
            ScopeKind::Queue => known.queues.as_ref().map(|q| q.contains(&entry.id)),
        };
        match member {
            Some(true) => return ScopeVerdict::In(InScope::Member(entry.clone())),
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown {
        ScopeVerdict::Unknown
    } else {
        ScopeVerdict::Out(OutOfScope::NotAMember)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_scope_written_otherwise_is_the_same_scope_and_another_is_not() {
        let d = "0a0a0a0a-0000-4000-8000-00000000000a";
        let q = "0c0c0c0c-0000-4000-8000-00000000000c";
        let canonical = |raw: &str| super::Scope::parse(raw).unwrap().canonical();
        let cases = [
            ("all", " ALL ", true),
            (
                &format!("division:{d},queue:{q}")[..],
                &format!(" Queue:{q} , DIVISION:{d}")[..],
                true,
            ),
            (
                &format!("division:{d}")[..],
                &format!("group:{d}")[..],
                false,
            ),
            (
                &format!("division:{d}")[..],
                &format!("division:{d},queue:{q}")[..],
                false,
            ),
            ("all", &format!("division:{d}")[..], false),
        ];
        for (one, other, same) in cases {
            assert_eq!(canonical(one) == canonical(other), same, "{one} vs {other}");
        }
        assert_eq!(
            canonical(&format!("queue:{q},division:{d}")),
            format!("division:{d},queue:{q}")
        );
    }

    use super::*;

    const A: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
    const B: &str = "0b0b0b0b-0000-4000-8000-00000000000b";
    const Q: &str = "0c0c0c0c-0000-4000-8000-00000000000c";

    fn id(raw: &str) -> ScopeId {
        ScopeId::parse(raw).unwrap()
    }

    fn entry(kind: ScopeKind, raw: &str) -> ScopeEntry {
        ScopeEntry { kind, id: id(raw) }
    }

    #[test]
    fn the_scope_parses_all_or_entries_and_names_the_bad_one() {
        assert_eq!(Scope::parse("all"), Ok(Scope::All));
        assert_eq!(Scope::parse(" ALL "), Ok(Scope::All));
        let scope = Scope::parse(&format!("division:{A}, Queue:{}", Q.to_uppercase())).unwrap();
        assert_eq!(
            scope,
            Scope::Members(vec![
                entry(ScopeKind::Division, A),
                entry(ScopeKind::Queue, Q)
            ])
        );
        assert!(scope.needs_membership());
        let queues_only = Scope::parse(&format!("queue:{Q}")).unwrap();
        assert!(
            !queues_only.needs_membership(),
            "queues come with the event"
        );
        for (raw, error) in [
            ("", ScopeError::Empty),
            (" , ", ScopeError::Empty),
            (
                &format!("division:{A},site:{B}") as &str,
                ScopeError::BadEntry(format!("\"site:{B}\"")),
            ),
            (
                "group:not-a-uuid",
                ScopeError::BadEntry("\"group:not-a-uuid\"".into()),
            ),
            (
                &format!("group:{B},group:{B}"),
                ScopeError::Repeated(format!("group:{B}")),
            ),
            (&format!("all,queue:{Q}"), ScopeError::AllWithOthers),
        ] {
            assert_eq!(Scope::parse(raw), Err(error), "{raw:?}");
        }
        let many = vec![format!("queue:{Q}"); MAX_ENTRIES + 1].join(",");
        assert_eq!(
            Scope::parse(&many),
            Err(ScopeError::TooMany(MAX_ENTRIES + 1))
        );
    }

    #[test]
    fn each_rule_in_order() {
        let scope = Scope::parse(&format!("division:{A},group:{B},queue:{Q}")).unwrap();
        let member_of_b = Membership {
            division: Some(id(B)),
            groups: Some(vec![id(B)]),
            queues: Some(vec![]),
        };
        let nowhere = Membership {
            division: Some(id(Q)),
            groups: Some(vec![]),
            queues: Some(vec![]),
        };
        let unknown_groups = Membership {
            groups: None,
            ..nowhere.clone()
        };
        let none_known = Membership::default();
        let on_queue_q = Membership {
            queues: Some(vec![id(Q)]),
            ..unknown_groups.clone()
        };
        let table: Vec<(&str, &Scope, Option<Exception>, &Membership, ScopeVerdict)> = vec![
            (
                "an exclusion wins over membership",
                &scope,
                Some(Exception::Exclude),
                &member_of_b,
                ScopeVerdict::Out(OutOfScope::Excluded),
            ),
            (
                "an inclusion wins over non-membership",
                &scope,
                Some(Exception::Include),
                &nowhere,
                ScopeVerdict::In(InScope::Included),
            ),
            (
                "an exclusion wins over all",
                &Scope::All,
                Some(Exception::Exclude),
                &nowhere,
                ScopeVerdict::Out(OutOfScope::Excluded),
            ),
            (
                "all takes everyone",
                &Scope::All,
                None,
                &none_known,
                ScopeVerdict::In(InScope::All),
            ),
            (
                "a member of one entry",
                &scope,
                None,
                &member_of_b,
                ScopeVerdict::In(InScope::Member(entry(ScopeKind::Group, B))),
            ),
            (
                "a queue member is in although the groups are unknown",
                &scope,
                None,
                &on_queue_q,
                ScopeVerdict::In(InScope::Member(entry(ScopeKind::Queue, Q))),
            ),
            (
                "a member of none, all known",
                &scope,
                None,
                &nowhere,
                ScopeVerdict::Out(OutOfScope::NotAMember),
            ),
            (
                "a member of none known, groups unknown: look them up",
                &scope,
                None,
                &unknown_groups,
                ScopeVerdict::Unknown,
            ),
        ];
        for (case, scope, exception, known, verdict) in table {
            assert_eq!(decide(scope, exception, known), verdict, "{case}");
        }
    }

    #[test]
    fn exceptions_read_back_what_they_write() {
        for exception in [Exception::Include, Exception::Exclude] {
            assert_eq!(Exception::parse(exception.as_str()), Some(exception));
        }
        assert_eq!(Exception::parse("Include"), None);
    }
}
