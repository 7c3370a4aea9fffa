use super::batch::MAX_DIMENSIONS;
use super::*;
use serde_json::{Value, json};
use std::time::Duration;

fn context() -> Context {
    Context {
        namespace: "PresenceSync".into(),
        function: "presence-sync-prod".into(),
    }
}

fn documents(batch: &Batch) -> Vec<Value> {
    batch
        .emf_lines(&context(), 1_700_000_000_000)
        .iter()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect()
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

async fn recorded(work: impl FnOnce()) -> Batch {
    capture(async { work() }).await.1
}

#[test]
fn the_table_is_consistent() {
    let mut names = std::collections::BTreeSet::new();
    for metric in ALL {
        assert!(names.insert(metric.name), "{} declared twice", metric.name);
        assert!(metric.dimensions.len() <= MAX_DIMENSIONS, "{}", metric.name);
        assert!(!metric.dimension_sets.is_empty(), "{}", metric.name);
        for set in metric.dimension_sets {
            assert_eq!(set.first(), Some(&FUNCTION), "{}: {set:?}", metric.name);
            for dim in &set[1..] {
                assert!(metric.dimensions.contains(dim), "{}: {dim}", metric.name);
            }
        }
        // Dimension names and metric names share the document's top level.
        assert!(
            metric.name.starts_with(char::is_uppercase),
            "{}",
            metric.name
        );
        assert!(declared(metric.name).is_some_and(|m| std::ptr::eq(m, metric)));
    }
    assert!(declared("Nope").is_none());
}

#[tokio::test]
async fn an_applied_event_is_one_document_with_rollups() {
    let batch = recorded(|| {
        event_outcome("applied", "changed");
        lag(Lag::EndToEnd, 1234);
        lag(Lag::Delivery, 560);
        remote_call(
            Remote::Graph,
            "set",
            StatusClass::of(204),
            Duration::from_millis(31),
        );
        teams_id_lookup(TeamsIdSource::Memory);
    })
    .await;
    let docs = documents(&batch);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
    assert_eq!(doc["function"], "presence-sync-prod");
    assert_eq!(doc["outcome"], "applied");
    assert_eq!(doc["reason"], "changed");
    assert_eq!(doc["service"], "Graph");
    assert_eq!(doc["operation"], "set");
    assert_eq!(doc["status"], "2xx");
    assert_eq!(doc["source"], "memory");
    assert_eq!(doc["Events"], 1);
    assert_eq!(numbers(&doc["EndToEndLag"]), [1234.0]);
    assert_eq!(numbers(&doc["DeliveryLag"]), [560.0]);
    assert_eq!(doc["RemoteCalls"], 1);
    assert_eq!(numbers(&doc["RemoteLatency"]), [31.0]);
    assert_eq!(doc["TeamsIdLookups"], 1);
    assert!(doc.get("Throttles").is_none());
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    let events = directives
        .iter()
        .find(|d| {
            d["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["Name"] == "Events")
        })
        .unwrap();
    assert_eq!(events["Namespace"], "PresenceSync");
    assert_eq!(
        events["Dimensions"],
        json!([
            ["function", "outcome", "reason"],
            ["function", "outcome"],
            ["function"]
        ])
    );
    // The two lags share one directive ([[function]]), each metric listed once.
    let lags = directives
        .iter()
        .find(|d| d["Dimensions"] == json!([["function"]]))
        .unwrap();
    assert_eq!(
        lags["Metrics"],
        json!([{"Name":"EndToEndLag","Unit":"Milliseconds"},{"Name":"DeliveryLag","Unit":"Milliseconds"}])
    );
}

#[tokio::test]
async fn counts_add_up_and_conflicting_dimensions_get_their_own_document() {
    let batch = recorded(|| {
        for _ in 0..3 {
            remote_call(
                Remote::Graph,
                "set",
                StatusClass::of(429),
                Duration::from_millis(5),
            );
            retry(Remote::Graph);
            throttle_wait(Remote::Graph, Duration::from_millis(1500));
        }
        remote_call(
            Remote::Graph,
            "set",
            StatusClass::of(204),
            Duration::from_millis(7),
        );
        remote_call(
            Remote::GenesysScim,
            "lookup",
            StatusClass::of(200),
            Duration::from_millis(9),
        );
    })
    .await;
    assert_eq!(batch.count(&REMOTE_CALLS, &["Graph", "set", "429"]), 3);
    assert_eq!(batch.count(&THROTTLES, &["Graph"]), 3);
    assert_eq!(batch.values(&THROTTLE_WAIT, &["Graph"]), vec![1.5; 3]);
    let docs = documents(&batch);
    // Graph 429, Graph 2xx and SCIM each need their own values of service or status.
    assert_eq!(docs.len(), 3, "{docs:#?}");
    let graph_429 = docs.iter().find(|d| d["status"] == "429").unwrap();
    assert_eq!(graph_429["RemoteCalls"], 3);
    assert_eq!(graph_429["Throttles"], 3);
    assert_eq!(graph_429["Retries"], 3);
    assert_eq!(numbers(&graph_429["RemoteLatency"]), [5.0, 5.0, 5.0, 7.0]);
    let scim = docs.iter().find(|d| d["service"] == "GenesysScim").unwrap();
    assert_eq!(scim["RemoteCalls"], 1);
    assert_eq!(scim["status"], "2xx");
    // Each value is read under its own dimensions: SCIM's latency under GenesysScim,
    // never under a document that says Graph.
    assert_eq!(numbers(&scim["RemoteLatency"]), [9.0]);
    let graph_latencies: usize = docs
        .iter()
        .filter(|d| d["service"] == "Graph")
        .filter_map(|d| d["RemoteLatency"].as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(graph_latencies, 4);
    // No document gives a metric two values, nor a dimension two values.
    for doc in &docs {
        let names: Vec<_> = doc["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                d["Metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["Name"].clone())
            })
            .collect();
        let unique: std::collections::BTreeSet<_> = names.iter().map(|n| n.to_string()).collect();
        assert_eq!(unique.len(), names.len(), "{doc}");
    }
}

#[tokio::test]
async fn a_flush_empties_the_batch_and_nothing_recorded_writes_nothing() {
    let ((), _) = capture(async {
        event_outcome("skipped", "stale");
        let mut first = Vec::new();
        flush_to(&mut first).unwrap();
        assert_eq!(String::from_utf8(first).unwrap().lines().count(), 1);
        let mut second = Vec::new();
        flush_to(&mut second).unwrap();
        assert!(second.is_empty(), "a second flush wrote again");
    })
    .await;
}

#[tokio::test]
async fn distributions_keep_at_most_one_documents_worth() {
    let batch = recorded(|| {
        for i in 0..(MAX_VALUES + 50) {
            lag(Lag::Delivery, i as i64);
        }
        lag(Lag::EndToEnd, -40);
    })
    .await;
    assert_eq!(batch.values(&DELIVERY_LAG, &[]).len(), MAX_VALUES);
    assert_eq!(batch.values(&END_TO_END_LAG, &[]), vec![0.0]);
}

#[tokio::test]
async fn captures_do_not_leak_into_each_other_or_the_process() {
    let (_, a) = capture(async { event_outcome("applied", "changed") }).await;
    let (_, b) = capture(async { event_outcome("skipped", "stale") }).await;
    assert_eq!(a.count(&EVENTS, &["applied", "changed"]), 1);
    assert_eq!(a.count(&EVENTS, &["skipped", "stale"]), 0);
    assert_eq!(b.count(&EVENTS, &["skipped", "stale"]), 1);
    assert_eq!(b.count(&EVENTS, &["applied", "changed"]), 0);
}

#[test]
fn status_classes() {
    let cases = [
        (200, "2xx"),
        (204, "2xx"),
        (301, "3xx"),
        (400, "4xx"),
        (401, "4xx"),
        (404, "4xx"),
        (429, "429"),
        (500, "5xx"),
        (503, "5xx"),
        (100, "4xx"),
    ];
    for (status, class) in cases {
        assert_eq!(StatusClass::of(status).as_str(), class, "{status}");
    }
}

#[test]
fn the_namespace_comes_from_the_environment_and_is_checked() {
    let ctx = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Context::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    assert_eq!(
        ctx(&[]).unwrap(),
        Context {
            namespace: DEFAULT_NAMESPACE.into(),
            function: "presence-sync".into()
        }
    );
    let custom = ctx(&[
        ("METRICS_NAMESPACE", "Contoso/Presence"),
        ("AWS_LAMBDA_FUNCTION_NAME", "stack-PresenceSync-1"),
    ])
    .unwrap();
    assert_eq!(custom.namespace, "Contoso/Presence");
    assert_eq!(custom.function, "stack-PresenceSync-1");
    for bad in ["AWS/Lambda", "a\"b", "é", &"x".repeat(256)] {
        let error = ctx(&[("METRICS_NAMESPACE", bad)]).unwrap_err();
        assert!(error.starts_with("METRICS_NAMESPACE"), "{error}");
    }
}

#[tokio::test]
async fn names_and_values_are_escaped() {
    let batch = recorded(|| event_outcome("failed", "GraphThrottled")).await;
    let context = Context {
        namespace: "Name space".into(),
        function: "quote\"and\\back".into(),
    };
    let lines = batch.emf_lines(&context, 0);
    let doc: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(doc["function"], "quote\"and\\back");
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Name space"
    );
}
