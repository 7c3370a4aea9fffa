//! The deployment driver (`presencectl deploy`, `presencectl destroy`), the built binary,
//! without the clouds: AWS is moto (through a proxy, for canned answers), Entra ID and Genesys
//! Cloud are the contract fakes, and Terraform, the Azure CLI and the SAM CLI are stand-ins
//! that record what they were asked (tests/src/standin: the secrets, the partner event source
//! and the stack's resources made in moto as the real tools would). What this cannot prove:
//! that the real providers, CloudFormation and Genesys accept what is asked of them.

use presence_sync_tests::aws_proxy::AwsProxy;
use presence_sync_tests::fake_genesys::GenesysEndpoint;
use presence_sync_tests::standin::{self, Record};
use presence_sync_tests::world::{
    AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET, TENANT, World,
};
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The deployment client the operator creates by hand and exports.
const ADMIN_ID: &str = "d3c0ffee-0000-4000-8000-00000000ad01";
const ADMIN_SECRET: &str = "deployment-CLIENT-secret-0123456789";

/// One deployment's world: the fakes, moto behind a proxy, a copy of the repository's
/// deployment code to run in, the stand-ins and their records.
struct Drive {
    world: World,
    proxy: AwsProxy,
    moto: String,
    root: PathBuf,
    stack: String,
}

/// What one run of the driver printed.
struct Run {
    code: i32,
    out: String,
}

