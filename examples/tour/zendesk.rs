//! The Zendesk part of the tour: signing in, search past 1,000 results, a
//! page of tickets, a bulk job, and an incremental export resumed from a
//! saved position, on the built-in Zendesk sandbox or, given credentials, a
//! real account (read-only unless `--write`).

use futures::TryStreamExt;
use specbound::runtime::{Position, Secret, Sleep};
use specbound::sandbox::zendesk::Zendesk;
use specbound::zendesk::{Client, Search, prelude::*, types};

/// A real account to run the Zendesk part against, and how to sign in.
pub(crate) struct Account {
    pub(crate) host: Host,
    pub(crate) auth: ZendeskAuth,
    /// Run the steps that write (the bulk job).
    pub(crate) write: bool,
}

/// Where the account is.
pub(crate) enum Host {
    /// `https://{subdomain}.zendesk.com`.
    Subdomain(String),
    /// The account root as a full URL.
    Url(String),
}

/// How the tour signs in to a real account.
pub(crate) enum ZendeskAuth {
    /// An OAuth access token, used as it is.
    OAuthToken(Secret),
    /// An OAuth client's id and secret (client credentials grant).
    ClientCredentials(String, Secret),
    /// The legacy email and API token.
    ApiToken(String, Secret),
}

/// The flags of the Zendesk part, with their environment variables.
const FLAGS: [(&str, &str); 7] = [
    ("--zendesk-subdomain", "ZENDESK_SUBDOMAIN"),
    ("--zendesk-url", "ZENDESK_URL"),
    ("--zendesk-oauth-token", "ZENDESK_OAUTH_TOKEN"),
    ("--zendesk-client-id", "ZENDESK_CLIENT_ID"),
    ("--zendesk-client-secret", "ZENDESK_CLIENT_SECRET"),
    ("--zendesk-email", "ZENDESK_EMAIL"),
    ("--zendesk-api-token", "ZENDESK_API_TOKEN"),
];

/// The real account the settings name (`setting(flag, env)`: a flag's
/// value or the environment variable's), or `None` for the sandbox.
pub(crate) fn account(
    setting: impl Fn(&str, &str) -> Option<String>,
    write: bool,
) -> specbound::Result<Option<Account>> {
    let [
        subdomain,
        url,
        oauth_token,
        client_id,
        client_secret,
        email,
        api_token,
    ] = FLAGS.map(|(flag, env)| setting(flag, env));
    let config = |text: &str| specbound::Error::Config(text.into());
    let host = match (subdomain, url) {
        (Some(subdomain), None) => Host::Subdomain(subdomain),
        (None, Some(url)) => Host::Url(url),
        (Some(_), Some(_)) => {
            return Err(config(
                "give --zendesk-subdomain or --zendesk-url, not both",
            ));
        }
        (None, None) => {
            let given = [&oauth_token, &client_id, &client_secret, &email, &api_token];
            if let Some(i) = given.iter().position(|v| v.is_some()) {
                return Err(config(&format!(
                    "{} needs --zendesk-subdomain or --zendesk-url",
                    FLAGS[i + 2].0
                )));
            }
            return Ok(None);
        }
    };
    let auth = match (oauth_token, client_id, client_secret, email, api_token) {
        (Some(token), None, None, None, None) => ZendeskAuth::OAuthToken(Secret::new(token)),
        (None, Some(id), Some(secret), None, None) => {
            ZendeskAuth::ClientCredentials(id, Secret::new(secret))
        }
        (None, None, None, Some(email), Some(token)) => {
            ZendeskAuth::ApiToken(email, Secret::new(token))
        }
        _ => {
            return Err(config(
                "a Zendesk account needs one of: --zendesk-oauth-token; \
                 --zendesk-client-id with --zendesk-client-secret; \
                 --zendesk-email with --zendesk-api-token",
            ));
        }
    };
    Ok(Some(Account { host, auth, write }))
}

