//! Finding the deployment: from a CloudFormation stack (its outputs name the resources, and the
//! event function's own environment gives the configuration), or from the environment variables
//! the functions read.

use crate::aws_error;
use presence_core::config::{Config, ConfigError};
use std::collections::HashMap;

/// The resources a stack's outputs name (template.yaml, `Outputs`).
#[derive(Clone, Debug)]
pub struct Stack {
    pub name: String,
    pub function_arn: String,
    pub reconcile_function_arn: String,
    pub log_group: String,
    pub state_table: String,
    pub azure_secret_arn: String,
    pub genesys_secret_arn: String,
    pub failure_queue_url: String,
    pub dead_letter_queue_url: String,
    pub event_bus_name: String,
    pub alarm_topic_arn: String,
    /// The CloudWatch dashboard (a stack from before the dashboard has none).
    pub dashboard_name: Option<String>,
    /// presence-watch, with `TeamsToGenesys=on` only.
    pub watch_function_arn: Option<String>,
}

/// How to reach AWS: the standard chain (environment, `~/.aws`, role), or these.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// A named profile of `~/.aws/config` (`--profile`, as the AWS CLI).
    pub profile: Option<String>,
    /// The region (`--region`), when not the profile's or `AWS_REGION`.
    pub region: Option<String>,
}

/// Where the tool found the deployment, and its configuration.
pub struct Deployment {
    pub aws: aws_config::SdkConfig,
    /// With `--stack`: the stack's resources.
    pub stack: Option<Stack>,
    /// The functions' configuration, as the event function reads it; a bad one is kept for
    /// `doctor` to report.
    pub config: Result<Config, ConfigError>,
    /// The reconciler's configuration (its function sets `DRIFT_POLICY` and the reconciler's
    /// shares): what `sync` and the verdict of `status` use.
    pub reconcile_config: Result<Config, ConfigError>,
    /// The variables it was read from (the event function's environment, or this process's).
    pub variables: HashMap<String, String>,
}

/// Why the deployment could not be found; each ends with its fix.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("CloudFormation: cannot read stack {stack:?}: {detail} — fix: {fix}")]
    Stack {
        stack: String,
        detail: String,
        fix: String,
    },
    #[error(
        "CloudFormation: stack {stack:?} has no output {output}: it is not a presence-sync stack (deployed from template.yaml) — fix: give --stack the stack make deploy made (presence-sync unless you named it)"
    )]
    MissingOutput { stack: String, output: &'static str },
    #[error("Lambda: cannot read the configuration of function {function}: {detail} — fix: {fix}")]
    Function {
        function: String,
        detail: String,
        fix: String,
    },
}

impl Deployment {
    /// The deployment of `stack`, or (without one) the one the process environment describes;
    /// AWS reached as `account` says (a profile, a region, or the standard chain).
    pub async fn find(stack: Option<&str>, account: &Account) -> Result<Deployment, FindError> {
        let aws = load_aws(account).await;
        let (stack, variables, reconcile_variables) = match stack {
            Some(name) => {
                let stack = read_stack(&aws, name).await?;
                let variables = function_environment(&aws, &stack.function_arn).await?;
                let reconcile = function_environment(&aws, &stack.reconcile_function_arn).await?;
                (Some(stack), variables, reconcile)
            }
            None => {
                let variables: HashMap<String, String> = std::env::vars().collect();
                (None, variables.clone(), variables)
            }
        };
        let config = Config::from_lookup(|variable| variables.get(variable).cloned());
        let reconcile_config =
            Config::from_lookup(|variable| reconcile_variables.get(variable).cloned());
        Ok(Deployment {
            aws,
            stack,
            config,
            reconcile_config,
            variables,
        })
    }

    /// The event function's configuration, or the error naming the variable at fault.
    pub fn config(&self) -> Result<&Config, String> {
        self.explained(&self.config, "event function")
    }

