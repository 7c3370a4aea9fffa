use super::answer::token_lifetime;
use super::cache::refresh_at;
use super::*;
use reqwest::Url;
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

#[test]
fn an_azure_secret_is_reported_expiring_from_thirty_days_before() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let at =
        |days: i64, hours: i64| now + chrono::Duration::days(days) + chrono::Duration::hours(hours);
    assert_eq!(days_left_if_expiring(at(31, 0), now), None);
    assert_eq!(days_left_if_expiring(at(30, 1), now), None);
    assert_eq!(days_left_if_expiring(at(29, 23), now), Some(29));
    assert_eq!(days_left_if_expiring(at(0, 1), now), Some(0));
    assert_eq!(days_left_if_expiring(at(-3, 0), now), Some(-3));
}

#[test]
fn token_lifetimes_are_clamped_to_a_day() {
    let day = Some(MAX_TOKEN_LIFETIME);
    assert_eq!(token_lifetime(Some(&json!(u64::MAX))), day);
    assert_eq!(
        token_lifetime(Some(&json!("184467440737095516160000"))),
        day
    );
    assert_eq!(token_lifetime(Some(&json!(172_800))), day);
    assert_eq!(
        token_lifetime(Some(&json!(3599))),
        Some(Duration::from_secs(3599))
    );
    assert_eq!(
        token_lifetime(Some(&json!(" 3599 "))),
        Some(Duration::from_secs(3599))
    );
    for unusable in [json!(0), json!(-1), json!(1.5), json!("soon"), json!(null)] {
        assert_eq!(token_lifetime(Some(&unusable)), None, "{unusable}");
    }
    assert_eq!(token_lifetime(None), None);
}

#[test]
fn the_refresh_time_never_overflows_the_clock() {
    let now = Instant::now();
    let at = refresh_at(now, Duration::MAX);
    assert!(at > now && at <= now + MAX_TOKEN_LIFETIME);
    assert_eq!(
        refresh_at(now, Duration::from_secs(3600)),
        now + Duration::from_secs(3540)
    );
    assert_eq!(
        refresh_at(now, Duration::from_secs(100)),
        now + Duration::from_secs(90)
    );
}

#[test]
fn secret_fields_name_the_missing_field_without_quoting_the_secret() {
    let secret = SecretString::from(r#"{"client_id":"id-123","client_secret":""}"#.to_owned());
    let err = secret_fields("genesys", &secret, ["client_id", "client_secret"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("client_secret"), "{err}");
    assert!(!err.contains("id-123"), "{err}");
}

#[test]
fn a_secret_that_is_not_json_is_reported_without_its_content() {
    let secret = SecretString::from("hunter2-super-secret".to_owned());
    let err = secret_fields("azure", &secret, ["tenant_id"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("azure") && err.contains("tenant_id"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_tenant_that_could_change_the_token_url_is_refused() {
    let endpoint = AzureAd {
        login_url: Url::parse("https://login.microsoftonline.com").unwrap(),
        scope: "https://graph.microsoft.com/.default".into(),
    };
    let secret = SecretString::from(
        r#"{"tenant_id":"../evil?","client_id":"a","client_secret":"b"}"#.to_owned(),
    );
    assert!(endpoint.credentials("azure", &secret).is_err());
    let secret = SecretString::from(
        r#"{"tenant_id":"contoso.onmicrosoft.com","client_id":"a","client_secret":"b"}"#.to_owned(),
    );
    assert!(endpoint.credentials("azure", &secret).is_ok());
}
