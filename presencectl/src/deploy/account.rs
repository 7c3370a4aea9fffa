//! What the AWS account already holds for a deployment, read in the prerequisites step, before
//! anything is made: the stack's state, and whether Lambda's concurrency leaves room for the
//! functions' reservations.
//!
//! A first creation that fails (a quota, a partner event source Genesys has not made yet) is
//! rolled back and leaves the stack in ROLLBACK_COMPLETE, from which CloudFormation lets a stack
//! only be deleted: every later deploy fails with "is in ROLLBACK_COMPLETE state and can not be
//! updated" (aws-sam-cli #1865, #4230). The stack step deletes such a stack first. The event
//! function reserves `ReservedConcurrency` instances, the reconciler 1 and the watcher (with
//! `TeamsToGenesys=on`) 1, and Lambda keeps at
//! least 100 of the account's concurrency unreserved (Lambda Developer Guide, "Configuring
//! reserved concurrency"; GetAccountSettings' `UnreservedConcurrentExecutions`): a new account
//! at a low default quota fails the stack's creation, so it is checked here.

use super::Problem;
use crate::aws_error;

/// template.yaml's `ReservedConcurrency` default.
const DEFAULT_RESERVED_CONCURRENCY: u32 = 50;
/// What template.yaml's reconciler reserves.
const RECONCILER_RESERVED: u32 = 1;
/// What template.yaml's watcher reserves (it exists with `TeamsToGenesys=on` only).
const WATCHER_RESERVED: u32 = 1;
/// Lambda's floor of unreserved concurrency per account and region.
const UNRESERVED_MINIMUM: i64 = 100;
/// The stack state whose stack can only be deleted.
const ROLLED_BACK: &str = "ROLLBACK_COMPLETE";

/// What the stack's functions reserve, from its parameters (`ReservedConcurrency`,
/// `TeamsToGenesys`; the template's defaults for those not given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservations {
    /// The event function's `ReservedConcurrency`.
    pub event: u32,
    /// Whether the watcher exists (`TeamsToGenesys=on`).
    pub watcher: bool,
}

impl Reservations {
    /// From the stack's parameters, `parameter` giving a parameter's value by its name.
    pub fn from_parameters(parameter: impl Fn(&str) -> Option<String>) -> Reservations {
        Reservations {
            event: parameter("ReservedConcurrency")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(DEFAULT_RESERVED_CONCURRENCY),
            watcher: parameter("TeamsToGenesys").is_some_and(|v| v.trim() == "on"),
        }
    }

    /// Every function's reservation together.
    pub fn total(self) -> u32 {
        let watcher = if self.watcher { WATCHER_RESERVED } else { 0 };
        self.event
            .saturating_add(RECONCILER_RESERVED)
            .saturating_add(watcher)
    }

    fn spelled(self) -> String {
        let watcher = if self.watcher {
            format!(" + the watcher's {WATCHER_RESERVED}")
        } else {
            String::new()
        };
        format!(
            "ReservedConcurrency {} + the reconciler's {RECONCILER_RESERVED}{watcher}",
            self.event
        )
    }
}

/// The stack as CloudFormation has it, before this run changes anything.
#[derive(Clone, Debug, Default)]
pub struct StackSoFar {
    /// `None`: there is no stack of this name.
    pub status: Option<String>,
    /// What its functions reserve now (none for a stack that is not working).
    held: u32,
}

impl StackSoFar {
    /// A first creation failed and was rolled back: the stack can only be deleted.
    pub fn rolled_back(&self) -> bool {
        self.status.as_deref() == Some(ROLLED_BACK)
    }
}

/// The stack's state and what its functions reserve (`DescribeStacks`).
pub async fn stack(aws: &aws_config::SdkConfig, name: &str) -> Result<StackSoFar, Problem> {
    let answer = aws_sdk_cloudformation::Client::new(aws)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await;
    let described = match answer {
        Ok(out) => out,
        // CloudFormation answers a stack that does not exist with a ValidationError.
        Err(e) if aws_error::describe(&e).contains("does not exist") => {
            return Ok(StackSoFar::default());
        }
        Err(e) => {
            return Err(Problem {
                what: format!("CloudFormation: {}", aws_error::describe(&e)),
                fix:
                    "let this principal call cloudformation:DescribeStacks, then make deploy again"
                        .into(),
            });
        }
    };
    let Some(found) = described.stacks().first() else {
        return Ok(StackSoFar::default());
    };
    let status = found.stack_status().map(|s| s.as_str().to_owned());
    let working = status
        .as_deref()
        .is_some_and(|s| s.ends_with("_COMPLETE") && s != ROLLED_BACK && !s.starts_with("DELETE"));
    let reserved = Reservations::from_parameters(|name| {
        found
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(name))
            .and_then(|p| p.parameter_value().map(str::to_owned))
    });
    Ok(StackSoFar {
        status,
        held: if working { reserved.total() } else { 0 },
    })
}

