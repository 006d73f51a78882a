//! The Graph part of the tour: mail, an event in a time zone, a chunked
//! upload with progress, a copy monitor, a batch and a delta run, on the
//! built-in Graph sandbox or, given credentials, a real tenant (read-only
//! unless `--write`).

use futures::TryStreamExt;
use specbound::graph::{
    BatchItem, CalendarOwner, Client, Cloud, Drive, Item, Mailbox, Owner, Query, Scopes, attr,
    prelude::*, types,
};
use specbound::runtime::{MemoryTokenStore, Secret, Sleep};
use specbound::sandbox::graph::Graph;

/// A real tenant to run the Graph part against, and how to sign in.
pub(crate) struct Tenant {
    pub(crate) cloud: Cloud,
    pub(crate) tenant: String,
    pub(crate) client_id: String,
    pub(crate) auth: GraphAuth,
    /// `users/{user}` instead of `me` (required with a client secret:
    /// application tokens have no `me`).
    pub(crate) user: Option<String>,
    /// Run the steps that write (send mail, create an event, upload).
    pub(crate) write: bool,
}

/// How the tour signs in to a real tenant.
pub(crate) enum GraphAuth {
    /// An access token, used as it is (never refreshed).
    Token(Secret),
    /// The application's client secret (client credentials grant).
    ClientSecret(Secret),
}

/// The flags of the Graph part, with their environment variables.
const FLAGS: [(&str, &str); 8] = [
    ("--graph-token", "GRAPH_TOKEN"),
    ("--graph-client-secret", "GRAPH_CLIENT_SECRET"),
    ("--graph-tenant", "GRAPH_TENANT"),
    ("--graph-client-id", "GRAPH_CLIENT_ID"),
    ("--graph-user", "GRAPH_USER"),
    ("--graph-cloud", "GRAPH_CLOUD"),
    ("--graph-url", "GRAPH_URL"),
    ("--graph-login-url", "GRAPH_LOGIN_URL"),
];

/// The real tenant the settings name (`setting(flag, env)`: a flag's value
/// or the environment variable's), or `None` for the sandbox.
pub(crate) fn tenant(
    setting: impl Fn(&str, &str) -> Option<String>,
    write: bool,
) -> specbound::Result<Option<Tenant>> {
    let [
        token,
        secret,
        tenant,
        client_id,
        user,
        cloud,
        url,
        login_url,
    ] = FLAGS.map(|(flag, env)| setting(flag, env));
    let config = |text: &str| specbound::Error::Config(text.into());
    let auth = match (token, secret) {
        (Some(token), None) => GraphAuth::Token(Secret::new(token)),
        (None, Some(secret)) => GraphAuth::ClientSecret(Secret::new(secret)),
        (Some(_), Some(_)) => {
            return Err(config(
                "give --graph-token or --graph-client-secret, not both",
            ));
        }
        (None, None) => {
            let given = [&tenant, &client_id, &user, &cloud, &url, &login_url];
            if let Some(i) = given.iter().position(|v| v.is_some()) {
                return Err(config(&format!(
                    "{} needs --graph-token or --graph-client-secret",
                    FLAGS[i + 2].0
                )));
            }
            return Ok(None);
        }
    };
    let app = matches!(auth, GraphAuth::ClientSecret(_));
    if app && (tenant.is_none() || client_id.is_none() || user.is_none()) {
        return Err(config(
            "--graph-client-secret needs --graph-tenant, --graph-client-id and --graph-user \
             (application tokens have no `me`)",
        ));
    }
    let cloud = match (url, login_url, cloud.as_deref()) {
        (Some(_), _, Some(_)) => return Err(config("give --graph-url or --graph-cloud, not both")),
        (None, Some(_), _) => return Err(config("--graph-login-url needs --graph-url")),
        (Some(graph), login, None) => Cloud::Custom {
            login: login.unwrap_or_else(|| graph.clone()),
            graph,
        },
        (None, None, None | Some("global")) => Cloud::Global,
        (None, None, Some("usgov-l4")) => Cloud::UsGovL4,
        (None, None, Some("usgov-l5")) => Cloud::UsGovL5,
        (None, None, Some("china")) => Cloud::China,
        (None, None, Some(other)) => {
            return Err(config(&format!(
                "--graph-cloud `{other}`: use global, usgov-l4, usgov-l5 or china"
            )));
        }
    };
    Ok(Some(Tenant {
        cloud,
        tenant: tenant.unwrap_or_else(|| "common".into()),
        client_id: client_id.unwrap_or_default(),
        auth,
        user,
        write,
    }))
}

