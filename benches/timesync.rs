//! Criterion benchmark: draining TimeSync's one-array answer through the
//! public stream, which decodes item by item as the body arrives.
//!
//! The side-by-side comparison with a raw reqwest+serde baseline and pymesync
//! is `SPECBOUND=$PWD ../shared/bench/run.sh` with `examples/drain.rs`; this
//! bench tracks the client's own cost between those runs.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::TryStreamExt;
use serde_json::json;
use specbound::timesync::prelude::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ITEMS: usize = 10_000;

fn body() -> Vec<u8> {
    let items: Vec<_> = (0..ITEMS)
        .map(|i| {
            json!({
                "duration": 900 * (1 + i % 32), "user": format!("user{}", i % 50),
                "project": ["gwm", "ganeti-webmgr"], "activities": ["docs", "dev"],
                "notes": "Worked on documentation toward settings configuration.",
                "issue_uri": format!("https://github.com/osuosl/gwm/issues/{i}"),
                "date_worked": "2026-11-23", "created_at": "2026-11-23", "updated_at": null,
                "deleted_at": null, "uuid": format!("c3706e79-1c9a-4765-8d7f-{i:012x}"), "revision": 1
            })
        })
        .collect();
    serde_json::to_vec(&items).unwrap()
}

fn drain(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v0/times"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body(), "application/json"))
            .mount(&server)
            .await;
        server
    });
    let client = specbound::timesync::Client::builder()
        .base_url(format!("{}/v0", server.uri()))
        .token("bench-token")
        .build()
        .unwrap();

    let mut group = c.benchmark_group("timesync");
    group.throughput(Throughput::Elements(ITEMS as u64));
    group.sample_size(20);
    group.bench_function("list_times().stream() 10k", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = client.list_times().stream();
            let mut n = 0;
            while let Some(t) = stream.try_next().await.unwrap() {
                std::hint::black_box(&t);
                n += 1;
            }
            assert_eq!(n, ITEMS);
        })
    });
    group.finish();
}

criterion_group!(benches, drain);
criterion_main!(benches);
