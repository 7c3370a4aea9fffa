//! The tool's answers to bad usage, before it looks for any deployment: exit status 2 with
//! clap's message, and `--json` refused for the commands that print progress. (Also the one
//! test target `make demo` builds with the binaries, so that its build resolves the same
//! features as `make test`'s and the test build reuses it: Makefile, `BUILD`.)

use std::process::Command;

fn presencectl(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_presencectl"))
        .env_clear()
        .args(args)
        .output()
        .expect("presencectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn an_unknown_command_is_bad_usage() {
    let (code, text) = presencectl(&["frobnicate"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("unrecognized subcommand"), "{text}");
}

#[test]
fn deploy_and_destroy_refuse_json_with_the_fix() {
    for command in ["deploy", "destroy"] {
        let (code, text) = presencectl(&["--json", command]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("drop --json"), "{text}");
    }
}

#[test]
fn deploy_names_its_steps_for_from() {
    let (code, text) = presencectl(&["deploy", "--from", "nowhere"]);
    assert_eq!(code, 2, "{text}");
    for step in [
        "azure",
        "genesys",
        "credentials",
        "build",
        "stack",
        "event-source",
        "doctor",
    ] {
        assert!(text.contains(step), "{step}: {text}");
    }
}
