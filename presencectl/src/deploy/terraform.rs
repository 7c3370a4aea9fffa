//! The two Terraform modules, run without a question: `init`, the stack's workspace (so two
//! deployments from one clone keep two states), `apply -auto-approve` with the variables in
//! `TF_VAR_*` (never a tfvars file), and the non-sensitive outputs read one by one. The client
//! secrets never leave Terraform: its AWS provider writes them to Secrets Manager.

use super::Problem;
use super::command::{Runner, ToolFailure};

/// One of the repository's Terraform root modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    Azure,
    Genesys,
}

impl Module {
    pub fn dir(self) -> &'static str {
        match self {
            Module::Azure => "infra/azure",
            Module::Genesys => "infra/genesys",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Module::Azure => "azure",
            Module::Genesys => "genesys",
        }
    }

    /// Resources an older version of the module managed and this one only reads: forgotten
    /// from the state, never destroyed. Microsoft Graph's own service principal, once adopted
    /// with `use_existing`, which `terraform destroy` would delete (infra/azure/main.tf).
    fn forgotten(self) -> &'static [&'static str] {
        match self {
            Module::Azure => &["azuread_service_principal.msgraph"],
            Module::Genesys => &[],
        }
    }
}

/// A module with the variables of this deployment, in the stack's workspace.
pub struct Terraform<'a> {
    pub runner: &'a Runner,
    pub module: Module,
    pub workspace: &'a str,
    /// `(variable, value)`: handed over as `TF_VAR_<variable>`.
    pub variables: Vec<(&'static str, String)>,
}

impl Terraform<'_> {
    fn chdir(&self) -> String {
        format!("-chdir={}", self.module.dir())
    }

    /// `TF_VAR_*`, and the stack's workspace (`TF_WORKSPACE`) for every command but `init`
    /// and `workspace select`, which refuse it.
    fn env(&self, in_workspace: bool) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .variables
            .iter()
            .map(|(name, value)| (format!("TF_VAR_{name}"), value.clone()))
            .collect();
        env.push(("TF_IN_AUTOMATION".into(), "1".into()));
        env.push(("TF_INPUT".into(), "0".into()));
        if in_workspace {
            env.push(("TF_WORKSPACE".into(), self.workspace.to_owned()));
        }
        env
    }

    async fn run(&self, log: &str, args: &[&str]) -> Result<(), Problem> {
        let mut all = vec![self.chdir()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let in_workspace = !matches!(args.first(), Some(&"init" | &"workspace"));
        self.runner
            .run(log, "terraform", &all, &self.env(in_workspace))
            .await
            .map_err(|failure| self.failed(&failure))
    }

    fn failed(&self, failure: &ToolFailure) -> Problem {
        let mut what = failure.to_string();
        if let Some(last) = failure.tail.iter().rev().find(|l| l.contains("Error")) {
            what.push_str(&format!(": {}", last.trim()));
        }
        Problem {
            what,
            fix: format!(
                "read the error in the log ({}): a permission of the signed-in identity, or a resource changed by hand, are the usual causes",
                failure
                    .log
                    .as_deref()
                    .unwrap_or(std::path::Path::new("(not logged)"))
                    .display()
            ),
        }
    }

    /// `init`, the stack's workspace (created on the first run), and the state rid of what
    /// the module no longer manages ([`Module::forgotten`]).
    pub async fn prepare(&self) -> Result<(), Problem> {
        let name = self.module.name();
        self.run(
            &format!("{name}-init"),
            &["init", "-input=false", "-no-color"],
        )
        .await?;
        self.run(
            &format!("{name}-workspace"),
            &["workspace", "select", "-or-create=true", self.workspace],
        )
        .await?;
        self.forget().await
    }

    /// `terraform state rm` of each [`Module::forgotten`] resource the state still holds
    /// (`state list` first: `state rm` of an address not in the state is an error).
    async fn forget(&self) -> Result<(), Problem> {
        let forgotten = self.module.forgotten();
        if forgotten.is_empty() {
            return Ok(());
        }
        let args = vec![self.chdir(), "state".into(), "list".into()];
        // No state yet (a first run) lists nothing, or fails: nothing to forget either way.
        let listed = self
            .runner
            .capture("terraform", &args, &self.env(true))
            .await
            .unwrap_or_default();
        for address in forgotten {
            if listed.lines().any(|line| line.trim() == *address) {
                println!(
                    "   forgetting {address} (an older infra/{} managed it; it is never destroyed)",
                    self.module.name()
                );
                let log = format!("{}-state-rm", self.module.name());
                self.run(&log, &["state", "rm", address]).await?;
            }
        }
        Ok(())
    }

    /// `apply -auto-approve`, of everything or of one resource (`-target`).
    pub async fn apply(&self, target: Option<&str>) -> Result<(), Problem> {
        let target = target.map(|t| format!("-target={t}"));
        let mut args = vec!["apply", "-input=false", "-auto-approve", "-no-color"];
        args.extend(target.as_deref());
        let log = match target {
            Some(_) => format!("{}-apply-target", self.module.name()),
            None => format!("{}-apply", self.module.name()),
        };
        self.run(&log, &args).await
    }

    /// `destroy -auto-approve`: of everything, or of the `targets` and what depends on them.
    pub async fn destroy(&self, targets: &[&str]) -> Result<(), Problem> {
        let targets: Vec<String> = targets.iter().map(|t| format!("-target={t}")).collect();
        let mut args = vec!["destroy", "-input=false", "-auto-approve", "-no-color"];
        args.extend(targets.iter().map(String::as_str));
        let log = match targets.is_empty() {
            true => format!("{}-destroy", self.module.name()),
            false => format!("{}-destroy-target", self.module.name()),
        };
        self.run(&log, &args).await
    }

    /// One output, which must not be sensitive (the driver never reads a secret).
    pub async fn output(&self, name: &str) -> Result<String, Problem> {
        let args = vec![self.chdir(), "output".into(), "-raw".into(), name.into()];
        match self
            .runner
            .capture("terraform", &args, &self.env(true))
            .await
        {
            Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
            Ok(_) => Err(self.no_output(name, "is empty".into())),
            Err(failure) => Err(self.no_output(name, failure.tail.join(" "))),
        }
    }

    fn no_output(&self, name: &str, why: String) -> Problem {
        Problem {
            what: format!(
                "the output {name} of {} (workspace {}) {why}",
                self.module.dir(),
                self.workspace
            ),
            fix: "run the deployment again from this step (it applies the module)".into(),
        }
    }
}
