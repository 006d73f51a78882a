//! The Zendesk part of the tour, on the built-in Zendesk sandbox: OAuth,
//! search past 1,000 results, a bulk job with a rejected item, and an
//! incremental export resumed from a saved position.

use futures::TryStreamExt;
use specbound::runtime::Position;
use specbound::sandbox::zendesk::Zendesk;
use specbound::zendesk::{Client, Search, prelude::*, types};

pub(crate) async fn zendesk_tour() -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== Zendesk Support (sandbox) ==");
    let server = Zendesk::builder()
        .agent("admin@example.com", "sandbox-api-token")
        .oauth_client("tour-client", "tour-secret")
        .tickets(1_100)
        .reject_bulk_item(2)
        .start()
        .await?;
    // OAuth: the client credentials grant (the code flow with PKCE is
    // ZendeskExt::authorization_url and exchange_code).
    let zd = Client::builder()
        .base_url(server.base_url())
        .oauth("tour-client", "tour-secret")
        .client_credentials()
        .build()?;
    let me = zd.get_current_user().send().await?;
    println!(
        "signed in with OAuth as {:?}",
        me.user.as_ref().and_then(|u| u.name.clone())
    );

    // Search: more than 1,000 results, continued through the export.
    let mut found = zd.search_all(Search::tickets().text("Seeded")).stream();
    let mut count = 0usize;
    while found.try_next().await?.is_some() {
        count += 1;
    }
    println!("search past 1,000: {count} tickets (search, then /search/export)");

    // Bulk: 5 tickets in one job; the sandbox rejects the third.
    let tickets: Vec<types::TicketInput> = (1..=5)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "subject": format!("Tour ticket {i}"),
                "comment": {"body": "from the specbound tour"}
            }))
        })
        .collect::<Result<_, _>>()?;
    let outcomes = zd.create_many_tickets().bulk(tickets).await?;
    for o in &outcomes {
        println!(
            "  item {}: {:?} id {:?} {}",
            o.index,
            o.status,
            o.id,
            o.error.as_deref().unwrap_or("")
        );
    }

    // Incremental export: read 150 tickets, save the position, resume later.
    let start = chrono::Utc::now().timestamp() - 86_400 * 365;
    let mut export = zd
        .incremental_tickets_cursor()
        .start_time(start)
        .per_page(std::num::NonZeroU32::new(100).expect("100"))
        .stream();
    for _ in 0..150 {
        export.try_next().await?;
    }
    let saved: Position = export.position();
    let text = serde_json::to_string(&saved)?;
    drop(export);
    let restored: Position = serde_json::from_str(&text)?;
    let rest: Vec<types::Ticket> = zd
        .incremental_tickets_cursor()
        .start_time(start)
        .per_page(std::num::NonZeroU32::new(100).expect("100"))
        .stream_from(restored)
        .try_collect()
        .await?;
    println!(
        "incremental export: 150 read, position saved, {} more after resuming, until end_of_stream",
        rest.len()
    );
    Ok(())
}
