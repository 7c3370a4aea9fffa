//! What the tool answers without a deployment: `explain --mapping` works offline (no AWS, no
//! table), and a deployment that cannot be reached still gives one line ending with its fix,
//! or with `--json` one JSON document.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// The tool with nothing but `env`: no AWS profile, no credentials unless given.
fn presencectl(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_presencectl"))
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("presencectl runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn explain_with_a_mapping_needs_no_deployment() {
    let event = fixture("activity-on-queue.json");
    let event = event.to_str().unwrap();
    let (code, out, err) = presencectl(&["--json", "explain", event, "--mapping", "{}"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let answer: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(answer["result"], "calls-teams");
    assert_eq!(answer["target"], "Busy/Busy");
    assert!(answer["against"].as_str().unwrap().contains("offline"));
    // The same event with On Queue left alone by the mapping: no Teams call.
    let (code, out, _) = presencectl(
        &[
            "--json",
            "explain",
            event,
            "--mapping",
            r#"{"ON_QUEUE": "ignore"}"#,
        ],
        &[],
    );
    assert_eq!(code, 0);
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["result"], "answered", "{answer}");
    assert_eq!(answer["target"], "keep: the mapping says ignore");
    // Versions read as times.
    let (_, text, _) = presencectl(&["explain", event, "--mapping", "{}"], &[]);
    assert!(text.contains("(changed 20"), "{text}");
    assert!(!text.contains("version"), "{text}");
}

#[test]
fn a_bad_mapping_is_refused_with_its_fix() {
    let event = fixture("presence-break.json");
    let (code, out, err) = presencectl(
        &[
            "explain",
            event.to_str().unwrap(),
            "--mapping",
            r#"{"OnQ": "x"}"#,
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("OnQ") && err.contains("— fix: "), "{err}");
}

#[test]
fn an_unreachable_deployment_is_one_line_with_its_fix_or_one_json_document() {
    // Credentials and a region, but nothing listens at the endpoint.
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "not-a-secret"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    let (code, out, err) = presencectl(&["--stack", "presence-sync", "doctor"], &env);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("— fix: "), "{err}");
    assert!(
        !err.contains("DispatchFailure") && !err.contains("WARN"),
        "{err}"
    );
    let (code, out, err) = presencectl(&["--json", "--stack", "presence-sync", "doctor"], &env);
    assert_eq!(code, 1, "{out}{err}");
    let answer: Value = serde_json::from_str(&out).expect("one JSON document on stdout");
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"].as_str().unwrap().contains("presence-sync"),
        "{answer}"
    );
    assert!(!answer["fix"].as_str().unwrap().is_empty(), "{answer}");
    // Without credentials at all: the fix says how to sign in, and no SDK warning is printed.
    let (_, _, err) = presencectl(
        &["--stack", "presence-sync", "doctor"],
        &[("AWS_REGION", "eu-west-1")],
    );
    assert!(
        err.contains("no AWS credentials") && err.contains("aws sso login"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn an_empty_endpoint_variable_is_refused_not_a_panic() {
    let env = [("AWS_REGION", "eu-west-1"), ("AWS_ENDPOINT_URL", "")];
    let (code, out, err) = presencectl(&["--stack", "presence-sync", "doctor"], &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("AWS_ENDPOINT_URL set but empty — fix: unset AWS_ENDPOINT_URL"),
        "{err}"
    );
}
