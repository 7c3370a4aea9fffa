//! What a deployment is made of, asked once and remembered (`<state dir>/<stack>/settings.json`,
//! no secret in it): the AWS account and region (read from the credentials), the Genesys Cloud
//! region (asked in any form, mapped by the code's region table), the alarm e-mail and any
//! further stack parameters. A re-run reuses them; an argument given again replaces its value.

use super::Problem;
use presence_core::config::GenesysRegion;
use presence_core::domain::excerpt::excerpt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The stack parameters the driver sets itself (from the Terraform outputs and the settings).
pub const DRIVER_PARAMETERS: [&str; 7] = [
    "GenesysEventSourceName",
    "GenesysEnvironment",
    "ExistingAzureSecretArn",
    "ExistingGenesysSecretArn",
    "ExistingWatcherGenesysSecretArn",
    "EventRuleState",
    "AlarmEmail",
];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    pub stack: String,
    pub aws_account: String,
    pub aws_region: String,
    /// The Genesys org's region, as its AWS region (`eu-west-1`).
    pub genesys_region: String,
    #[serde(default)]
    pub alarm_email: Option<String>,
    /// Further stack parameters (`ReservedConcurrency`, `DriftPolicy`, …).
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// What the operator gave on this run.
#[derive(Clone, Debug, Default)]
pub struct Given {
    pub genesys_region: Option<String>,
    pub alarm_email: Option<String>,
    pub parameters: Vec<String>,
}

impl Settings {
    /// The Genesys region of the table (checked when the settings were made).
    pub fn genesys(&self) -> GenesysRegion {
        GenesysRegion::parse(&self.genesys_region)
            .unwrap_or(presence_core::config::GENESYS_REGIONS[0])
    }

    /// `<state dir>/<stack>/settings.json`.
    pub fn path(state_dir: &Path, stack: &str) -> PathBuf {
        state_dir.join(stack).join("settings.json")
    }

    /// The remembered settings of `stack`, if any.
    pub fn load(state_dir: &Path, stack: &str) -> Result<Option<Settings>, Problem> {
        let path = Settings::path(state_dir, stack);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| Problem {
                what: format!("{} is not valid: {e}", path.display()),
                fix: format!(
                    "delete {} and run again (it is asked again)",
                    path.display()
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Problem {
                what: format!("cannot read {}: {e}", path.display()),
                fix: "make the state directory readable, or give another --state-dir".into(),
            }),
        }
    }

    pub fn save(&self, state_dir: &Path) -> Result<(), Problem> {
        let path = Settings::path(state_dir, &self.stack);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::create_dir_all(path.parent().unwrap_or(state_dir))
            .and_then(|()| std::fs::write(&path, text + "\n"))
            .map_err(|e| Problem {
                what: format!("cannot write {}: {e}", path.display()),
                fix: "make the state directory writable, or give another --state-dir".into(),
            })
    }
}

/// The settings of this run: the account and region the credentials reach, the rest from
/// what was given, else what was remembered, else (the Genesys region only) asked.
pub fn resolve(
    stack: &str,
    account: (&str, &str),
    given: &Given,
    saved: Option<Settings>,
) -> Result<Settings, Problem> {
    let (aws_account, aws_region) = account;
    if let Some(saved) = &saved {
        check_same_place(saved, aws_account, aws_region)?;
    }
    let saved = saved.unwrap_or_default();
    let genesys = match (&given.genesys_region, saved.genesys_region.is_empty()) {
        (Some(raw), _) => raw.clone(),
        (None, false) => saved.genesys_region.clone(),
        (None, true) => ask_genesys_region()?,
    };
    let genesys = GenesysRegion::parse(&genesys).map_err(|e| Problem {
        what: e.to_string(),
        fix: "give --genesys-region (or GENESYS_REGION=) in one of those forms".into(),
    })?;
    let alarm_email = match &given.alarm_email {
        Some(email) if email.trim().is_empty() => None,
        Some(email) => Some(checked_email(email)?),
        None => saved.alarm_email.clone(),
    };
    let mut parameters = saved.parameters.clone();
    for raw in &given.parameters {
        let (key, value) = checked_parameter(raw)?;
        parameters.insert(key, value);
    }
    Ok(Settings {
        stack: stack.to_owned(),
        aws_account: aws_account.to_owned(),
        aws_region: aws_region.to_owned(),
        genesys_region: genesys.aws_region.to_owned(),
        alarm_email,
        parameters,
    })
}

