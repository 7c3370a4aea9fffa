//! Identifiers that end up in URLs and table keys: a Genesys user id and a Teams (Azure AD)
//! user object id. Both are UUIDs in canonical hyphenated form; nothing else gets through.

use std::fmt;

/// True for a canonical hyphenated UUID (`8-4-4-4-12` hex digits, either case).
///
/// `uuid::Uuid::try_parse` alone also accepts the braced, URN and un-hyphenated forms; only
/// the canonical form is a Genesys or Azure AD id, so the length pins it down.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// The longest EventBridge event id accepted (EventBridge's own are UUIDs, 36 characters).
pub const MAX_EVENT_ID_LEN: usize = 128;

/// True for an EventBridge event id this function stores and logs: 1 to
/// [`MAX_EVENT_ID_LEN`] printable ASCII characters, no space or control character (so it
/// can neither flood the state table nor break a text log line).
pub fn is_event_id(s: &str) -> bool {
    (1..=MAX_EVENT_ID_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Accepts a canonical UUID only, normalised to lower case.
            pub fn parse(raw: &str) -> Option<Self> {
                is_uuid(raw).then(|| Self(raw.to_ascii_lowercase()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id! {
    /// A Genesys Cloud user id.
    GenesysUserId
}

uuid_id! {
    /// A Microsoft Teams user: the Azure AD object id Graph addresses presence by.
    TeamsUserId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_are_accepted_and_lower_cased() {
        let id = GenesysUserId::parse("3F9E6A2B-5D4C-4B1A-8E7F-112233445566").unwrap();
        assert_eq!(id.as_str(), "3f9e6a2b-5d4c-4b1a-8e7f-112233445566");
    }

    #[test]
    fn anything_that_is_not_a_canonical_uuid_is_rejected() {
        for raw in [
            "",
            "3f9e6a2b5d4c4b1a8e7f112233445566",
            "{3f9e6a2b-5d4c-4b1a-8e7f-112233445566}",
            "urn:uuid:3f9e6a2b-5d4c-4b1a-8e7f-112233445566",
            "../../../admin",
            "3f9e6a2b-5d4c-4b1a-8e7f-11223344556%2F",
            "3f9e6a2b-5d4c-4b1a-8e7f-11223344556?",
            "3f9e6a2b-5d4c-4b1a-8e7f-11223344556#",
            "3f9e6a2b-5d4c-4b1a-8e7f 112233445566",
            "3f9e6a2b-5d4c-4b1a-8e7f-11223344556g",
            "not-a-guid",
        ] {
            assert!(GenesysUserId::parse(raw).is_none(), "{raw:?}");
            assert!(TeamsUserId::parse(raw).is_none(), "{raw:?}");
        }
    }
}