/// Whether the stack step can go on from the stack's state.
pub fn judge_stack(name: &str, so_far: &StackSoFar) -> Result<String, Problem> {
    let Some(status) = so_far.status.as_deref() else {
        return Ok(format!("{name} not deployed yet"));
    };
    if so_far.rolled_back() {
        return Ok(format!(
            "{name} is {ROLLED_BACK}: its first creation failed and was rolled back; the stack step deletes it, then creates it"
        ));
    }
    if status.ends_with("_COMPLETE") {
        return Ok(format!("{name} is {status}"));
    }
    let fix = if status.ends_with("_IN_PROGRESS") {
        format!(
            "wait until it ends (aws cloudformation wait stack-update-complete --stack-name {name}, or watch it in the CloudFormation console), then make deploy again"
        )
    } else if status == "UPDATE_ROLLBACK_FAILED" {
        format!(
            "aws cloudformation continue-update-rollback --stack-name {name} (CloudFormation User Guide, \"Continue rolling back an update\"), then make deploy again"
        )
    } else {
        format!(
            "delete it (aws cloudformation delete-stack --stack-name {name}; its events name what it could not delete), then make deploy again"
        )
    };
    Err(Problem {
        what: format!("{name} is {status}"),
        fix,
    })
}

/// Whether Lambda leaves at least 100 unreserved once the functions reserve `reserved` (what
/// the stack holds now counts as free for it). A principal
/// that may not read the account's settings is not stopped: the check says what to look at.
pub async fn concurrency(
    aws: &aws_config::SdkConfig,
    reserved: Reservations,
    so_far: &StackSoFar,
) -> Result<String, Problem> {
    let (needed, spelled) = (reserved.total(), reserved.spelled());
    let answer = aws_sdk_lambda::Client::new(aws)
        .get_account_settings()
        .send()
        .await;
    let limit = match answer {
        Ok(out) => out.account_limit().cloned(),
        Err(e) => {
            return Ok(format!(
                "not read (Lambda: {}): the account must leave 100 unreserved after the functions reserve {needed}, or the stack's creation fails",
                aws_error::describe(&e)
            ));
        }
    };
    let unreserved = limit
        .as_ref()
        .and_then(|l| l.unreserved_concurrent_executions())
        .map_or(0, i64::from);
    let total = limit
        .as_ref()
        .map_or(0, |l| i64::from(l.concurrent_executions()));
    let left = unreserved + i64::from(so_far.held) - i64::from(needed);
    if left >= UNRESERVED_MINIMUM {
        return Ok(format!(
            "{unreserved} unreserved of {total}; the functions reserve {needed}, leaving {left}"
        ));
    }
    Err(Problem {
        what: format!(
            "the account has {unreserved} unreserved concurrent executions of {total}: the functions reserve {needed} ({spelled}), which would leave {left}, and Lambda keeps at least {UNRESERVED_MINIMUM} unreserved"
        ),
        fix: format!(
            "ask for more (Service Quotas → AWS Lambda → Concurrent executions: {} or more), or deploy with fewer: make deploy DEPLOY_ARGS=\"--parameter ReservedConcurrency=<n>\"",
            total - left + UNRESERVED_MINIMUM
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// template.yaml, as the constants above read it.
    fn template() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        std::fs::read_to_string(path).expect("template.yaml")
    }

    #[test]
    fn the_reservations_are_the_templates() {
        let template = template();
        let parameter = template
            .split("\n  ReservedConcurrency:\n")
            .nth(1)
            .expect("the ReservedConcurrency parameter");
        let default = parameter
            .lines()
            .find_map(|l| l.trim().strip_prefix("Default: "))
            .expect("its default");
        assert_eq!(default, DEFAULT_RESERVED_CONCURRENCY.to_string());
        // Every other function's reservation is a number written in the template: the
        // reconciler's always, the watcher's under the condition `WatchOn`.
        let (mut always, mut watch_on) = (0, 0);
        let mut condition = None;
        for line in template.lines() {
            let resource = line.starts_with("  ") && !line.starts_with("   ");
            if resource && line.trim_end().ends_with(':') {
                condition = None;
            }
            if let Some(c) = line.strip_prefix("    Condition: ") {
                condition = Some(c.trim().to_owned());
            }
            let Some(n) = line.trim().strip_prefix("ReservedConcurrentExecutions: ") else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            match condition.as_deref() {
                None => always += n,
                Some("WatchOn") => watch_on += n,
                Some(other) => panic!("a reservation under the condition {other}"),
            }
        }
        assert_eq!(always, RECONCILER_RESERVED);
        assert_eq!(watch_on, WATCHER_RESERVED);
        let on = Reservations::from_parameters(|p| (p == "TeamsToGenesys").then(|| "on".into()));
        assert_eq!(on.total(), 52);
        let off = Reservations::from_parameters(|_| None);
        assert_eq!(off.total(), 51);
    }

    #[test]
    fn a_stack_that_can_only_be_deleted_or_waited_for_is_judged_so() {
        let state = |s: &str| StackSoFar {
            status: Some(s.into()),
            held: 0,
        };
        assert!(judge_stack("s", &StackSoFar::default()).is_ok());
        let rolled = judge_stack("s", &state("ROLLBACK_COMPLETE")).unwrap();
        assert!(rolled.contains("deletes it"), "{rolled}");
        assert!(judge_stack("s", &state("UPDATE_ROLLBACK_COMPLETE")).is_ok());
        let stuck = judge_stack("s", &state("UPDATE_ROLLBACK_FAILED")).unwrap_err();
        assert!(
            stuck.fix.contains("continue-update-rollback"),
            "{}",
            stuck.fix
        );
        let busy = judge_stack("s", &state("UPDATE_IN_PROGRESS")).unwrap_err();
        assert!(busy.fix.starts_with("wait"), "{}", busy.fix);
        let failed = judge_stack("s", &state("DELETE_FAILED")).unwrap_err();
        assert!(failed.fix.contains("delete-stack"), "{}", failed.fix);
    }
}
