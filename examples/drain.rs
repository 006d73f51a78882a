//! Drains one API's list through the public streaming API, for
//! `../shared/bench/run.sh` (its contract is at the top of that script):
//!
//!     drain --base-url URL --api timesync|cronofy|graph|zendesk-cursor|zendesk-offset [--top N]
//!
//! prints `count=<items> secs=<seconds from building the client to the last item>`.
//! URL is the mock server's root; TimeSync's base URL is `URL/v0`, Cronofy's
//! is URL itself (paths start with `/v1`), Graph's Graph host is URL (the
//! client adds `/v1.0`), Zendesk's account root is URL. `--top` is Graph's
//! page size (`$top`, default 999). Zendesk drains `list_tickets` by cursor
//! (`stream()`, `page[size]=100`) or by page number (`offset_stream()`,
//! `per_page=100`).

use std::process::ExitCode;
use std::time::Instant;

use futures::TryStreamExt;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(base), Some(api)) = (arg(&args, "--base-url"), arg(&args, "--api")) else {
        eprintln!(
            "usage: drain --base-url URL --api timesync|cronofy|graph|zendesk-cursor|zendesk-offset [--top N]"
        );
        return ExitCode::FAILURE;
    };
    let started = Instant::now();
    let count = match api.as_str() {
        "timesync" => timesync(&base).await,
        "cronofy" => cronofy(&base).await,
        "graph" => {
            let top = arg(&args, "--top")
                .and_then(|t| t.parse().ok())
                .unwrap_or(std::num::NonZeroU32::new(999).expect("999"));
            graph(&base, top).await
        }
        "zendesk-cursor" => zendesk(&base, false).await,
        "zendesk-offset" => zendesk(&base, true).await,
        other => Err(format!(
            "--api {other}: this build has no streaming client for it yet"
        )),
    };
    match count {
        Ok(count) => {
            println!("count={count} secs={:.3}", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("drain: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn cronofy(base: &str) -> Result<usize, String> {
    use specbound::cronofy::{Client, prelude::*};
    let cronofy = Client::builder()
        .base_url(base)
        .client_id("bench-client")
        .client_secret("bench-secret")
        .access_token("bench-access-token", None)
        .build()
        .map_err(|e| e.to_string())?;
    let mut events = cronofy
        .read_events()
        .tzid("Etc/UTC")
        .stream()
        .prefetch(true);
    let mut count = 0;
    while let Some(event) = events.try_next().await.map_err(|e| e.to_string())? {
        std::hint::black_box(&event);
        count += 1;
    }
    Ok(count)
}

async fn timesync(base: &str) -> Result<usize, String> {
    use specbound::timesync::{AuthType, Client, prelude::*};
    let ts = Client::connect(&format!("{base}/v0")).map_err(|e| e.to_string())?;
    ts.authenticate("benchuser", "benchpass", AuthType::Password)
        .await
        .map_err(|e| e.to_string())?;
    let mut times = ts.list_times().stream();
    let mut count = 0;
    while let Some(time) = times.try_next().await.map_err(|e| e.to_string())? {
        std::hint::black_box(&time);
        count += 1;
    }
    Ok(count)
}

async fn graph(base: &str, top: std::num::NonZeroU32) -> Result<usize, String> {
    use specbound::graph::{Client, Mailbox, prelude::*};
    let graph = Client::builder()
        .base_url(base)
        .client_id("bench-client")
        .access_token("bench-access-token", None)
        .build()
        .map_err(|e| e.to_string())?;
    let mut messages = graph
        .list_messages()
        .mailbox(Mailbox::me())
        .top(top)
        .stream()
        .prefetch(true);
    let mut count = 0;
    while let Some(message) = messages.try_next().await.map_err(|e| e.to_string())? {
        std::hint::black_box(&message);
        count += 1;
    }
    Ok(count)
}

async fn zendesk(base: &str, offset: bool) -> Result<usize, String> {
    use specbound::zendesk::{Client, prelude::*};
    let zd = Client::builder()
        .base_url(base)
        .oauth_token("bench-access-token")
        .build()
        .map_err(|e| e.to_string())?;
    let list = zd.list_tickets();
    let mut tickets = if offset {
        list.per_page(std::num::NonZeroU32::new(100).expect("100"))
            .offset_stream()
    } else {
        list.page_size(std::num::NonZeroU32::new(100).expect("100"))
            .stream()
    }
    .prefetch(true);
    let mut count = 0;
    while let Some(ticket) = tickets.try_next().await.map_err(|e| e.to_string())? {
        std::hint::black_box(&ticket);
        count += 1;
    }
    Ok(count)
}