    /// The reconciler's configuration, or the error naming the variable at fault.
    pub fn reconcile_config(&self) -> Result<&Config, String> {
        self.explained(&self.reconcile_config, "reconcile function")
    }

    fn explained<'a>(
        &self,
        config: &'a Result<Config, ConfigError>,
        function: &str,
    ) -> Result<&'a Config, String> {
        config.as_ref().map_err(|error| match &self.stack {
            Some(stack) => format!(
                "the {function} of stack {} has an invalid configuration: {error} — fix: correct the stack parameter that sets {} and make deploy",
                stack.name, error.variable
            ),
            None => format!(
                "{error} — fix: give --stack (the deployment's stack: presence-sync unless you named it), or set the variables the functions read"
            ),
        })
    }
}

/// An `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`) set but empty makes the AWS SDK
/// panic ("URL was unset"): refused first, with its fix.
pub fn check_endpoint_variables() -> Result<(), String> {
    let empty: Vec<String> = std::env::vars()
        .filter(|(name, value)| name.starts_with("AWS_ENDPOINT_URL") && value.trim().is_empty())
        .map(|(name, _)| name)
        .collect();
    match empty.as_slice() {
        [] => Ok(()),
        names => Err(crate::output::with_fix(
            format!("{} set but empty", names.join(", ")),
            &format!("unset {} (or give it a URL)", names.join(" ")),
        )),
    }
}

/// The AWS configuration `account` names: a profile, a region, or the standard chain.
pub async fn load_aws(account: &Account) -> aws_config::SdkConfig {
    let mut loader = presence_core::app::aws_loader(presence_core::policy::HTTP_CONNECT);
    if let Some(profile) = &account.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &account.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    loader.load().await
}

async fn read_stack(aws: &aws_config::SdkConfig, name: &str) -> Result<Stack, FindError> {
    let client = aws_sdk_cloudformation::Client::new(aws);
    let answer = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|error| {
            let detail = aws_error::describe(&error);
            let fix = aws_error::fix_for(&detail).map_or_else(
                || "check the stack's name and region (aws cloudformation describe-stacks), or deploy it: make deploy".to_owned(),
                str::to_owned,
            );
            FindError::Stack { stack: name.to_owned(), detail, fix }
        })?;
    let outputs: HashMap<String, String> = answer
        .stacks()
        .first()
        .map(|stack| stack.outputs())
        .unwrap_or_default()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    let output = |key: &'static str| {
        outputs
            .get(key)
            .filter(|value| !value.trim().is_empty())
            .cloned()
            .ok_or(FindError::MissingOutput {
                stack: name.to_owned(),
                output: key,
            })
    };
    Ok(Stack {
        name: name.to_owned(),
        function_arn: output("FunctionArn")?,
        reconcile_function_arn: output("ReconcileFunctionArn")?,
        log_group: output("FunctionLogGroupName")?,
        state_table: output("StateTableName")?,
        azure_secret_arn: output("AzureSecretArn")?,
        genesys_secret_arn: output("GenesysSecretArn")?,
        failure_queue_url: output("FailureQueueUrl")?,
        dead_letter_queue_url: output("DeadLetterQueueUrl")?,
        event_bus_name: output("EventBusName")?,
        alarm_topic_arn: output("AlarmTopicArn")?,
        dashboard_name: output("DashboardName").ok(),
        watch_function_arn: output("WatchFunctionArn").ok(),
    })
}

/// A function's environment variables (its configuration).
pub(crate) async fn function_environment(
    aws: &aws_config::SdkConfig,
    function: &str,
) -> Result<HashMap<String, String>, FindError> {
    let client = aws_sdk_lambda::Client::new(aws);
    let answer = client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|error| {
            let detail = aws_error::describe(&error);
            let fix = aws_error::fix_for(&detail).map_or_else(
                || "let this principal call lambda:GetFunctionConfiguration (README.md, the permissions presencectl needs)".to_owned(),
                str::to_owned,
            );
            FindError::Function { function: function.to_owned(), detail, fix }
        })?;
    Ok(answer
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default())
}
