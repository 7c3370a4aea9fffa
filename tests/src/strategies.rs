//! proptest strategies for hostile input: arbitrary JSON shaped like events, hostile
//! strings, and the real sample events with fields removed or replaced.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

pub const FIXTURES: [&str; 3] = [
    include_str!("../fixtures/activity-on-queue.json"),
    include_str!("../fixtures/presence-break.json"),
    include_str!("../fixtures/routing-status-interacting.json"),
];

/// Field names of the real events, so that arbitrary objects often look like events.
const KEYS: [&str; 16] = [
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "detail",
    "topicName",
    "eventBody",
    "timestamp",
    "presence",
    "presenceDefinition",
    "systemPresence",
    "modifiedDate",
    "routingStatus",
    "status",
    "startTime",
];

pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just("../../admin".to_owned()),
        Just("3f9e6a2b-5d4c-4b1a-8e7f-112233445566%2F..".to_owned()),
        Just("3f9e6a2b-5d4c-4b1a-8e7f-112233445566?x=1".to_owned()),
        Just("3f9e6a2b-5d4c-4b1a-8e7f-112233445566#".to_owned()),
        Just("3f9e6a2b 5d4c 4b1a 8e7f 112233445566".to_owned()),
        Just("v2.users.{id}.activity".to_owned()),
        Just("ON_QUEUE".to_owned()),
        Just("2026-11-02T08:59:58.101Z".to_owned()),
        "[a-zA-Z_ ]{0,20}",
        "x{1000,5000}",
    ]
}

/// A user id valid by construction: a UUID made from 16 random bytes, written in the canonical
/// hyphenated form (8-4-4-4-12 hex digits), in lower or upper case.
pub fn uuid_id() -> impl Strategy<Value = String> {
    (any::<[u8; 16]>(), any::<bool>()).prop_map(|(bytes, upper)| {
        let id = uuid::Uuid::from_bytes(bytes).hyphenated().to_string();
        if upper { id.to_uppercase() } else { id }
    })
}

/// How [`broken_uuid_id`] broke a valid id. Each one leaves something that is not 36
/// characters of 8-4-4-4-12 hex digits and hyphens, whatever the random parts are.
#[derive(Debug, Clone)]
pub enum IdBreak {
    /// One character removed: 35 long.
    Dropped(usize),
    /// One character added: 37 long or more.
    Inserted(usize, char),
    /// A hex digit replaced by something that is not one.
    NotHex(usize, char),
    /// One of the four hyphens replaced.
    Hyphen(usize, char),
    /// The braced, URN or un-hyphenated spelling of the same UUID.
    Braced,
    Urn,
    Simple,
    /// Something appended or prepended (path, query, fragment, encoding, spaces).
    Suffix(&'static str),
    Prefix(&'static str),
}

/// Characters that are not hex digits, hostile ones among them.
const NOT_HEX: [char; 14] = [
    'g', 'G', 'z', '/', '%', '.', ' ', '?', '#', '-', '{', '\n', '\u{0}', '\u{e9}',
];

/// A valid id broken in one known way, with the way.
pub fn broken_uuid_id() -> impl Strategy<Value = (String, IdBreak)> {
    let how = prop_oneof![
        (0usize..36).prop_map(IdBreak::Dropped),
        (0usize..37, any::<char>()).prop_map(|(at, c)| IdBreak::Inserted(at, c)),
        (0usize..32, prop::sample::select(NOT_HEX.to_vec()))
            .prop_map(|(nth, c)| IdBreak::NotHex(nth, c)),
        (
            0usize..4,
            prop_oneof![prop::sample::select(NOT_HEX.to_vec()), Just('0'), Just('a')]
        )
            .prop_filter("a hyphen for a hyphen is no break", |(_, c)| *c != '-')
            .prop_map(|(nth, c)| IdBreak::Hyphen(nth, c)),
        Just(IdBreak::Braced),
        Just(IdBreak::Urn),
        Just(IdBreak::Simple),
        prop::sample::select(vec!["/..", "%2F", "?x=1", "#", " ", "\n", "0", "-0"])
            .prop_map(IdBreak::Suffix),
        prop::sample::select(vec!["../", " ", "0", "-"]).prop_map(IdBreak::Prefix),
    ];
    (any::<[u8; 16]>(), how).prop_map(|(bytes, how)| {
        let uuid = uuid::Uuid::from_bytes(bytes);
        let id = uuid.hyphenated().to_string();
        let mut chars: Vec<char> = id.chars().collect();
        let hyphens = [8, 13, 18, 23];
        let broken = match &how {
            IdBreak::Dropped(at) => {
                chars.remove(*at);
                chars.into_iter().collect()
            }
            IdBreak::Inserted(at, c) => {
                chars.insert(*at, *c);
                chars.into_iter().collect()
            }
            IdBreak::NotHex(nth, c) => {
                let at = (0..36).filter(|i| !hyphens.contains(i)).nth(*nth).unwrap();
                chars[at] = *c;
                chars.into_iter().collect()
            }
            IdBreak::Hyphen(nth, c) => {
                chars[hyphens[*nth]] = *c;
                chars.into_iter().collect()
            }
            IdBreak::Braced => uuid.braced().to_string(),
            IdBreak::Urn => uuid.urn().to_string(),
            IdBreak::Simple => uuid.simple().to_string(),
            IdBreak::Suffix(s) => format!("{id}{s}"),
            IdBreak::Prefix(s) => format!("{s}{id}"),
        };
        (broken, how)
    })
}

pub fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
                        any::<String>()
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every JSON pointer in a value.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove,
    Replace(Value),
}

/// A sample event with up to three of its fields removed or replaced.
pub fn mutated_sample() -> impl Strategy<Value = Value> {
    (
        0..FIXTURES.len(),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop_oneof![
                    Just(Mutation::Remove),
                    arbitrary_json().prop_map(Mutation::Replace)
                ],
            ),
            1..4,
        ),
    )
        .prop_map(|(which, mutations)| {
            let mut event: Value = serde_json::from_str(FIXTURES[which]).unwrap();
            for (index, mutation) in mutations {
                let mut paths = Vec::new();
                pointers(&event, String::new(), &mut paths);
                if paths.is_empty() {
                    break;
                }
                let path = index.get(&paths).clone();
                let (parent, key) = path.rsplit_once('/').unwrap();
                let key = key.replace("~1", "/").replace("~0", "~");
                match event.pointer_mut(parent) {
                    Some(Value::Object(map)) => match mutation {
                        Mutation::Remove => {
                            map.remove(&key);
                        }
                        Mutation::Replace(v) => {
                            map.insert(key, v);
                        }
                    },
                    Some(Value::Array(items)) => {
                        let i: usize = key.parse().unwrap();
                        match mutation {
                            Mutation::Remove => {
                                items.remove(i);
                            }
                            Mutation::Replace(v) => items[i] = v,
                        }
                    }
                    _ => {}
                }
            }
            event
        })
}
