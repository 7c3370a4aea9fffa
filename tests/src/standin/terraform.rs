//! The stand-in `terraform` for infra/azure and infra/genesys: `version`, `init`,
//! `workspace select -or-create=true`, `apply [-target=…]`, `output -raw`, `state list`,
//! `state rm`, `destroy [-target=…]`. The state is a JSON file per module and workspace: the
//! managed resources (read from the module's `.tf` files, tests/src/standin/module.rs), the
//! outputs and the `TF_VAR_*` of the last apply. The AWS resources (the secrets, the partner
//! event source) are made in moto, the rest is pretended. An apply with nothing to do says so,
//! as Terraform does ("0 added, 0 changed"). `output -raw` of a sensitive output is refused:
//! the driver must never read one.
//!
//! Held to what the real tools do where it matters to the driver: a resource removed from the
//! module is destroyed by the next apply unless a `removed` block forgets it; a destroy deletes
//! every resource in the state, an adopted one (`use_existing`) included, which the stand-in
//! refuses to play (it would delete Microsoft Graph's own service principal); `-target`
//! takes the resources that depend on the target with it.

use super::module::{self, Module};
use super::{Ended, endpoint, failed, ok, read_state, write_state};
use crate::aws;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The outputs of infra/*/outputs.tf that are `sensitive` (none left since the secrets go to
/// Secrets Manager inside Terraform; the names of the old ones are refused all the same).
const SENSITIVE: [&str; 4] = [
    "client_secret",
    "azure_secret_json",
    "oauth_client_secret",
    "genesys_secret_json",
];

pub(super) struct Call<'a> {
    pub module: String,
    args: &'a [String],
}

impl Call<'_> {
    fn workspace(&self) -> String {
        std::env::var("TF_WORKSPACE").unwrap_or_else(|_| {
            read_state(&format!("{}.workspace", self.module))["name"]
                .as_str()
                .unwrap_or("default")
                .to_owned()
        })
    }

    pub fn state_name(&self) -> String {
        format!("{}.{}.json", self.module, self.workspace())
    }

    fn has(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }

    pub fn targets(&self) -> Vec<&str> {
        self.args
            .iter()
            .filter_map(|a| a.strip_prefix("-target="))
            .collect()
    }

    /// The module's `.tf` files, as Terraform reads them (`-chdir`, from the repository).
    pub fn module(&self) -> Module {
        module::read(&std::path::Path::new("infra").join(&self.module))
    }
}

pub(super) async fn run(args: &[String]) -> Ended {
    let module = args
        .iter()
        .find_map(|a| a.strip_prefix("-chdir="))
        .map(|dir| dir.rsplit('/').next().unwrap_or(dir).to_owned())
        .unwrap_or_default();
    let call = Call { module, args };
    let command: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    match command.as_slice() {
        ["version"] => {
            say!("{}", json!({"terraform_version": "1.9.8"}));
            ok(false)
        }
        ["init"] => {
            say!("Terraform has been successfully initialized!");
            ok(false)
        }
        ["workspace", "select", name] => select_workspace(&call, name),
        ["apply"] => apply(&call).await,
        ["output", name] if call.has("-raw") => output(&call, name),
        ["state", "list"] => state_list(&call),
        ["state", "rm", addresses @ ..] => state_rm(&call, addresses),
        ["destroy"] => destroy(&call).await,
        _ => failed(&format!("stand-in terraform: {args:?} is not played")),
    }
}

fn select_workspace(call: &Call<'_>, name: &str) -> Ended {
    if std::env::var_os("TF_WORKSPACE").is_some() {
        return failed(
            "Error: The selected workspace is currently overridden using the TF_WORKSPACE environment variable.",
        );
    }
    if !call.has("-or-create=true")
        && read_state(&format!("{}.{name}.json", call.module)) == json!({})
    {
        return failed(&format!("Workspace \"{name}\" doesn't exist."));
    }
    write_state(
        &format!("{}.workspace", call.module),
        &json!({"name": name}),
    );
    say!("Switched to workspace \"{name}\".");
    ok(false)
}

pub(super) fn var(name: &str) -> Result<String, Ended> {
    std::env::var(format!("TF_VAR_{name}"))
        .map_err(|_| failed(&format!("Error: No value for required variable {name}")))
}

/// What an apply or a destroy did, as Terraform counts it.
#[derive(Default)]
pub(super) struct Counts {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
}

async fn apply(call: &Call<'_>) -> Ended {
    let mut state = read_state(&call.state_name());
    let mut counts = Counts::default();
    if let Err(ended) = settle_removed(call, &mut state, &mut counts).await {
        return ended;
    }
    let applied = match call.module.as_str() {
        "azure" => super::tf_modules::apply_azure(call, &mut state, &mut counts).await,
        "genesys" => super::tf_modules::apply_genesys(call, &mut state, &mut counts).await,
        other => Err(failed(&format!("stand-in terraform: no module {other}"))),
    };
    if applied.is_ok() {
        variables_applied(call, &mut state, &mut counts);
    }
    write_state(&call.state_name(), &state);
    match applied {
        Ok(()) => {
            say!(
                "Apply complete! Resources: {} added, {} changed, {} destroyed.",
                counts.added,
                counts.changed,
                counts.destroyed
            );
            ok(counts.added + counts.changed + counts.destroyed > 0)
        }
        Err(ended) => ended,
    }
}

/// The `TF_VAR_*` of this call (name, value), sorted.
fn given_variables() -> Value {
    let mut given: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("TF_VAR_"))
        .collect();
    given.sort();
    json!(given)
}

/// Another value for a variable is a change Terraform applies in place to the resources that
/// use it (a role's permissions, a name): counted as one changed resource, as the real plan
/// would show at least one. The variables of a full apply are kept for the next; a targeted
/// apply (the role alone) is compared but keeps nothing, so the full apply after it compares
/// with the last full one too.
fn variables_applied(call: &Call<'_>, state: &mut Value, counts: &mut Counts) {
    let given = given_variables();
    let before = &state["variables"];
    if !before.is_null() && *before != given {
        counts.changed += 1;
    }
    if call.targets().is_empty() {
        state["variables"] = given;
    }
}

/// The addresses in the state.
pub(super) fn addresses(state: &Value) -> Vec<String> {
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["address"].as_str().map(str::to_owned))
        .collect()
}

/// Adds a resource to the state unless it is there; whether it was added.
pub(super) fn add(state: &mut Value, resource: &module::Resource) -> bool {
    if addresses(state).contains(&resource.address) {
        return false;
    }
    let entry = json!({"address": resource.address, "adopted": resource.adopts_existing});
    match state["resources"].as_array_mut() {
        Some(list) => list.push(entry),
        None => state["resources"] = json!([entry]),
    }
    true
}

fn remove(state: &mut Value, address: &str) {
    if let Some(list) = state["resources"].as_array_mut() {
        list.retain(|r| r["address"] != json!(address));
    }
}

/// Resources in the state the module no longer declares: forgotten when a `removed` block
/// says so, destroyed otherwise (as `terraform apply` plans them).
async fn settle_removed(
    call: &Call<'_>,
    state: &mut Value,
    counts: &mut Counts,
) -> Result<(), Ended> {
    let module = call.module();
    let declared: BTreeSet<String> = module.resources.iter().map(|r| r.address.clone()).collect();
    let gone: Vec<String> = addresses(state)
        .into_iter()
        .filter(|a| !declared.contains(a))
        .collect();
    let (forget, destroy): (Vec<String>, Vec<String>) =
        gone.into_iter().partition(|a| module.forgotten.contains(a));
    for address in forget {
        say!("{address}: Removing from state (removed block, destroy = false)");
        remove(state, &address);
    }
    destroy_each(state, &destroy).await?;
    counts.destroyed += destroy.len();
    Ok(())
}

fn output(call: &Call<'_>, name: &str) -> Ended {
    if SENSITIVE.contains(&name) {
        return failed(&format!(
            "stand-in terraform: the driver asked for the sensitive output {name}"
        ));
    }
    match read_state(&call.state_name())["outputs"][name].as_str() {
        Some(value) => {
            {
                use std::io::Write as _;
                let _ = write!(std::io::stdout(), "{value}");
            }
            ok(false)
        }
        None => failed(&format!("Error: Output \"{name}\" not found")),
    }
}

fn state_list(call: &Call<'_>) -> Ended {
    for address in addresses(&read_state(&call.state_name())) {
        say!("{address}");
    }
    ok(false)
}

/// `terraform state rm`: forgets, destroys nothing; an address not in the state is an error.
fn state_rm(call: &Call<'_>, wanted: &[&str]) -> Ended {
    let mut state = read_state(&call.state_name());
    let present = addresses(&state);
    if let Some(missing) = wanted.iter().find(|a| !present.iter().any(|p| p == *a)) {
        return failed(&format!(
            "Error: Invalid target address\n\nNo matching objects found for {missing}."
        ));
    }
    for address in wanted {
        remove(&mut state, address);
        say!("Removed {address}");
    }
    write_state(&call.state_name(), &state);
    say!(
        "Successfully removed {} resource instance(s).",
        wanted.len()
    );
    ok(true)
}

/// `destroy`: everything in the state, or the targets and what depends on them.
async fn destroy(call: &Call<'_>) -> Ended {
    let mut state = read_state(&call.state_name());
    let all = addresses(&state);
    let targets = call.targets();
    let doomed: Vec<String> = if targets.is_empty() {
        all
    } else {
        let with_dependents = dependents_of(&call.module(), &targets);
        all.into_iter()
            .filter(|a| with_dependents.contains(a))
            .collect()
    };
    let result = destroy_each(&mut state, &doomed).await;
    if targets.is_empty() && result.is_ok() {
        state = json!({});
    }
    write_state(&call.state_name(), &state);
    if let Err(ended) = result {
        return ended;
    }
    say!("Destroy complete! Resources: {} destroyed.", doomed.len());
    ok(!doomed.is_empty())
}

/// The targets and every resource whose block refers to one of them, again and again.
fn dependents_of(module: &Module, targets: &[&str]) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = targets.iter().map(|t| (*t).to_owned()).collect();
    loop {
        let before = found.len();
        for resource in &module.resources {
            if found.iter().any(|f| resource.refers_to(f)) {
                found.insert(resource.address.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// Destroys each address (dependents first: the reverse of the state's order), refusing an
/// adopted object before touching anything.
async fn destroy_each(state: &mut Value, doomed: &[String]) -> Result<(), Ended> {
    let adopted: Vec<String> = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["adopted"] == json!(true))
        .filter_map(|r| r["address"].as_str().map(str::to_owned))
        .filter(|a| doomed.contains(a))
        .collect();
    if let Some(address) = adopted.first() {
        return Err(failed(&format!(
            "Error: deleting {address}: stand-in terraform refuses to destroy an object that existed before Terraform adopted it (use_existing = true): the real provider deletes it, and for azuread_service_principal that is the tenant's own service principal of the application (Microsoft Graph)"
        )));
    }
    for address in doomed.iter().rev() {
        super::tf_modules::destroy_resource(state, address).await?;
        say!("{address}: Destruction complete");
        remove(state, address);
    }
    Ok(())
}

/// The endpoint-bound clients the modules' AWS resources live in.
pub(super) async fn sdk() -> aws_config::SdkConfig {
    aws::sdk_config(&endpoint()).await
}
