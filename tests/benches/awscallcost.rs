//! What one DynamoDB call costs the function in CPU, client side: the function's own
//! `DynamoStateStore::record` through the AWS SDK (configured as `app::load_aws` configures
//! it), against the same request sent as a lean client would send it — signed with
//! `aws-sigv4` and posted with reqwest — and sent unsigned. It settles how much of the CPU
//! budget a hand-written DynamoDB client could win (docs/performance.md, "CPU per event").
//!
//! The server is a canned DynamoDB on loopback (a realistic `ALL_OLD` answer) on its own
//! thread; the clients run on a current-thread runtime on the main thread, whose CPU time
//! alone is measured (`/proc/thread-self/stat`), so neither the server nor moto counts.
//!
//! `bash scripts/bench-aws-call.sh [calls per round] [rounds] [idle ms between calls]`: with
//! an idle gap the thread sleeps between calls, as the function does while DynamoDB, Graph
//! or the Runtime API answers, and each call starts with cold caches.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::post;
use presence_core::adapters::dynamodb::DynamoStateStore;
use presence_core::config::HttpTimeouts;
use presence_core::domain::event::GenesysEvent;
use presence_core::domain::state::{Intent, Lease, Observation};
use presence_core::domain::teams::{TeamsPresence, TeamsState};
use presence_core::ports::StateStore;
use presence_sync_tests::events::presence;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TARGET: &str = "DynamoDB_20120810.UpdateItem";
const JSON_1_0: &str = "application/x-amz-json-1.0";

/// The record of a user as DynamoDB returns it with `ReturnValues: ALL_OLD`.
const ALL_OLD: &str = r#"{"Attributes":{"pk":{"S":"user#6a1b5b3e-1c52-4c1e-9a47-3e0c7a9f2d11"},"presence":{"S":"AVAILABLE"},"presence_version":{"N":"1793606400000"},"routing":{"S":"IDLE"},"routing_version":{"N":"1793606400000"},"last_event":{"S":"0f6f4c1e-8f0e-4a7e-9a57-4e2d1f1d9b10"},"applied":{"S":"Available"},"intent":{"S":"Available"},"rev":{"N":"41"},"updated_at":{"N":"1793606400123"}}}"#;

#[derive(Default)]
struct Canned {
    first_body: Mutex<Option<Bytes>>,
}

async fn update_item(State(canned): State<Arc<Canned>>, body: Bytes) -> impl IntoResponse {
    canned
        .first_body
        .lock()
        .unwrap()
        .get_or_insert_with(|| body.clone());
    ([(CONTENT_TYPE, JSON_1_0)], ALL_OLD)
}

/// Starts the canned DynamoDB on its own thread and runtime; returns its endpoint.
fn serve(canned: Arc<Canned>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new()
                .route("/", post(update_item))
                .with_state(canned);
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Lean {
    http: reqwest::Client,
    endpoint: String,
    credentials: Credentials,
    request: serde_json::Value,
    sign: bool,
}

impl Lean {
    async fn call(&self) {
        let body = serde_json::to_vec(&self.request).unwrap();
        let mut request = self
            .http
            .post(&self.endpoint)
            .header(CONTENT_TYPE, JSON_1_0)
            .header("x-amz-target", TARGET);
        if self.sign {
            let identity = self.credentials.clone().into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("dynamodb")
                .time(SystemTime::now())
                .settings(SigningSettings::default())
                .build()
                .unwrap()
                .into();
            let headers = [("content-type", JSON_1_0), ("x-amz-target", TARGET)];
            let signable = SignableRequest::new(
                "POST",
                &self.endpoint,
                headers.into_iter(),
                SignableBody::Bytes(&body),
            )
            .unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            for (name, value) in instructions.headers() {
                request = request.header(name, value);
            }
        }
        let answer = request.body(body).send().await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        let bytes = answer.bytes().await.unwrap();
        let item: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(item["Attributes"].is_object());
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` adds `--bench`; the rest are ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let calls: u32 = args
        .next()
        .map_or(1_000, |a| a.parse().expect("calls per round"));
    let rounds: u32 = args.next().map_or(5, |a| a.parse().expect("rounds"));
    let gap = Duration::from_millis(args.next().map_or(0, |a| a.parse().expect("idle ms")));
    let idle = || async {
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
    };

    let canned = Arc::new(Canned::default());
    let endpoint = serve(canned.clone());
    let credentials = Credentials::new(
        "AKIDBENCH",
        "bench-secret",
        Some("bench-token".into()),
        None,
        "bench",
    );
    let aws = presence_core::app::load_aws(HttpTimeouts::default().connect)
        .await
        .to_builder()
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials.clone()),
        )
        .build();
    let store = DynamoStateStore::new(aws_sdk_dynamodb::Client::new(&aws), "bench".into());

    let event = GenesysEvent::parse(presence(
        "6a1b5b3e-1c52-4c1e-9a47-3e0c7a9f2d11",
        "ON_QUEUE",
        1_000,
    ))
    .expect("a sample event");
    let observation = Observation::from(&event);
    let intent = Intent::Teams(TeamsState::Preferred(TeamsPresence::Busy));
    let lease = Lease {
        owner: "bench/0123456789abcdef0123456789abcdef".into(),
        until_ms: now_ms() + 60_000,
    };
    let sdk_call = || async {
        store
            .record(
                &event.user,
                &event.event_id,
                &observation,
                Some((intent, &lease)),
                now_ms(),
            )
            .await
            .unwrap();
    };
    // Warm up, and capture the exact request body the SDK sends for the lean variants.
    for _ in 0..50 {
        sdk_call().await;
    }
    let body = canned.first_body.lock().unwrap().clone().unwrap();
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // The HTTP client the function builds for Genesys and Graph.
    let http = presence_core::adapters::http::client(HttpTimeouts::default());
    let lean = |sign| Lean {
        http: http.clone(),
        endpoint: endpoint.clone(),
        credentials: credentials.clone(),
        request: request.clone(),
        sign,
    };
    let (signed, unsigned) = (lean(true), lean(false));
    for _ in 0..50 {
        signed.call().await;
        unsigned.call().await;
    }

    let mut totals = [Duration::ZERO; 4];
    for _ in 0..rounds {
        let start = thread_cpu();
        for _ in 0..calls {
            sdk_call().await;
            idle().await;
        }
        let mid = thread_cpu();
        for _ in 0..calls {
            signed.call().await;
            idle().await;
        }
        let late = thread_cpu();
        for _ in 0..calls {
            unsigned.call().await;
            idle().await;
        }
        let end = thread_cpu();
        totals[0] += mid - start;
        totals[1] += late - mid;
        totals[2] += end - late;
        for _ in 0..calls {
            idle().await;
        }
        totals[3] += thread_cpu() - end;
    }
    let n = f64::from(calls * rounds);
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / n;
    println!(
        "# client CPU per UpdateItem (record + claim, ALL_OLD), {} calls each, request {} bytes, {} ms idle between calls",
        calls * rounds,
        body.len(),
        gap.as_millis()
    );
    println!(
        "AWS SDK (DynamoStateStore::record)      {:>7.1} µs",
        per_call(totals[0])
    );
    println!(
        "lean: aws-sigv4 + reqwest + serde_json  {:>7.1} µs",
        per_call(totals[1])
    );
    println!(
        "lean, unsigned (reqwest + serde_json)   {:>7.1} µs",
        per_call(totals[2])
    );
    println!(
        "the idle gap alone (no call)            {:>7.1} µs",
        per_call(totals[3])
    );
}