impl Drive {
    async fn start() -> Drive {
        let moto = presence_sync_tests::moto::shared().await.to_owned();
        let proxy = AwsProxy::start(&moto).await;
        let world = World::start_on(&proxy.endpoint()).await;
        world.genesys.register_admin_client(ADMIN_ID, ADMIN_SECRET);
        let root = std::env::temp_dir().join(format!("deploy-{}", uuid::Uuid::new_v4().simple()));
        let repo = presence_sync_tests::moto::repo_root();
        let modules = ["infra/azure", "infra/genesys"]
            .into_iter()
            .flat_map(|dir| {
                std::fs::read_dir(repo.join(dir))
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "tf"))
                    .map(move |p| format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()))
            });
        let files = ["template.yaml".to_owned(), "samconfig.toml".to_owned()];
        for file in files.into_iter().chain(modules) {
            let to = root.join("repo").join(&file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(repo.join(&file), &to).unwrap();
        }
        standin::install(&root.join("bin"));
        let stack = presence_sync_tests::aws::unique_name("ps");
        Drive {
            world,
            proxy,
            moto,
            root,
            stack,
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let world = &self.world;
        let function_env = json!({
            "GENESYS_LOGIN_URL": world.genesys.login_url(),
            "GENESYS_API_URL": world.genesys.api_url(),
            "GRAPH_API_URL": world.ms.graph_url(),
            "AZURE_LOGIN_URL": world.ms.login_url(),
        });
        let mut env = presence_sync_tests::aws::env_for(&self.proxy.endpoint());
        env.extend(
            [
                ("AWS_ENDPOINT_URL", self.proxy.endpoint()),
                ("PATH", format!("{}:/usr/bin:/bin", self.root.join("bin").display())),
                ("HOME", self.root.display().to_string()),
                ("GENESYSCLOUD_OAUTHCLIENT_ID", ADMIN_ID.into()),
                ("GENESYSCLOUD_OAUTHCLIENT_SECRET", ADMIN_SECRET.into()),
                ("GENESYS_LOGIN_URL", world.genesys.login_url()),
                ("GENESYS_API_URL", world.genesys.api_url()),
                ("GRAPH_API_URL", world.ms.graph_url()),
                ("AZURE_LOGIN_URL", world.ms.login_url()),
                ("STANDIN_MOTO", self.moto.clone()),
                ("STANDIN_LOG", self.records_path().display().to_string()),
                ("STANDIN_STATE", self.root.join("standin-state").display().to_string()),
                ("STANDIN_AZURE_SECRET", json!({"tenant_id": TENANT, "client_id": AZURE_CLIENT_ID, "client_secret": AZURE_CLIENT_SECRET}).to_string()),
                ("STANDIN_GENESYS_SECRET", json!({"client_id": GENESYS_CLIENT_ID, "client_secret": GENESYS_CLIENT_SECRET}).to_string()),
                ("STANDIN_FUNCTION_ENV", function_env.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    }

    /// The whole output of one tool run, as the driver logged it (`<log>.log`).
    fn tool_log(&self, log: &str) -> String {
        let path = self.root.join("state").join(&self.stack).join("logs");
        std::fs::read_to_string(path.join(format!("{log}.log"))).unwrap_or_default()
    }

    /// The stand-in Terraform's state of one module in the stack's workspace.
    fn module_state(&self, module: &str) -> (PathBuf, Value) {
        let path = self
            .root
            .join("standin-state")
            .join(format!("{module}.{}.json", self.stack));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        (path, serde_json::from_str(&text).unwrap_or(json!({})))
    }

    fn records_path(&self) -> PathBuf {
        self.root.join("standin.jsonl")
    }

    fn records(&self) -> Vec<Record> {
        standin::records(&self.records_path())
    }

    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut command =
            Command::new(presence_sync_tests::runtime_api::binary_path("presencectl"));
        command
            .env_clear()
            .envs(self.env())
            .envs(extra.iter().map(|(k, v)| (*k, *v)))
            .current_dir(self.root.join("repo"))
            .args(["--stack", &self.stack])
            .args(args)
            .arg("--state-dir")
            .arg(self.root.join("state"))
            .stdin(Stdio::null());
        command
    }

    /// Runs `presencectl --stack <stack> <args> --state-dir …` to its end.
    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let output = self
            .command(args, extra)
            .output()
            .expect("presencectl runs");
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            out,
        };
        self.assert_no_secret(&run.out);
        run
    }

    /// Runs `presencectl … <args>` and kills it (SIGKILL) as soon as it says `step` is done.
    fn run_killed(&self, args: &[&str], step: &str) -> String {
        self.run_killed_when(args, &format!("✓ {step} "))
    }

    /// Runs `presencectl … <args>` and kills it (SIGKILL) as soon as a line of its output
    /// starts with `said` (leading spaces ignored): inside a step, at a line it prints.
    fn run_killed_when(&self, args: &[&str], said: &str) -> String {
        let mut child = self
            .command(args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("presencectl runs");
        // Its error output too, for the secret scan (read aside: a full pipe would stall it).
        let mut stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let mut seen = String::new();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        for line in stdout.lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.trim_start().starts_with(said) {
                child.kill().expect("kill");
                break;
            }
        }
        let _ = child.wait();
        let errors = errors.join().unwrap_or_default();
        assert!(seen.contains(said), "never said {said:?}:\n{seen}");
        self.assert_no_secret(&format!("{seen}{errors}"));
        seen
    }

    /// No client secret and no token the fakes issued in `text`, in the driver's logs or in
    /// what the stand-ins were asked (their arguments and TF_VAR_ variables).
    fn assert_no_secret(&self, text: &str) {
        // The suite's log scan looks through it again, with every secret of the suite.
        presence_sync_tests::logs::save_process_output(None, text.lines().map(str::to_owned));
        let mut needles = vec![
            AZURE_CLIENT_SECRET.to_owned(),
            GENESYS_CLIENT_SECRET.to_owned(),
            ADMIN_SECRET.to_owned(),
        ];
        needles.extend(
            self.world
                .ms
                .issued_tokens()
                .into_iter()
                .map(|t| t.access_token),
        );
        needles.extend(
            self.world
                .genesys
                .issued_tokens()
                .into_iter()
                .map(|t| t.access_token),
        );
        let mut haystacks = vec![("output".to_owned(), text.to_owned())];
        let logs = self.root.join("state").join(&self.stack).join("logs");
        for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            haystacks.push((entry.path().display().to_string(), text));
        }
        haystacks.push((
            "stand-in records".into(),
            std::fs::read_to_string(self.records_path()).unwrap_or_default(),
        ));
        for (name, haystack) in &haystacks {
            for needle in &needles {
                assert!(
                    !haystack.contains(needle.as_str()),
                    "a secret or token in {name}:\n{haystack}"
                );
            }
        }
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        presence_sync_tests::aws::sdk_config(&self.moto).await
    }

    /// The stack's outputs (panics when there is no stack).
    async fn outputs(&self) -> std::collections::HashMap<String, String> {
        let stacks = aws_sdk_cloudformation::Client::new(&self.sdk().await)
            .describe_stacks()
            .stack_name(&self.stack)
            .send()
            .await
            .expect("the stack exists");
        stacks.stacks()[0]
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_owned(),
                    o.output_value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    async fn stack_exists(&self) -> bool {
        aws_sdk_cloudformation::Client::new(&self.sdk().await)
            .describe_stacks()
            .stack_name(&self.stack)
            .send()
            .await
            .is_ok_and(|s| {
                s.stacks().iter().any(|s| {
                    s.stack_status()
                        .is_some_and(|st| st.as_str() != "DELETE_COMPLETE")
                })
            })
    }

    /// The state of the rule that feeds the event function.
    async fn rule_state(&self) -> String {
        let outputs = self.outputs().await;
        let events = aws_sdk_eventbridge::Client::new(&self.sdk().await);
        let rules = events
            .list_rule_names_by_target()
            .target_arn(&outputs["FunctionArn"])
            .event_bus_name(&outputs["EventBusName"])
            .send()
            .await
            .expect("ListRuleNamesByTarget");
        let rule = events
            .describe_rule()
            .name(&rules.rule_names()[0])
            .event_bus_name(&outputs["EventBusName"])
            .send()
            .await
            .expect("DescribeRule");
        rule.state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default()
    }

    /// Pauses the rule as infra/README.md says (`aws events disable-rule`).
    async fn pause_rule(&self) {
        let outputs = self.outputs().await;
        let events = aws_sdk_eventbridge::Client::new(&self.sdk().await);
        let rules = events
            .list_rule_names_by_target()
            .target_arn(&outputs["FunctionArn"])
            .event_bus_name(&outputs["EventBusName"])
            .send()
            .await
            .expect("ListRuleNamesByTarget");
        events
            .disable_rule()
            .name(&rules.rule_names()[0])
            .event_bus_name(&outputs["EventBusName"])
            .send()
            .await
            .expect("DisableRule");
    }

    /// Versions of a secret (a write adds one).
    async fn secret_versions(&self, arn: &str) -> usize {
        aws_sdk_secretsmanager::Client::new(&self.sdk().await)
            .list_secret_version_ids()
            .secret_id(arn)
            .send()
            .await
            .expect("ListSecretVersionIds")
            .versions()
            .len()
    }

    /// Grants and reads of the deployment client's roles.
    fn grants(&self) -> usize {
        self.world
            .genesys
            .calls()
            .iter()
            .filter(|c| c.kind == GenesysEndpoint::Admin && c.method == axum::http::Method::POST)
            .count()
    }
}

impl Drop for Drive {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The records of one tool whose arguments contain every word.
fn calls<'a>(records: &'a [Record], tool: &str, words: &[&str]) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.tool == tool && words.iter().all(|w| r.args.iter().any(|a| a.contains(w))))
        .collect()
}

