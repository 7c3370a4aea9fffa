//! The cost of the metrics per event: what one event records (`presence_core::metrics`) and
//! the EMF line(s) written at the end of its invocation (docs/performance.md, "Metrics").
//!
//! `cargo bench -p presence-core --bench emf`. Each iteration is one event: its records into
//! the process's batch, then the flush, serialised into a reused buffer and written to a
//! sink (stdout's cost is the log pipe's, measured separately by the load benchmark).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use presence_core::metrics::{self, Context, Lag, Remote, StatusClass, TeamsIdSource};
use std::hint::black_box;
use std::time::Duration;

/// A warm event that changes Teams: outcome, both lags, the Graph call, the Teams id from
/// memory, and the two state-table writes (once the DynamoDB adapter records them).
fn applied_event() {
    metrics::event_outcome("applied", "changed");
    metrics::lag(Lag::Delivery, 420);
    metrics::remote_call(
        Remote::DynamoDB,
        "UpdateItem",
        StatusClass::Success,
        Duration::from_micros(5_600),
    );
    metrics::teams_id_lookup(TeamsIdSource::Memory);
    metrics::remote_call(
        Remote::Graph,
        "set",
        StatusClass::of(204),
        Duration::from_micros(31_250),
    );
    metrics::lag(Lag::EndToEnd, 1_234);
    metrics::remote_call(
        Remote::DynamoDB,
        "UpdateItem",
        StatusClass::Success,
        Duration::from_micros(5_100),
    );
}

/// The same event while the state-table calls are not recorded: what the adapters of this
/// change record (Graph) plus the service's records.
fn applied_event_without_dynamodb() {
    metrics::event_outcome("applied", "changed");
    metrics::lag(Lag::Delivery, 420);
    metrics::teams_id_lookup(TeamsIdSource::Memory);
    metrics::remote_call(
        Remote::Graph,
        "set",
        StatusClass::of(204),
        Duration::from_micros(31_250),
    );
    metrics::lag(Lag::EndToEnd, 1_234);
}

/// A warm event that changes nothing (unchanged, stale, duplicate): one write.
fn skipped_event() {
    metrics::event_outcome("skipped", "stale");
    metrics::lag(Lag::Delivery, 380);
    metrics::remote_call(
        Remote::DynamoDB,
        "UpdateItem",
        StatusClass::of(400),
        Duration::from_micros(5_300),
    );
}

fn bench(c: &mut Criterion) {
    metrics::init(Context {
        namespace: metrics::DEFAULT_NAMESPACE.to_owned(),
        function: "presence-sync-PresenceSyncFunction-AbCdEf123456".to_owned(),
    });
    let mut group = c.benchmark_group("emf");
    group.throughput(Throughput::Elements(1));
    let mut buffer = Vec::with_capacity(4096);
    for (name, event) in [
        ("applied", applied_event as fn()),
        (
            "applied-without-dynamodb",
            applied_event_without_dynamodb as fn(),
        ),
        ("skipped", skipped_event as fn()),
    ] {
        // What one event writes, printed once: the bytes CloudWatch Logs ingests.
        event();
        buffer.clear();
        metrics::flush_to(&mut buffer).unwrap();
        let text = String::from_utf8_lossy(&buffer);
        eprintln!(
            "emf/{name}: {} line(s), {} bytes per event\n{text}",
            text.lines().count(),
            buffer.len()
        );
        group.bench_function(format!("record/{name}"), |b| {
            b.iter(|| {
                event();
                // Drop the batch unserialised: the recording alone.
                black_box(metrics::take());
            })
        });
        group.bench_function(format!("record_and_flush/{name}"), |b| {
            b.iter(|| {
                event();
                buffer.clear();
                metrics::flush_to(&mut buffer).unwrap();
                std::io::Write::write_all(&mut std::io::sink(), black_box(&buffer)).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