/// Whose mailbox, calendar and drive the tour works on.
struct Who {
    mailbox: Mailbox,
    calendar: CalendarOwner,
    drive: Drive,
}

impl Who {
    fn of(user: Option<&str>) -> specbound::Result<Who> {
        Ok(match user {
            None => Who {
                mailbox: Mailbox::me(),
                calendar: CalendarOwner::me(),
                drive: Drive::me(),
            },
            Some(user) => Who {
                mailbox: Mailbox::user(user)?,
                calendar: CalendarOwner::user(user)?,
                drive: Drive::of(&Owner::user(user)?)?,
            },
        })
    }
}

/// Runs the Graph part on `tenant`, or on a sandbox started here when
/// `None`; the client waits with `sleep`.
pub(crate) async fn graph_tour(
    tenant: Option<Tenant>,
    sleep: Sleep,
) -> Result<(), Box<dyn std::error::Error>> {
    let sandbox_user = "adele@contoso.com";
    // `_server` keeps the sandbox running until the end.
    let (graph, who, write, _server) = match &tenant {
        None => {
            println!("\n== Microsoft Graph (sandbox) ==");
            let started = Graph::builder()
                .user(sandbox_user, "Adele Vance")
                .user("megan@contoso.com", "Megan Bowen")
                .inbox_messages(30)
                .start()
                .await?;
            let graph = Client::builder()
                .cloud(started.cloud())
                .tenant("contoso")
                .client_id("tour")
                .scopes(Scopes::helper([
                    "basic",
                    "message_all",
                    "calendar_all",
                    "onedrive_all",
                ]))
                .token_store(MemoryTokenStore::new())
                .token(started.issue_token(sandbox_user)?)
                .sleep(sleep)
                .build()?;
            (graph, Who::of(None)?, true, Some(started))
        }
        Some(t) => {
            println!(
                "\n== Microsoft Graph, {} cloud, tenant {} (real tenant{}) ==",
                t.cloud.name(),
                t.tenant,
                if t.write { ", --write" } else { ", read-only" }
            );
            let builder = Client::builder()
                .cloud(t.cloud.clone())
                .tenant(t.tenant.as_str())
                .client_id(t.client_id.as_str())
                .sleep(sleep);
            let graph = match &t.auth {
                GraphAuth::Token(token) => builder.access_token(token.clone(), None).build()?,
                GraphAuth::ClientSecret(secret) => builder
                    .client_secret(secret.clone())
                    .client_credentials()
                    .build()?,
            };
            (graph, Who::of(t.user.as_deref())?, t.write, None)
        }
    };
    let real = tenant.is_some();
    let skipped = |what: &str| println!("{what}: skipped (a real tenant: --write to run it)");
    // Names that cannot clash with anything already in a real drive.
    let tag = format!("{:08x}", fastrand::u32(..));

    // Mail: the inbox in pages of 10, stopped after 25, with a query.
    let inbox: Vec<types::Message> = graph
        .list_folder_messages()
        .mailbox(who.mailbox.clone())
        .mail_folder_id("inbox")
        .query(Query::new().select(["subject", "from"]).top(10))
        .stream()
        .limit(25)
        .try_collect()
        .await?;
    println!("inbox: read {} messages over next links", inbox.len());
    let unread = graph
        .list_messages()
        .mailbox(who.mailbox.clone())
        .query(Query::new().filter(attr("is_read").eq(false)).count(true))
        .send()
        .await?;
    println!("unread on the first page: {}", unread.value.len());
    if write {
        let to = match &tenant {
            Some(t) => recipient(&graph, &who, t.user.as_deref()).await?,
            None => "megan@contoso.com".to_string(),
        };
        let mail: types::SendMailBody = serde_json::from_value(serde_json::json!({
            "message": {
                "subject": "Tour",
                "body": {"contentType": "text", "content": "Sent by the specbound tour."},
                "toRecipients": [{"emailAddress": {"address": to}}]
            },
            "saveToSentItems": true
        }))?;
        graph
            .send_mail()
            .mailbox(who.mailbox.clone())
            .body(mail)
            .send()
            .await?;
        println!("sent a mail to {to}");
    } else {
        skipped("send mail");
    }

    // Calendar: an event in Pacific time, read back in UTC by calendarView.
    if write {
        let event: types::EventInput = serde_json::from_value(serde_json::json!({
            "subject": format!("Tour planning {tag}"),
            "start": {"dateTime": "2030-07-01T09:30:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2030-07-01T10:30:00", "timeZone": "Pacific Standard Time"}
        }))?;
        let made = graph
            .create_event()
            .calendar_owner(who.calendar.clone())
            .body(event)
            .send()
            .await?;
        println!(
            "event: {:?} starts {:?} UTC",
            made.subject,
            made.start_utc()?
        );
        if real {
            graph
                .delete_event()
                .calendar_owner(who.calendar.clone())
                .event_id(made.id.clone())
                .send()
                .await?;
            println!("event deleted again");
        }
    } else {
        skipped("create event");
    }
    let (from, to) = if real {
        let today = chrono::Utc::now().date_naive();
        (today, today + chrono::Duration::days(7))
    } else {
        let day = chrono::NaiveDate::from_ymd_opt(2030, 7, 1).ok_or("2030-07-01")?;
        (day, day + chrono::Duration::days(1))
    };
    let view: Vec<types::Event> = graph
        .list_calendar_view()
        .calendar_owner(who.calendar.clone())
        .start_date_time(format!("{from}T00:00:00Z"))
        .end_date_time(format!("{to}T00:00:00Z"))
        .stream()
        .try_collect()
        .await?;
    println!("calendarView {from} to {to}: {} event(s)", view.len());

    // OneDrive: the root's children; 1 MiB in chunks of 320 KiB with
    // progress, then a copy.
    let children: Vec<types::DriveItem> = graph
        .list_children()
        .drive(who.drive.clone())
        .item(Item::root())
        .stream()
        .limit(50)
        .try_collect()
        .await?;
    println!("drive root: {} item(s) (at most 50 read)", children.len());
    if write {
        upload_and_copy(&graph, &who, real, &tag).await?;
    } else {
        skipped("upload and copy");
    }

    // A batch of three requests built by the generated builders.
    let items = vec![
        BatchItem::from_built(
            graph
                .get_user()
                .mailbox(who.mailbox.clone())
                .build_request()?,
        )?,
        BatchItem::from_built(
            graph
                .get_default_calendar()
                .calendar_owner(who.calendar.clone())
                .build_request()?,
        )?,
        BatchItem::from_built(graph.get_drive().drive(who.drive.clone()).build_request()?)?,
    ];
    let outcomes = graph.batch_all(items).await?;
    let statuses: Vec<Option<u16>> = outcomes
        .iter()
        .map(|o| o.status.map(|s| s.as_u16()))
        .collect();
    println!("batch of 3: statuses {statuses:?}");

    // A delta round of the inbox's last 30 days; its delta link resumes
    // the next round.
    let since = chrono::Utc::now() - chrono::Duration::days(30);
    let client = graph.clone();
    let mailbox = who.mailbox.clone();
    let mut sync = specbound::graph::delta::DeltaSync::new(move |position| {
        client
            .message_delta()
            .mailbox(mailbox.clone())
            .mail_folder_id("inbox")
            .query(
                Query::new()
                    .select(["subject"])
                    .filter(attr("received_date_time").ge(since)),
            )
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

/// Where a real tenant's tour mail goes: to the user it works on.
async fn recipient(
    graph: &Client,
    who: &Who,
    user: Option<&str>,
) -> Result<String, Box<dyn std::error::Error>> {
    if let Some(user) = user {
        return Ok(user.to_string());
    }
    let me = graph
        .get_user()
        .mailbox(who.mailbox.clone())
        .send()
        .await?
        .into_inner();
    Ok(me
        .mail
        .or(me.user_principal_name)
        .ok_or("the signed-in user has no mail address")?)
}

/// Uploads 1 MiB in chunks with progress and copies it; on a real tenant,
/// under a tagged name, deleting both afterwards.
async fn upload_and_copy(
    graph: &Client,
    who: &Who,
    real: bool,
    tag: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let (name, copy_name) = if real {
        (
            format!("specbound-tour-{tag}.bin"),
            format!("specbound-tour-{tag} copy.bin"),
        )
    } else {
        ("tour.bin".to_string(), "tour copy.bin".to_string())
    };
    let bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let uploaded = graph
        .upload(
            &who.drive,
            &Item::root(),
            &name,
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
        serde_json::from_value(serde_json::json!({ "name": copy_name }))?;
    let id = uploaded.id.clone().unwrap_or_default();
    let copied = graph
        .copy(&who.drive, &Item::id(&id)?, copy)
        .start()
        .await?
        .wait()
        .await?;
    println!("copy monitor done: {:?}", copied.name);
    if real {
        for item in [uploaded.id, copied.id].into_iter().flatten() {
            graph
                .delete_item()
                .drive(who.drive.clone())
                .item(Item::id(&item)?)
                .send()
                .await?;
        }
        println!("both files deleted again (to the recycle bin)");
    }
    Ok(())
}
