//! The doctor's judgements, one broken setting at a time, without I/O.

use super::credentials::{judge_roles, judge_secret, roles};
use super::functions::{FunctionFacts, judge_function};
use super::stack::{judge_alarm, judge_queue, judge_rule, judge_source, judge_table};
use super::*;
use secrecy::SecretString;

#[test]
fn a_placeholder_or_a_missing_field_fails_without_quoting_the_secret() {
    let fields = ["client_id", "client_secret"];
    let good = SecretString::from(r#"{"client_id":"abc","client_secret":"s3cr3t-value"}"#);
    assert_eq!(
        judge_secret("s", "id", &good, &fields).unwrap().status,
        Status::Pass
    );
    let placeholder =
        SecretString::from(r#"{"client_id":"REPLACE_ME","client_secret":"s3cr3t-value"}"#);
    let why = judge_secret("s", "id", &placeholder, &fields).unwrap_err();
    assert!(
        why.contains("client_id") && !why.contains("s3cr3t"),
        "{why}"
    );
    let missing = SecretString::from(r#"{"client_id":"abc"}"#);
    let why = judge_secret("s", "id", &missing, &fields).unwrap_err();
    assert!(why.contains("client_secret"), "{why}");
    let not_json = SecretString::from("s3cr3t-value");
    assert!(
        !judge_secret("s", "id", &not_json, &fields)
            .unwrap_err()
            .contains("s3cr3t")
    );
}

#[test]
fn the_graph_role_must_be_in_the_token() {
    use base64::Engine;
    let jwt = |claims: serde_json::Value| {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        SecretString::from(format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"RS256"}"#),
            e.encode(claims.to_string())
        ))
    };
    let granted = jwt(serde_json::json!({"roles": ["Presence.ReadWrite.All"]}));
    assert_eq!(judge_roles("t", roles(&granted)).status, Status::Pass);
    let other = jwt(serde_json::json!({"roles": ["User.Read.All"]}));
    assert_eq!(judge_roles("t", roles(&other)).status, Status::Fail);
    let none = jwt(serde_json::json!({"aud": "https://graph.microsoft.com"}));
    let check = judge_roles("t", roles(&none));
    assert!(check.fix.unwrap().contains("admin consent"));
    assert_eq!(roles(&SecretString::from("opaque")), None);
}

#[test]
fn each_broken_setting_fails_with_its_fix() {
    let cases: Vec<(Check, &str)> = vec![
        (judge_source("s", Some("PENDING")), "GenesysEventSourceName"),
        (judge_source("s", Some("DELETED")), "infra/genesys"),
        (judge_source("s", None), "infra/genesys"),
        (
            judge_rule("bus", &[("r".into(), "DISABLED".into())]),
            "EventRuleState=ENABLED",
        ),
        (judge_rule("bus", &[]), "make deploy"),
        (
            judge_table("t", Some("ACTIVE"), Some("DISABLED"), None),
            "TTL",
        ),
        (
            judge_table("t", Some("ACTIVE"), Some("ENABLED"), Some("ttl")),
            "expires_at",
        ),
        (judge_table("t", Some("CREATING"), None, None), "ACTIVE"),
        (judge_queue("failure queue", 3), "presencectl redrive"),
        (judge_queue("dead-letter queue", 1), "receive-message"),
        (judge_alarm(1, 1), "confirm"),
    ];
    for (check, fix) in cases {
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(
            check.fix.as_deref().unwrap_or("").contains(fix),
            "{check:?} should say {fix}"
        );
    }
    for check in [
        judge_source("s", Some("ACTIVE")),
        judge_rule("bus", &[("r".into(), "ENABLED".into())]),
        judge_table("t", Some("ACTIVE"), Some("ENABLED"), Some("expires_at")),
        judge_queue("failure queue", 0),
        judge_alarm(0, 0),
        judge_alarm(2, 0),
    ] {
        assert_eq!(check.status, Status::Pass, "{check:?}");
    }
}

#[test]
fn a_function_unlike_the_template_fails() {
    let good = FunctionFacts {
        state: Some("Active".into()),
        architecture: Some("arm64".into()),
        runtime: Some("provided.al2023".into()),
        missing_variables: vec![],
        reserved_concurrency: Some(50),
        paced_for: Some("50".into()),
        retries: Some(2),
        on_failure: Some("arn:q".into()),
    };
    assert_eq!(
        judge_function("f", "arn", &good, Some("arn:q")).status,
        Status::Pass
    );
    let wrong = FunctionFacts {
        architecture: Some("x86_64".into()),
        missing_variables: vec!["STATE_TABLE"],
        retries: Some(0),
        paced_for: Some("10".into()),
        on_failure: None,
        ..good
    };
    let check = judge_function("f", "arn", &wrong, Some("arn:q"));
    assert_eq!(check.status, Status::Fail);
    for said in [
        "x86_64",
        "STATE_TABLE",
        "retries 0",
        "failure queue",
        "RESERVED_CONCURRENCY says \"10\"",
    ] {
        assert!(check.detail.contains(said), "{}", check.detail);
    }
}

#[test]
fn the_watchers_client_must_read_the_definitions_its_mapping_names() {
    use super::watcher::judge_definitions;
    use presence_core::domain::presence::SystemPresence;
    use presence_core::domain::watch::TeamsToGenesys;
    use presence_core::domain::watch::resolve::{DefinitionKind, OrgDefinition};
    use presence_core::ports::{RemoteError, Service};
    let definition = |id: &str, system: &str| OrgDefinition {
        id: id.to_owned(),
        system: SystemPresence::observe(system),
        kind: DefinitionKind::System,
    };
    let org = vec![
        definition("31fe3bac-dea6-44b7-bed7-47f91660a1a0", "BUSY"),
        definition("c8b2a8f4-6f1e-4a7b-9d3c-2e1f0a9b8c7d", "MEETING"),
    ];
    let rules = TeamsToGenesys::from_json("").unwrap();
    let passed = judge_definitions(Ok(org.clone()), &rules);
    assert_eq!(passed.status, Status::Pass, "{passed:?}");
    assert!(
        passed.detail.contains("2 presence definitions"),
        "{passed:?}"
    );
    // The org has no Meeting presence: the default InAMeeting entry cannot be resolved.
    let no_meeting = judge_definitions(Ok(org[..1].to_vec()), &rules);
    assert_eq!(no_meeting.status, Status::Fail);
    assert!(no_meeting.detail.contains("InAMeeting"), "{no_meeting:?}");
    // The client's role lacks the permission: the fix names it.
    let denied = RemoteError::Denied {
        service: Service::GenesysUsers,
        detail: "403 missing permission".to_owned(),
    };
    let refused = judge_definitions(Err(denied), &rules);
    assert_eq!(refused.status, Status::Fail);
    assert!(
        refused
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("presence:presenceDefinition:view")),
        "{refused:?}"
    );
}

#[test]
fn a_watcher_may_take_most_of_its_own_client_but_only_a_fifth_of_the_functions() {
    use super::watcher::judge_client;
    let read = || pass("s", "arn: client_id, client_secret set");
    assert_eq!(judge_client(read(), false, 90).status, Status::Pass);
    assert_eq!(judge_client(read(), true, 20).status, Status::Pass);
    let starving = judge_client(read(), true, 90);
    assert_eq!(starving.status, Status::Fail);
    assert!(
        starving
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("ExistingWatcherGenesysSecretArn")),
        "{starving:?}"
    );
}
