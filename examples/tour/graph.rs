//! The Graph part of the tour, on the built-in Graph sandbox: mail, an
//! event in a time zone, a chunked upload with progress, a copy monitor, a
//! batch and a delta run.

use futures::TryStreamExt;
use specbound::graph::{
    BatchItem, CalendarOwner, Client, Drive, Item, Mailbox, Query, Scopes, attr, prelude::*, types,
};
use specbound::runtime::MemoryTokenStore;
use specbound::sandbox::graph::Graph;

pub(crate) async fn graph_tour() -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== Microsoft Graph (sandbox) ==");
    let user = "adele@contoso.com";
    let server = Graph::builder()
        .user(user, "Adele Vance")
        .user("megan@contoso.com", "Megan Bowen")
        .inbox_messages(30)
        .start()
        .await?;
    let graph = Client::builder()
        .cloud(server.cloud())
        .tenant("contoso")
        .client_id("tour")
        .scopes(Scopes::helper([
            "basic",
            "message_all",
            "calendar_all",
            "onedrive_all",
        ]))
        .token_store(MemoryTokenStore::new())
        .token(server.issue_token(user)?)
        .build()?;

    // Mail: the inbox in pages of 10, stopped after 25, with a query.
    let inbox: Vec<types::Message> = graph
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .query(Query::new().select(["subject", "from"]).top(10))
        .stream()
        .limit(25)
        .try_collect()
        .await?;
    println!("inbox: read {} messages over next links", inbox.len());
    let unread = graph
        .list_messages()
        .mailbox(Mailbox::me())
        .query(Query::new().filter(attr("is_read").eq(false)).count(true))
        .send()
        .await?;
    println!("unread on the first page: {}", unread.value.len());
    let mail: types::SendMailBody = serde_json::from_value(serde_json::json!({
        "message": {
            "subject": "Tour",
            "body": {"contentType": "text", "content": "Sent by the specbound tour."},
            "toRecipients": [{"emailAddress": {"address": "megan@contoso.com"}}]
        },
        "saveToSentItems": true
    }))?;
    graph
        .send_mail()
        .mailbox(Mailbox::me())
        .body(mail)
        .send()
        .await?;
    println!("sent a mail to Megan");

    // Calendar: an event in Pacific time, read back in UTC by calendarView.
    let event: types::EventInput = serde_json::from_value(serde_json::json!({
        "subject": "Tour planning",
        "start": {"dateTime": "2030-07-01T09:30:00", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2030-07-01T10:30:00", "timeZone": "Pacific Standard Time"}
    }))?;
    let made = graph
        .create_event()
        .calendar_owner(CalendarOwner::me())
        .body(event)
        .send()
        .await?;
    println!(
        "event: {:?} starts {:?} UTC",
        made.subject,
        made.start_utc()?
    );
    let day: Vec<types::Event> = graph
        .list_calendar_view()
        .calendar_owner(CalendarOwner::me())
        .start_date_time("2030-07-01T00:00:00Z")
        .end_date_time("2030-07-02T00:00:00Z")
        .stream()
        .try_collect()
        .await?;
    println!("calendarView of 2030-07-01: {} event(s)", day.len());

    // OneDrive: 1 MiB in chunks of 320 KiB with progress, then a copy.
    let bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let uploaded = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "tour.bin",
            std::io::Cursor::new(bytes),
        )
        .chunk_size(327_680)
        .small_upload_limit(0)
        .progress(tx)
        .start()
        .await
        .map_err(specbound::Error::from)?;
    let mut events = 0;
    while rx.try_recv().is_ok() {
        events += 1;
    }
    println!(
        "uploaded {:?} ({} bytes, {events} progress events, quickXorHash checked)",
        uploaded.name,
        uploaded.size.unwrap_or_default()
    );
    let copy: types::CopyItemBody =
        serde_json::from_value(serde_json::json!({"name": "tour copy.bin"}))?;
    let id = uploaded.id.clone().unwrap_or_default();
    let copied = graph
        .copy(&Drive::me(), &Item::id(&id)?, copy)
        .start()
        .await?
        .wait()
        .await?;
    println!("copy monitor done: {:?}", copied.name);

    // A batch of three requests built by the generated builders.
    let items = vec![
        BatchItem::from_built(graph.get_user().mailbox(Mailbox::me()).build_request()?)?,
        BatchItem::from_built(
            graph
                .get_default_calendar()
                .calendar_owner(CalendarOwner::me())
                .build_request()?,
        )?,
        BatchItem::from_built(graph.get_drive().drive(Drive::me()).build_request()?)?,
    ];
    let outcomes = graph.batch_all(items).await?;
    let statuses: Vec<Option<u16>> = outcomes
        .iter()
        .map(|o| o.status.map(|s| s.as_u16()))
        .collect();
    println!("batch of 3: statuses {statuses:?}");

    // A delta round of the inbox; its delta link resumes the next round.
    let client = graph.clone();
    let mut sync = specbound::graph::delta::DeltaSync::new(move |position| {
        client
            .message_delta()
            .mailbox(Mailbox::me())
            .mail_folder_id("inbox")
            .stream_from(position)
    });
    let first = sync.run().await?;
    println!(
        "delta: {} items, then a delta link to resume from",
        first.items.len()
    );
    let again = sync.run().await?;
    println!(
        "delta again from the saved link: {} changes",
        again.items.len()
    );
    Ok(())
}