/// Runs the Zendesk part on `account`, or on a sandbox started here when
/// `None`; the client waits with `sleep`.
pub(crate) async fn zendesk_tour(
    account: Option<Account>,
    sleep: Sleep,
) -> Result<(), Box<dyn std::error::Error>> {
    // `_server` keeps the sandbox running until the end.
    let (zd, write, _server) = match &account {
        None => {
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
                .sleep(sleep)
                .build()?;
            (zd, true, Some(server))
        }
        Some(a) => {
            let builder = match &a.host {
                Host::Subdomain(subdomain) => Client::builder().subdomain(subdomain),
                Host::Url(url) => Client::builder().base_url(url.as_str()),
            };
            let builder = match &a.auth {
                ZendeskAuth::OAuthToken(token) => builder.oauth_token(token.clone()),
                ZendeskAuth::ClientCredentials(id, secret) => builder
                    .oauth(id.as_str(), secret.clone())
                    .client_credentials(),
                ZendeskAuth::ApiToken(email, token) => {
                    builder.api_token(email.as_str(), token.clone())
                }
            };
            let zd = builder.sleep(sleep).build()?;
            let at = match &a.host {
                Host::Subdomain(subdomain) => format!("{subdomain}.zendesk.com"),
                Host::Url(url) => url.clone(),
            };
            println!(
                "\n== Zendesk Support at {at} (real account{}) ==",
                if a.write { ", --write" } else { ", read-only" }
            );
            (zd, a.write, None)
        }
    };
    let real = account.is_some();
    let me = zd.get_current_user().send().await?;
    println!(
        "signed in as {:?}",
        me.user.as_ref().and_then(|u| u.name.clone())
    );

    // Search: more than 1,000 results, continued through the export
    // (the first 1,100 at most).
    let search = if real {
        let year_ago = chrono::Utc::now().date_naive() - chrono::Duration::days(365);
        Search::tickets().created_after(year_ago)
    } else {
        Search::tickets().text("Seeded")
    };
    let mut found = zd.search_all(search).stream();
    let mut count = 0usize;
    while count < 1_100 && found.try_next().await?.is_some() {
        count += 1;
    }
    println!("search past 1,000: {count} tickets (search, then /search/export)");

    // A page of tickets, cursor-paged.
    let page = zd.list_tickets().page_size(100).send().await?.into_inner();
    println!(
        "list_tickets: {} on the first page, more: {:?}",
        page.tickets.len(),
        page.meta.as_ref().and_then(|m| m.has_more)
    );

    if write {
        bulk_job(&zd, real).await?;
    } else {
        println!("bulk job: skipped (a real account: --write to run it)");
    }

    // Incremental export: read a part, save the position, resume later.
    let start = chrono::Utc::now().timestamp() - 86_400 * 365;
    let (first, more) = if real { (100, Some(100)) } else { (150, None) };
    let mut export = zd
        .incremental_tickets_cursor()
        .start_time(start)
        .per_page(std::num::NonZeroU32::new(100).ok_or("100")?)
        .stream();
    let mut read = 0;
    while read < first && export.try_next().await?.is_some() {
        read += 1;
    }
    let saved: Position = export.position();
    let text = serde_json::to_string(&saved)?;
    drop(export);
    let restored: Position = serde_json::from_str(&text)?;
    let mut resumed = zd
        .incremental_tickets_cursor()
        .start_time(start)
        .per_page(std::num::NonZeroU32::new(100).ok_or("100")?)
        .stream_from(restored);
    let mut rest = 0;
    while more.is_none_or(|m| rest < m) && resumed.try_next().await?.is_some() {
        rest += 1;
    }
    match more {
        None => println!(
            "incremental export: {read} read, position saved, {rest} more after resuming, until end_of_stream"
        ),
        Some(m) => println!(
            "incremental export: {read} read, position saved, {rest} more after resuming (at most {m})"
        ),
    }
    Ok(())
}

/// Five tickets in one job (the sandbox rejects the third); on a real
/// account, deleted again by a second job.
async fn bulk_job(zd: &Client, real: bool) -> Result<(), Box<dyn std::error::Error>> {
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
    if real {
        let ids: Vec<i64> = outcomes.iter().filter_map(|o| o.id).collect();
        let deleted = zd.destroy_many_tickets().bulk(ids).await?;
        let done = deleted.iter().filter(|o| o.success).count();
        println!("  deleted again: {done} of {} tickets", deleted.len());
    }
    Ok(())
}