/// A deployment stays in its account and region: credentials that reach another one are a
/// mistake (another profile), not a move.
fn check_same_place(saved: &Settings, account: &str, region: &str) -> Result<(), Problem> {
    if saved.aws_account == account && saved.aws_region == region {
        return Ok(());
    }
    Err(Problem {
        what: format!(
            "stack {} was deployed to account {} in {}, but the AWS credentials now reach account {account} in {region}",
            saved.stack, saved.aws_account, saved.aws_region
        ),
        fix: format!(
            "sign in to account {} and give --region {} (or --profile), or name another deployment with --stack",
            saved.aws_account, saved.aws_region
        ),
    })
}

/// The Genesys region, asked on the terminal (only when there is one to ask on).
fn ask_genesys_region() -> Result<String, Problem> {
    let missing = Problem {
        what: "the Genesys Cloud region is not known yet".into(),
        fix: "give it once with --genesys-region (or GENESYS_REGION=): eu-west-1, mypurecloud.ie or https://login.mypurecloud.ie".into(),
    };
    if !std::io::stdin().is_terminal() {
        return Err(missing);
    }
    print!(
        "   Genesys Cloud region of your org (as you know it: eu-west-1, mypurecloud.ie, https://apps.mypurecloud.ie …): "
    );
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 && !line.trim().is_empty() => Ok(line.trim().to_owned()),
        _ => Err(missing),
    }
}

/// An address as template.yaml's `AlarmEmail` accepts it.
fn checked_email(raw: &str) -> Result<String, Problem> {
    let email = raw.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if valid {
        Ok(email.to_owned())
    } else {
        Err(Problem {
            what: format!("{} is not an e-mail address", excerpt(raw)),
            fix: "give --alarm-email name@example.com, or --alarm-email '' for none".into(),
        })
    }
}

/// `Key=Value` naming a stack parameter the driver does not set itself.
fn checked_parameter(raw: &str) -> Result<(String, String), Problem> {
    let parsed = raw.split_once('=').filter(|(key, _)| {
        !key.is_empty() && key.len() <= 64 && key.chars().all(|c| c.is_ascii_alphanumeric())
    });
    let Some((key, value)) = parsed else {
        return Err(Problem {
            what: format!("{} is not a stack parameter KEY=VALUE", excerpt(raw)),
            fix: "give --parameter ReservedConcurrency=100 (a parameter of template.yaml)".into(),
        });
    };
    if DRIVER_PARAMETERS.contains(&key) {
        return Err(Problem {
            what: format!("{key} is set by the driver itself"),
            fix: "leave it out (the Genesys region, the secrets and the rule follow from the deployment; --alarm-email sets AlarmEmail)".into(),
        });
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(region: Option<&str>) -> Given {
        Given {
            genesys_region: region.map(str::to_owned),
            ..Given::default()
        }
    }

    #[test]
    fn the_genesys_region_in_any_form_is_kept_as_its_aws_region() {
        let settings = resolve(
            "s",
            ("123456789012", "eu-central-1"),
            &given(Some("https://login.mypurecloud.ie")),
            None,
        )
        .unwrap();
        assert_eq!(settings.genesys_region, "eu-west-1");
        assert_eq!(settings.genesys().host, "mypurecloud.ie");
        assert_eq!(settings.aws_region, "eu-central-1");
    }

    #[test]
    fn a_rerun_reuses_what_was_remembered_and_refuses_another_account() {
        let first = Given {
            genesys_region: Some("mypurecloud.de".into()),
            alarm_email: Some("ops@example.com".into()),
            parameters: vec!["DriftPolicy=repair".into()],
        };
        let saved = resolve("s", ("111111111111", "eu-west-1"), &first, None).unwrap();
        let again = resolve(
            "s",
            ("111111111111", "eu-west-1"),
            &given(None),
            Some(saved.clone()),
        )
        .unwrap();
        assert_eq!(again, saved);
        let elsewhere = resolve(
            "s",
            ("222222222222", "eu-west-1"),
            &given(None),
            Some(saved),
        )
        .unwrap_err();
        assert!(
            elsewhere.what.contains("222222222222"),
            "{}",
            elsewhere.what
        );
        assert!(elsewhere.fix.contains("--profile"), "{}", elsewhere.fix);
    }

    #[test]
    fn bad_input_is_refused_with_its_fix() {
        let place = ("111111111111", "eu-west-1");
        let unknown = resolve("s", place, &given(Some("mars-1")), None).unwrap_err();
        assert!(unknown.fix.contains("--genesys-region"));
        let email = Given {
            alarm_email: Some("not an address".into()),
            ..given(Some("eu-west-1"))
        };
        assert!(
            resolve("s", place, &email, None)
                .unwrap_err()
                .fix
                .contains("--alarm-email")
        );
        for parameter in ["EventRuleState=DISABLED", "no-equals", "=x"] {
            let bad = Given {
                parameters: vec![parameter.into()],
                ..given(Some("eu-west-1"))
            };
            assert!(resolve("s", place, &bad, None).is_err(), "{parameter}");
        }
    }
}
