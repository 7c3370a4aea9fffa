//! What the real SAM CLI needs to deploy or delete without a question, held against the
//! driver's arguments and the repository's `samconfig.toml` (`[default.<command>.parameters]`,
//! which a flag overrides), as the SAM CLI reads them (AWS SAM Developer Guide, "AWS SAM CLI
//! configuration file"; `sam deploy --help`, `sam delete --help`):
//!
//! - `sam deploy`: `CAPABILITY_IAM` (the template creates IAM roles: CloudFormation refuses
//!   the change set without it), an artifact bucket (`--resolve-s3` or `--s3-bucket`), a
//!   region (`--region`, the config's, or `AWS_REGION`), and no change-set confirmation
//!   (`confirm_changeset = true` makes it ask "Deploy this changeset? [y/N]", which a closed
//!   standard input answers no);
//! - `sam delete`: `--no-prompts` (it asks whether to delete the stack and its artifacts),
//!   and a region.

use super::{Ended, failed};

/// `[default.<command>.parameters]` (and `[default.global.parameters]`) of samconfig.toml:
/// `key = value` lines, a quoted value unquoted. A line scan: enough for this repository's.
fn config(command: &str) -> Vec<(String, String)> {
    parse(
        &std::fs::read_to_string("samconfig.toml").unwrap_or_default(),
        command,
    )
}

fn parse(text: &str, command: &str) -> Vec<(String, String)> {
    let wanted = [
        format!("[default.{command}.parameters]"),
        "[default.global.parameters]".to_owned(),
    ];
    let mut section = String::new();
    let mut found = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if wanted.contains(&section) && !line.starts_with('#') {
            let value = value.trim().trim_matches('"').to_owned();
            found.push((key.trim().to_owned(), value));
        }
    }
    found
}

fn has(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}

fn configured(config: &[(String, String)], key: &str) -> Option<String> {
    config
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

fn region_known(args: &[String], config: &[(String, String)]) -> bool {
    value(args, "--region").is_some()
        || configured(config, "region").is_some()
        || std::env::var("AWS_REGION").is_ok_and(|r| !r.is_empty())
        || std::env::var("AWS_DEFAULT_REGION").is_ok_and(|r| !r.is_empty())
}

/// Whether `sam deploy` with `args` would run to its end without a question.
pub(super) fn deploy(args: &[String]) -> Result<(), Ended> {
    deploy_with(args, &config("deploy"))
}

fn deploy_with(args: &[String], config: &[(String, String)]) -> Result<(), Ended> {
    let capabilities = value(args, "--capabilities")
        .map(str::to_owned)
        .or_else(|| configured(config, "capabilities"))
        .unwrap_or_default();
    if !capabilities
        .split_whitespace()
        .any(|c| c == "CAPABILITY_IAM" || c == "CAPABILITY_NAMED_IAM")
    {
        return Err(failed(
            "Error: Failed to create changeset for the stack: Requires capabilities : [CAPABILITY_IAM]",
        ));
    }
    let bucket = has(args, "--resolve-s3")
        || value(args, "--s3-bucket").is_some()
        || configured(config, "resolve_s3").as_deref() == Some("true")
        || configured(config, "s3_bucket").is_some();
    if !bucket {
        return Err(failed(
            "Error: Templates with a size greater than 51,200 bytes must be deployed via an S3 Bucket. Please add the --s3-bucket or --resolve-s3 parameter to your command.",
        ));
    }
    if !region_known(args, config) {
        return Err(failed("Error: Missing option '--region'"));
    }
    let confirm = !has(args, "--no-confirm-changeset")
        && (has(args, "--confirm-changeset")
            || configured(config, "confirm_changeset").as_deref() == Some("true"));
    if confirm {
        // It asks "Deploy this changeset? [y/N]" on a standard input the driver closed.
        return Err(failed("Deploy this changeset? [y/N]: \nAborted!"));
    }
    Ok(())
}

/// Whether `sam delete` with `args` would run to its end without a question.
pub(super) fn delete(args: &[String]) -> Result<(), Ended> {
    if !region_known(args, &config("delete")) {
        return Err(failed("Error: Missing option '--region'"));
    }
    if !has(args, "--no-prompts") {
        return Err(failed(
            "Are you sure you want to delete the stack in the region? [y/N]: \nAborted!",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_config() -> Vec<(String, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samconfig.toml");
        parse(
            &std::fs::read_to_string(path).expect("samconfig.toml"),
            "deploy",
        )
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_repositorys_config_asks_to_confirm_unless_told_not_to() {
        let config = repository_config();
        assert_eq!(
            configured(&config, "confirm_changeset").as_deref(),
            Some("true")
        );
        let base = ["deploy", "--stack-name", "s", "--region", "eu-west-1"];
        assert!(deploy_with(&args(&base), &config).is_err());
        let quiet = [&base[..], &["--no-confirm-changeset"]].concat();
        assert!(deploy_with(&args(&quiet), &config).is_ok());
        // Without the config's capabilities and bucket, the flags are needed.
        assert!(deploy_with(&args(&quiet), &[]).is_err());
        let all = [
            &quiet[..],
            &["--capabilities", "CAPABILITY_IAM", "--resolve-s3"],
        ]
        .concat();
        assert!(deploy_with(&args(&all), &[]).is_ok());
    }
}