fn position(records: &[Record], tool: &str, words: &[&str]) -> usize {
    records
        .iter()
        .position(|r| r.tool == tool && words.iter().all(|w| r.args.iter().any(|a| a.contains(w))))
        .unwrap_or_else(|| panic!("no {tool} {words:?} in {records:#?}"))
}

/// The `--parameter-overrides` of a `sam deploy` record.
fn parameters(record: &Record) -> Value {
    let at = record
        .args
        .iter()
        .position(|a| a == "--parameter-overrides")
        .expect("overrides");
    json!(standin::parse_overrides(&record.args[at + 1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_from_zero_then_again_changes_nothing_and_no_secret_reaches_output_logs_or_tools() {
    let drive = Drive::start().await;
    drive.proxy.answer_once(
        "account-settings",
        200,
        "application/json",
        &account_settings(1000, 1000),
    );
    // The partner event source answers Pending twice: before the stack step (it exists, so
    // the stack may name it) and after it (the driver waits for Active).
    for _ in 0..2 {
        drive.proxy.answer_once(
            "DescribeEventSource",
            200,
            "application/x-amz-json-1.1",
            &json!({"Name": "aws.partner/genesys.com/cloud/x/y", "State": "PENDING"}).to_string(),
        );
    }
    let first = drive.run(
        &[
            "deploy",
            "--genesys-region",
            "https://login.mypurecloud.ie",
            "--alarm-email",
            "ops@example.com",
        ],
        &[],
    );
    assert_eq!(first.code, 0, "{}", first.out);
    for step in [
        "prerequisites",
        "settings",
        "azure",
        "genesys",
        "credentials",
        "build",
        "stack",
        "event-source",
        "doctor",
    ] {
        assert!(
            first.out.contains(&format!("✓ {step} (")),
            "no ✓ {step}:\n{}",
            first.out
        );
    }
    assert!(first.out.contains("exists (PENDING)"), "{}", first.out);
    assert!(first.out.contains("waiting for Active"), "{}", first.out);
    assert!(first.out.contains("is Active after"), "{}", first.out);
    assert!(
        first
            .out
            .contains("1000 unreserved of 1000; the functions reserve 51, leaving 949"),
        "{}",
        first.out
    );
    assert!(
        first
            .out
            .contains("presence-sync is deployed and doctor says it is syncing"),
        "{}",
        first.out
    );
    let dashboard = format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/",
        region = presence_sync_tests::aws::TEST_REGION
    );
    assert!(first.out.contains(&dashboard), "{}", first.out);

    // What was asked, in order: Entra ID, the role, its grant, the rest of Genesys, the
    // build, the stack; every Terraform variable handed over as TF_VAR_, none as a file.
    let records = drive.records();
    let azure = position(&records, "terraform", &["-chdir=infra/azure", "apply"]);
    let role = position(
        &records,
        "terraform",
        &[
            "-chdir=infra/genesys",
            "apply",
            "-target=genesyscloud_auth_role.scim_reader",
        ],
    );
    let genesys = records.len()
        - 1
        - records
            .iter()
            .rev()
            .position(|r| {
                r.tool == "terraform"
                    && r.args.iter().any(|a| a == "apply")
                    && r.args.iter().any(|a| a == "-chdir=infra/genesys")
            })
            .unwrap();
    let (build, deploy) = (
        position(&records, "sam", &["build"]),
        position(&records, "sam", &["deploy"]),
    );
    assert!(
        azure < role && role < genesys && genesys < build && build < deploy,
        "{records:#?}"
    );
    assert_eq!(
        drive.grants(),
        1,
        "the role granted to the deployment client once"
    );
    let role_id = drive.world.genesys.admin_client_roles(ADMIN_ID);
    assert_eq!(role_id.len(), 1, "{role_id:?}");
    assert_eq!(role_id[0].1, "*");
    let genesys_vars = &records[genesys].tf_vars;
    for (name, value) in [
        ("TF_VAR_genesys_org_region", "eu-west-1"),
        (
            "TF_VAR_aws_account_id",
            presence_sync_tests::aws::MOTO_ACCOUNT_ID,
        ),
        ("TF_VAR_aws_region", presence_sync_tests::aws::TEST_REGION),
        // One-way, every agent: the role reads users and nothing more.
        ("TF_VAR_two_way", "false"),
        ("TF_VAR_read_queues", "false"),
    ] {
        assert!(
            genesys_vars.contains(&(name.to_owned(), value.to_owned())),
            "{name}: {genesys_vars:?}"
        );
    }
    assert!(
        records.iter().all(|r| !r
            .args
            .iter()
            .any(|a| a.contains("tfvars") || a == "--guided")),
        "{records:#?}"
    );
    let sent = parameters(&records[deploy]);
    assert_eq!(sent["EventRuleState"], "ENABLED");
    assert_eq!(sent["GenesysEnvironment"], "mypurecloud.ie");
    assert_eq!(sent["AlarmEmail"], "ops@example.com");
    // No watcher, no client of its own.
    assert_eq!(sent["ExistingWatcherGenesysSecretArn"], "");

    // The deployment in moto: both secrets as Terraform wrote them, the rule enabled, the
    // functions told the Genesys region.
    let outputs = drive.outputs().await;
    assert_eq!(outputs["AzureSecretArn"], sent["ExistingAzureSecretArn"]);
    let azure_secret = presence_sync_tests::aws::get_secret(
        &presence_sync_tests::aws::secrets_client(&drive.moto).await,
        &outputs["AzureSecretArn"],
    )
    .await;
    assert_eq!(azure_secret["client_id"], AZURE_CLIENT_ID);
    assert_eq!(drive.rule_state().await, "ENABLED");
    let versions = (
        drive.secret_versions(&outputs["AzureSecretArn"]).await,
        drive.secret_versions(&outputs["GenesysSecretArn"]).await,
    );

    // Again, with nothing given: the same settings, and nothing changes.
    let before = records.len();
    let second = drive.run(&["deploy"], &[]);
    assert_eq!(second.code, 0, "{}", second.out);
    let again = &drive.records()[before..];
    assert!(
        again.iter().all(|r| !r.changed),
        "the second run changed something: {again:#?}"
    );
    assert_eq!(parameters(calls(again, "sam", &["deploy"])[0]), sent);
    // Terraform was given the same variables, apply for apply (the stand-in reports another
    // value as a change, as a plan would).
    let applies = |records: &[Record]| -> Vec<Record> {
        calls(records, "terraform", &["apply"])
            .into_iter()
            .map(|r| Record {
                changed: false,
                ..r.clone()
            })
            .collect()
    };
    assert_eq!(applies(again), applies(&records[..before]));
    assert_eq!(drive.grants(), 1, "no second grant");
    assert_eq!(
        (
            drive.secret_versions(&outputs["AzureSecretArn"]).await,
            drive.secret_versions(&outputs["GenesysSecretArn"]).await
        ),
        versions
    );
    assert_eq!(drive.rule_state().await, "ENABLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_interrupted_after_each_step_finishes_when_run_again() {
    let drive = Drive::start().await;
    // Each run is killed right after the next step says it is done; the one after it goes on
    // from there (every step idempotent), and the last run finishes.
    let steps = [
        "prerequisites",
        "settings",
        "azure",
        "genesys",
        "credentials",
        "build",
        "stack",
        "event-source",
    ];
    for (n, step) in steps.iter().enumerate() {
        // The region is given until the settings step has remembered it.
        let args: &[&str] = if n < 2 {
            &["deploy", "--genesys-region", "us-east-1"]
        } else {
            &["deploy"]
        };
        drive.run_killed(args, step);
    }
    let last = drive.run(&["deploy"], &[]);
    assert_eq!(last.code, 0, "{}", last.out);
    assert!(
        last.out.contains("doctor says it is syncing"),
        "{}",
        last.out
    );
    assert_eq!(drive.rule_state().await, "ENABLED");
    // One of everything: one grant, one secret per module, one stack create.
    assert_eq!(drive.grants(), 1);
    let records = drive.records();
    let creates = records
        .iter()
        .filter(|r| r.tool == "terraform" && r.changed)
        .count();
    assert_eq!(
        creates, 3,
        "the Azure apply, the role, the rest of Genesys: {records:#?}"
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.tool == "sam" && r.changed)
            .count(),
        1,
        "{records:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_prerequisites_are_listed_with_their_fixes_before_anything_is_made() {
    let drive = Drive::start().await;
    let run = drive.run(
        &["deploy", "--genesys-region", "eu-west-1"],
        &[
            ("STANDIN_AZ_SIGNED_OUT", "1"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", ""),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains("✗ Azure sign-in"), "{}", run.out);
    assert!(
        // A Teams-only tenant has no Azure subscription: plain az login refuses it.
        run.out
            .contains("then sign in with az login --tenant <tenant id> --allow-no-subscriptions"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("✗ Genesys deployment client"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET not set"),
        "{}",
        run.out
    );
    assert!(run.out.contains("✓ terraform"), "{}", run.out);
    assert!(
        run.out.contains(
            "✗ step 1 (prerequisites) failed: missing: Azure sign-in, Genesys deployment client"
        ),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("then resume: the same command again (make deploy"),
        "{}",
        run.out
    );
    let records = drive.records();
    assert!(
        records
            .iter()
            .all(|r| !r.changed && !r.args.iter().any(|a| a == "apply" || a == "deploy")),
        "{records:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_is_enabled_only_once_doctors_credential_checks_pass() {
    let drive = Drive::start().await;
    // No admin consent yet: Entra ID issues tokens without the Graph permission.
    drive.world.ms.set_granted_roles(&[]);
    let refused = drive.run(
        &[
            "deploy",
            "--genesys-region",
            "mypurecloud.com",
            "--credentials-wait",
            "0",
        ],
        &[],
    );
    assert_eq!(refused.code, 1, "{}", refused.out);
    assert!(
        refused
            .out
            .contains("✗ step 5 (credentials) failed: Entra ID token"),
        "{}",
        refused.out
    );
    assert!(
        refused
            .out
            .contains("grant admin consent for Presence.ReadWrite.All"),
        "{}",
        refused.out
    );
    assert!(
        refused.out.contains("--from credentials"),
        "{}",
        refused.out
    );
    assert!(
        calls(&drive.records(), "sam", &["deploy"]).is_empty(),
        "no stack before the checks pass"
    );
    assert!(!drive.stack_exists().await);

    drive
        .world
        .ms
        .set_granted_roles(&["Presence.ReadWrite.All"]);
    let resumed = drive.run(&["deploy", "--from", "credentials"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.out);
    assert!(resumed.out.contains("✓ build ("), "{}", resumed.out);
    assert_eq!(
        calls(&drive.records(), "terraform", &["apply"]).len(),
        3,
        "--from credentials applied nothing again"
    );
    assert_eq!(drive.rule_state().await, "ENABLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_says_which_what_failed_and_how_to_resume() {
    let drive = Drive::start().await;
    let failed = drive.run(
        &["deploy", "--genesys-region", "euw2.pure.cloud"],
        &[("STANDIN_FAIL", "terraform apply -chdir=infra/genesys")],
    );
    assert_eq!(failed.code, 1, "{}", failed.out);
    assert!(
        failed
            .out
            .contains("✗ step 4 (genesys) failed: `terraform -chdir=infra/genesys apply"),
        "{}",
        failed.out
    );
    assert!(
        failed.out.contains("fix: read the error in the log"),
        "{}",
        failed.out
    );
    assert!(
        failed
            .out
            .contains("then resume: the same command again (make deploy"),
        "{}",
        failed.out
    );
    assert!(
        failed
            .out
            .contains(&format!("--stack {} deploy --from genesys", drive.stack)),
        "{}",
        failed.out
    );
    assert!(!drive.stack_exists().await);
    let resumed = drive.run(&["deploy"], &[]);
    assert_eq!(resumed.code, 0, "{}", resumed.out);
    assert_eq!(
        parameters(calls(&drive.records(), "sam", &["deploy"])[0])["GenesysEnvironment"],
        "euw2.pure.cloud"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_what_deploy_made_in_order_and_says_what_is_left() {
    let drive = Drive::start().await;
    // An e-mail subscription stays "PendingConfirmation" until its recipient confirms it
    // (Amazon SNS API Reference, ListSubscriptionsByTopic: "SubscriptionArn … PendingConfirmation"
    // for a subscription not yet confirmed); moto confirms every subscription at once, so the
    // proxy answers doctor's one read as SNS would.
    drive.proxy.answer_once(
        "ListSubscriptionsByTopic",
        200,
        "text/xml",
        &pending_subscription(),
    );
    let deployed = drive.run(
        &[
            "deploy",
            "--genesys-region",
            "mypurecloud.de",
            "--alarm-email",
            "ops@example.com",
        ],
        &[],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.out);
    assert!(deployed.out.contains("✗ alarm e-mail"), "{}", deployed.out);
    assert!(deployed.out.contains("left to do   confirm the alarm subscription from the e-mail AWS Notifications sent to ops@example.com"), "{}", deployed.out);
    let outputs = drive.outputs().await;
    let before = drive.records().len();
    // A deployment made while infra/azure declared Microsoft Graph's service principal as a
    // resource with use_existing = true holds it in its state as adopted: a destroy would
    // delete the tenant's own Graph principal (hashicorp/terraform-provider-azuread#1141).
    let (path, mut azure_state) = drive.module_state("azure");
    azure_state["resources"]
        .as_array_mut()
        .expect("the Azure module's resources")
        .insert(
            0,
            json!({"address": "azuread_service_principal.msgraph", "adopted": true}),
        );
    std::fs::write(&path, azure_state.to_string()).unwrap();

    // A failed destroy of a stack not named presence-sync resumes with that name.
    let failed = drive.run(&["destroy"], &[("STANDIN_FAIL", "sam delete")]);
    assert_eq!(failed.code, 1, "{}", failed.out);
    assert!(
        failed.out.contains(&format!(
            "then resume: make destroy DEPLOY_ARGS=\"--stack {}\"",
            drive.stack
        )),
        "{}",
        failed.out
    );

    let destroyed = drive.run(&["destroy"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.out);
    // Microsoft Graph's service principal is read, never managed: forgotten from the old
    // state, never destroyed; the app registration is.
    let azure_log = drive.tool_log("azure-destroy");
    assert!(
        azure_log.contains("azuread_application.presence_sync: Destruction complete"),
        "{azure_log}"
    );
    assert!(
        !azure_log.contains("azuread_service_principal.msgraph"),
        "{azure_log}"
    );
    assert!(
        !calls(
            &drive.records()[before..],
            "terraform",
            &["state", "rm", "azuread_service_principal.msgraph"]
        )
        .is_empty(),
        "the adopted principal forgotten from the old state"
    );
    let records = &drive.records()[before..];
    let stack = position(records, "sam", &["delete"]);
    let genesys = position(records, "terraform", &["-chdir=infra/genesys", "destroy"]);
    let azure = position(records, "terraform", &["-chdir=infra/azure", "destroy"]);
    assert!(stack < genesys && genesys < azure, "{records:#?}");
    assert!(!drive.stack_exists().await);
    assert!(
        drive.world.genesys.admin_client_roles(ADMIN_ID).is_empty(),
        "the grant taken back"
    );
    let secrets = presence_sync_tests::aws::secrets_client(&drive.moto).await;
    let azure_secret = secrets
        .describe_secret()
        .secret_id(&outputs["AzureSecretArn"])
        .send()
        .await
        .expect("kept for its recovery window");
    assert!(
        azure_secret.deleted_date().is_some(),
        "scheduled for deletion"
    );
    for left in [
        "Left in place",
        "the Genesys deployment client you created",
        "7-day recovery window",
        "aws-sam-cli-managed-default",
    ] {
        assert!(
            destroyed.out.contains(left),
            "should say {left:?}:\n{}",
            destroyed.out
        );
    }
    // A second destroy finds nothing deployed from here.
    let again = drive.run(&["destroy"], &[]);
    assert_eq!(again.code, 1, "{}", again.out);
    assert!(
        again.out.contains("nothing deployed from here"),
        "{}",
        again.out
    );
}

/// SNS's `ListSubscriptionsByTopic` answer (query protocol) with one e-mail subscription
/// waiting for its confirmation.
fn pending_subscription() -> String {
    r#"<ListSubscriptionsByTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ListSubscriptionsByTopicResult>
    <Subscriptions>
      <member>
        <TopicArn>arn:aws:sns:us-east-1:123456789012:alarms</TopicArn>
        <Protocol>email</Protocol>
        <SubscriptionArn>PendingConfirmation</SubscriptionArn>
        <Owner>123456789012</Owner>
        <Endpoint>ops@example.com</Endpoint>
      </member>
    </Subscriptions>
  </ListSubscriptionsByTopicResult>
  <ResponseMetadata><RequestId>1f3c6bd4-0000-4000-8000-000000000001</RequestId></ResponseMetadata>
</ListSubscriptionsByTopicResponse>"#
        .to_owned()
}

/// Lambda's `GetAccountSettings` answer for an account with `limit` concurrent executions,
/// `unreserved` of them not reserved by any function (Lambda API Reference,
/// GetAccountSettings: `AccountLimit.ConcurrentExecutions`, `UnreservedConcurrentExecutions`).
/// moto does not implement it (404): the proxy answers as Lambda would.
fn account_settings(limit: u32, unreserved: u32) -> String {
    json!({
        "AccountLimit": {
            "TotalCodeSize": 80530636800u64,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": unreserved
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0}
    })
    .to_string()
}

/// CloudFormation's `DescribeStacks` answer for a stack whose creation failed and was rolled
/// back: ROLLBACK_COMPLETE, from which a stack can only be deleted. moto never rolls a
/// creation back (its stacks end CREATE_COMPLETE): the proxy answers as CloudFormation would.
fn rolled_back_stack(stack: &str) -> String {
    format!(
        r#"<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackName>{stack}</StackName>
        <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/{stack}/5b8d2f4e-0000-4000-8000-000000000001</StackId>
        <CreationTime>2026-12-07T10:00:00Z</CreationTime>
        <StackStatus>ROLLBACK_COMPLETE</StackStatus>
        <StackStatusReason>The following resource(s) failed to create: [PresenceSyncFunction].</StackStatusReason>
      </member>
    </Stacks>
  </DescribeStacksResult>
  <ResponseMetadata><RequestId>1f3c6bd4-0000-4000-8000-000000000002</RequestId></ResponseMetadata>
</DescribeStacksResponse>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_stack_whose_creation_failed_is_deleted_then_created_again() {
    let drive = Drive::start().await;
    // The creation fails (Lambda's concurrency quota, one of the usual causes) and
    // CloudFormation rolls it back: the stack stays, in ROLLBACK_COMPLETE.
    let quota = "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].";
    let failed = drive.run(
        &["deploy", "--genesys-region", "eu-west-1"],
        &[("STANDIN_STACK_FAILS", quota)],
    );
    assert_eq!(failed.code, 1, "{}", failed.out);
    assert!(
        failed.out.contains("✗ step 7 (stack) failed"),
        "{}",
        failed.out
    );
    assert!(failed.out.contains("ROLLBACK_COMPLETE"), "{}", failed.out);

    // The next run finds it so, deletes it, and creates the stack.
    drive.proxy.answer_once(
        "DescribeStacks",
        200,
        "text/xml",
        &rolled_back_stack(&drive.stack),
    );
    let before = drive.records().len();
    let again = drive.run(&["deploy"], &[]);
    assert_eq!(again.code, 0, "{}", again.out);
    assert_eq!(
        drive.proxy.pending_answers(),
        0,
        "the stack's state was read"
    );
    let records = &drive.records()[before..];
    let delete = position(records, "sam", &["delete", &drive.stack]);
    let deploy = position(records, "sam", &["deploy", &drive.stack]);
    assert!(delete < deploy, "{records:#?}");
    assert!(again.out.contains("ROLLBACK_COMPLETE"), "{}", again.out);
    assert_eq!(drive.rule_state().await, "ENABLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_waits_for_the_partner_event_source_genesys_makes_in_its_own_time() {
    let drive = Drive::start().await;
    // Genesys creates the partner event source some seconds after the integration: a stack
    // deployed before it exists fails to create (and is left in ROLLBACK_COMPLETE). The
    // stand-in makes it 4 s after the apply; the driver's first look comes before that.
    // EventBridge answers a source it does not know with ResourceNotFoundException (API
    // Reference, DescribeEventSource, Errors); moto fails with a 500 instead (a KeyError in
    // its `describe_event_source`): the proxy answers that first look as EventBridge does.
    let source_missing = drive.proxy.answer_once(
        "DescribeEventSource",
        400,
        "application/x-amz-json-1.1",
        &json!({
            "__type": "ResourceNotFoundException",
            "message": "Event source aws.partner/genesys.com/cloud/x/y does not exist."
        })
        .to_string(),
    );
    let run = drive.run(
        &["deploy", "--genesys-region", "mypurecloud.de"],
        &[("STANDIN_SOURCE_DELAY_MS", "4000")],
    );
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(source_missing.answered());
    assert!(
        run.out.contains("waiting for Genesys to create it"),
        "{}",
        run.out
    );
    assert!(run.out.contains("doctor says it is syncing"), "{}", run.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_the_concurrency_the_functions_reserve_is_refused_first() {
    let drive = Drive::start().await;
    // A new account's low default quota: 10 concurrent executions, none reserved.
    drive.proxy.answer_once(
        "account-settings",
        200,
        "application/json",
        &account_settings(10, 10),
    );
    let run = drive.run(&["deploy", "--genesys-region", "eu-west-1"], &[]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains("✗ Lambda concurrency"), "{}", run.out);
    assert!(run.out.contains("Service Quotas"), "{}", run.out);
    assert!(run.out.contains("ReservedConcurrency"), "{}", run.out);
    assert!(
        drive
            .records()
            .iter()
            .all(|r| !r.args.iter().any(|a| a == "apply" || a == "deploy")),
        "nothing made: {:#?}",
        drive.records()
    );
}

/// The `TF_VAR_*` of the last full (untargeted) apply of infra/genesys.
fn genesys_apply_vars(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .rev()
        .find(|r| {
            r.tool == "terraform"
                && r.args.iter().any(|a| a == "-chdir=infra/genesys")
                && r.args.iter().any(|a| a == "apply")
                && !r.args.iter().any(|a| a.starts_with("-target="))
        })
        .map(|r| r.tf_vars.clone())
        .unwrap_or_else(|| panic!("no full apply of infra/genesys in {records:#?}"))
}

fn has_var(vars: &[(String, String)], name: &str, value: &str) -> bool {
    vars.iter().any(|(n, v)| n == name && v == value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_two_way_deployment_is_checked_and_granted_as_the_stack_will_run() {
    let drive = Drive::start().await;
    let args = [
        "deploy",
        "--genesys-region",
        "eu-west-1",
        "--parameter",
        "SyncScope=queue:3c1b9e0e-5a4f-4e2b-9d7a-0f1e2d3c4b5a",
        "--parameter",
        "TeamsToGenesys=on",
    ];
    // The queue does not exist in Genesys: the credentials step, which checks the
    // configuration the stack will run, says so before the stack is deployed (at once: no
    // wait for new credentials to spread).
    let first = drive.run(&[&args[..], &["--credentials-wait", "0"]].concat(), &[]);
    assert_eq!(first.code, 1, "{}", first.out);
    assert!(
        first.out.contains("✗ step 5 (credentials) failed"),
        "{}",
        first.out
    );
    assert!(
        first
            .out
            .contains("Genesys knows no queue:3c1b9e0e-5a4f-4e2b-9d7a-0f1e2d3c4b5a"),
        "{}",
        first.out
    );
    assert!(
        drive
            .records()
            .iter()
            .all(|r| !(r.tool == "sam" && r.args.iter().any(|a| a == "deploy"))),
        "no stack before the credentials pass"
    );
    // The role reads queues and writes presences: Terraform was told so.
    let vars = genesys_apply_vars(&drive.records());
    assert!(has_var(&vars, "TF_VAR_read_queues", "true"), "{vars:?}");
    assert!(has_var(&vars, "TF_VAR_two_way", "true"), "{vars:?}");

    drive.world.genesys.add_scope_entity(
        "queue",
        "3c1b9e0e-5a4f-4e2b-9d7a-0f1e2d3c4b5a",
        "Support",
    );
    let again = drive.run(&["deploy"], &[]);
    assert_eq!(again.code, 0, "{}", again.out);
    assert!(
        again.out.contains("1 entries, each found in Genesys"),
        "{}",
        again.out
    );
    let vars = genesys_apply_vars(&drive.records());
    assert!(has_var(&vars, "TF_VAR_two_way", "true"), "{vars:?}");
    // The watcher runs on a Genesys client of its own (a limit of its own): the stack is
    // given its secret, which is not the other functions'.
    let records = drive.records();
    let deploy = position(&records, "sam", &["deploy"]);
    let sent = parameters(&records[deploy]);
    let watcher = sent["ExistingWatcherGenesysSecretArn"]
        .as_str()
        .unwrap_or_default();
    assert!(watcher.starts_with("arn:aws:secretsmanager:"), "{sent}");
    assert_ne!(json!(watcher), sent["ExistingGenesysSecretArn"], "{sent}");
    assert_eq!(drive.secret_versions(watcher).await, 1, "{watcher}");
    assert!(
        again.out.contains("the watcher's own client secret in"),
        "{}",
        again.out
    );
    // The credentials step checked the watcher's client before the stack: its secret, and
    // the org's presence definitions read with it, the mapping resolved against them.
    for line in [
        "watcher's Genesys secret",
        "a client of its own, 90 % of its limit",
        "TEAMS_TO_GENESYS resolved against them",
    ] {
        assert!(again.out.contains(line), "{line}: {}", again.out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_paused_by_hand_is_enabled_by_the_next_deploy() {
    let drive = Drive::start().await;
    // Signed in to Azure as a service principal: its secret is in the environment too.
    let principal = [
        ("ARM_TENANT_ID", TENANT),
        ("ARM_CLIENT_ID", "0f1e2d3c-0000-4000-8000-00000000a12e"),
        ("ARM_CLIENT_SECRET", "arm-principal-secret-not-for-sam"),
    ];
    let first = drive.run(&["deploy", "--genesys-region", "eu-west-1"], &principal);
    assert_eq!(first.code, 0, "{}", first.out);
    // Only Terraform's providers read the operator's secrets: no other tool gets them.
    let records = drive.records();
    for record in &records {
        let expected: &[&str] = match record.tool.as_str() {
            "terraform" => &["GENESYSCLOUD_OAUTHCLIENT_SECRET", "ARM_CLIENT_SECRET"],
            _ => &[],
        };
        assert_eq!(record.operator_secrets, expected, "{record:?}");
    }
    assert!(records.iter().any(|r| r.tool == "sam"), "{records:#?}");
    drive.pause_rule().await;
    assert_eq!(drive.rule_state().await, "DISABLED");
    // The same parameters: CloudFormation sees no change; the driver enables the rule.
    let again = drive.run(&["deploy"], &[]);
    assert_eq!(again.code, 0, "{}", again.out);
    assert_eq!(drive.rule_state().await, "ENABLED");
    assert!(again.out.contains("enabled again"), "{}", again.out);
    assert!(
        again.out.contains("doctor says it is syncing"),
        "{}",
        again.out
    );
}

impl Drive {
    /// What an administrator does in Genesys's admin UI (Admin → OAuth → the deployment
    /// client → Roles): the deployment client's grant of `role` moved from all divisions
    /// (`*`) to `division`, through the same API the UI calls.
    async fn move_admin_grant(&self, role: &str, division: &str) {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/oauth/token", self.world.genesys.login_url()))
            .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("a token")
            .json()
            .await
            .expect("a token's JSON");
        let token = token["access_token"].as_str().expect("access_token");
        let path = |division: &str| {
            format!(
                "{}/api/v2/authorization/subjects/{ADMIN_ID}/divisions/{division}/roles/{role}?subjectType=PC_OAUTH_CLIENT",
                self.world.genesys.api_url()
            )
        };
        let revoked = http
            .delete(path("*"))
            .bearer_auth(token)
            .send()
            .await
            .expect("DELETE");
        assert!(revoked.status().is_success(), "{revoked:?}");
        let granted = http
            .post(path(division))
            .bearer_auth(token)
            .send()
            .await
            .expect("POST");
        assert!(granted.status().is_success(), "{granted:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_the_operator_added_by_hand_in_another_division_is_granted_once_and_taken_back() {
    let drive = Drive::start().await;
    let first = drive.run(&["deploy", "--genesys-region", "eu-west-1"], &[]);
    assert_eq!(first.code, 0, "{}", first.out);
    let roles = drive.world.genesys.admin_client_roles(ADMIN_ID);
    assert_eq!(roles.len(), 1, "{roles:?}");
    // As the fallback tells the operator to do where Genesys refuses the grant: the role
    // added by hand, which the UI puts in the Home division unless told otherwise.
    let home = "5a1c0c1e-0000-4000-8000-00000000e0e0";
    drive.move_admin_grant(&roles[0].0, home).await;
    let grants = drive.grants();
    let again = drive.run(&["deploy"], &[]);
    assert_eq!(again.code, 0, "{}", again.out);
    // Held in Home only: granted in all divisions once (the function's client has it
    // there), and not again.
    assert_eq!(drive.grants(), grants + 1);
    let third = drive.run(&["deploy"], &[]);
    assert_eq!(third.code, 0, "{}", third.out);
    assert_eq!(drive.grants(), grants + 1, "no grant asked for again");
    // destroy takes the role back in every division the deployment client holds it in,
    // then deletes it.
    let destroyed = drive.run(&["destroy"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.out);
    assert!(
        drive.world.genesys.admin_client_roles(ADMIN_ID).is_empty(),
        "{:?}",
        drive.world.genesys.admin_client_roles(ADMIN_ID)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_value_for_a_terraform_variable_is_applied_as_a_change() {
    let drive = Drive::start().await;
    let first = drive.run(&["deploy", "--genesys-region", "eu-west-1"], &[]);
    assert_eq!(first.code, 0, "{}", first.out);
    let before = drive.records().len();
    // The reverse direction switched on: the role grows (two_way), Terraform changes it.
    let again = drive.run(&["deploy", "--parameter", "TeamsToGenesys=on"], &[]);
    assert_eq!(again.code, 0, "{}", again.out);
    let records = &drive.records()[before..];
    let genesys = calls(records, "terraform", &["-chdir=infra/genesys", "apply"]);
    assert!(genesys.iter().any(|r| r.changed), "{records:#?}");
    assert!(
        calls(records, "terraform", &["-chdir=infra/azure", "apply"])
            .iter()
            .all(|r| !r.changed),
        "{records:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tools_and_aws_credentials_are_listed_with_their_fixes() {
    let drive = Drive::start().await;
    // A machine without Terraform, the SAM CLI or Cargo Lambda, a toolchain without the
    // arm64 target, and no AWS credentials anywhere (no variables, no ~/.aws, no instance
    // metadata).
    for tool in ["terraform", "sam", "cargo-lambda"] {
        std::fs::remove_file(drive.root.join("bin").join(tool)).expect("a stand-in link");
    }
    let run = drive.run(
        &["deploy", "--genesys-region", "eu-west-1"],
        &[
            ("STANDIN_RUST_TARGETS", "x86_64-unknown-linux-gnu"),
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_SESSION_TOKEN", ""),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.out);
    for (check, fix) in [
        ("terraform", "install Terraform 1.5 or later"),
        ("AWS credentials", "sign in to AWS (aws sso login"),
        ("SAM CLI", "bash scripts/setup-venv.sh --all"),
        (
            "Cargo Lambda",
            "make setup (Cargo Lambda and zig into .venv)",
        ),
        (
            "Rust arm64 target",
            "rustup target add aarch64-unknown-linux-gnu",
        ),
    ] {
        assert!(
            run.out.contains(&format!("✗ {check}")),
            "{check}: {}",
            run.out
        );
        assert!(run.out.contains(fix), "{check}'s fix: {}", run.out);
    }
    // Without credentials, neither the stack nor Lambda's concurrency can be read: not
    // listed as passed.
    assert!(!run.out.contains("✓ AWS stack"), "{}", run.out);
    assert!(
        drive
            .records()
            .iter()
            .all(|r| r.tool == "rustup" || r.tool == "az"),
        "only looked, with the tools that are there: {:#?}",
        drive.records()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_killed_inside_the_genesys_step_finishes_with_one_grant() {
    let drive = Drive::start().await;
    // Killed between the grant and the rest of infra/genesys (the role exists and is
    // granted; the function's client does not), then killed again as the next run starts
    // the role's targeted apply (the stand-in Terraform, orphaned, may finish it or not).
    drive.run_killed_when(
        &["deploy", "--genesys-region", "eu-west-1"],
        "granted the role",
    );
    drive.run_killed_when(&["deploy"], "$ terraform -chdir=infra/genesys apply");
    let last = drive.run(&["deploy"], &[]);
    assert_eq!(last.code, 0, "{}", last.out);
    assert!(
        last.out.contains("doctor says it is syncing"),
        "{}",
        last.out
    );
    assert_eq!(drive.grants(), 1, "the role granted once");
    assert_eq!(drive.world.genesys.admin_client_roles(ADMIN_ID).len(), 1);
    let records = drive.records();
    let genesys_creates = calls(&records, "terraform", &["-chdir=infra/genesys", "apply"])
        .into_iter()
        .filter(|r| r.changed)
        .count();
    assert_eq!(
        genesys_creates, 2,
        "the role once, the rest once: {records:#?}"
    );
}
