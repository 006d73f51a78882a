//! Runs one API's sandbox on 127.0.0.1 until interrupted, for driving it
//! with other clients (pymesync, pycronofy, the `cronofy` npm package, zenpy):
//!
//!     cargo run --example sandbox --all-features -- timesync
//!     cargo run --example sandbox --all-features -- cronofy
//!     cargo run --example sandbox --all-features -- graph
//!     cargo run --example sandbox --all-features -- zendesk
//!
//! prints the base URL and the credentials to use, one `key=value` per line.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let api = std::env::args().nth(1).unwrap_or_default();
    let started = match api.as_str() {
        #[cfg(feature = "timesync")]
        "timesync" => timesync().await,
        #[cfg(feature = "cronofy")]
        "cronofy" => cronofy().await,
        #[cfg(feature = "graph")]
        "graph" => graph().await,
        #[cfg(feature = "zendesk")]
        "zendesk" => zendesk().await,
        other => Err(format!(
            "usage: sandbox timesync|cronofy|graph|zendesk, of the enabled features (not `{other}`)"
        )),
    };
    match started {
        Ok(server) => {
            let _keep = server;
            let _ = tokio::signal::ctrl_c().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The TimeSync sandbox with a user; prints `base_url`, `user`, `password`.
#[cfg(feature = "timesync")]
async fn timesync() -> Result<Box<dyn std::any::Any>, String> {
    use specbound::sandbox::timesync::{Role, TimeSync};
    let (user, password) = ("admin", "admin-pw");
    // A site admin, site manager and site spectator, like the server's root user:
    // may create users, projects and activities.
    let server = TimeSync::builder()
        .user(user, password, Role::Admin)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    println!("base_url={}", server.base_url());
    println!("user={user}");
    println!("password={password}");
    Ok(Box::new(server))
}

/// The Cronofy sandbox with an application and an account; prints
/// `base_url`, `client_id`, `client_secret`, `access_token`, `refresh_token`
/// (of the account, from a code exchanged by the Rust client), and the
/// account's `calendar_id` and `account_id`. The calendar holds 60 events
/// from 2026-11-23T08:00:00Z on, half an hour each: three pages of 25.
#[cfg(feature = "cronofy")]
async fn cronofy() -> Result<Box<dyn std::any::Any>, String> {
    use specbound::cronofy::prelude::*;
    use specbound::sandbox::cronofy::Cronofy;
    let (client_id, client_secret) = ("sandbox-client-id", "sandbox-client-secret");
    let (account, redirect) = ("acc_5ba21743f408617d1269ea1e", "http://127.0.0.1/callback");
    let server = Cronofy::builder()
        .client(client_id, client_secret)
        .redirect_uri(redirect)
        .account(account, "alice@example.com")
        .page_size(25)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let calendar = server
        .primary_calendar_id(account)
        .ok_or("the account has no calendar")?;
    let first = chrono::DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
        .map_err(|e| e.to_string())?
        .to_utc();
    for i in 0..60 {
        let start = first + chrono::Duration::minutes(30 * i);
        let end = start + chrono::Duration::minutes(30);
        server
            .add_event(&calendar, &format!("Event {i:02}"), start, end)
            .map_err(|e| e.to_string())?;
    }
    let client = specbound::cronofy::Client::builder()
        .client_id(client_id)
        .client_secret(client_secret)
        .base_url(server.base_url())
        .app_url(server.app_url())
        .build()
        .map_err(|e| e.to_string())?;
    let code = server.issue_code(account, redirect);
    let token = client
        .get_authorization_from_code(&code, redirect)
        .await
        .map_err(|e| e.to_string())?;
    println!("base_url={}", server.base_url());
    println!("client_id={client_id}");
    println!("client_secret={client_secret}");
    println!("access_token={}", token.access_token.expose());
    let refresh = token.refresh_token.as_ref().map_or("", |r| r.expose());
    println!("refresh_token={refresh}");
    println!("account_id={account}");
    println!("calendar_id={calendar}");
    Ok(Box::new(server))
}

/// The Graph sandbox with two users (Adele, signed in, and Megan), 25
/// messages in each inbox; prints `base_url` (the Graph root: clients append
/// `/v1.0`; the login host is the same server), `user`, `user_id`,
/// `access_token` and `refresh_token` (Adele's, as a sign-in gives them),
/// and `drive_id` (Adele's OneDrive).
#[cfg(feature = "graph")]
async fn graph() -> Result<Box<dyn std::any::Any>, String> {
    use specbound::sandbox::graph::Graph;
    let user = "adele@contoso.com";
    let server = Graph::builder()
        .user(user, "Adele Vance")
        .user("megan@contoso.com", "Megan Bowen")
        .inbox_messages(25)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let token = server.issue_token(user).map_err(|e| e.to_string())?;
    println!("base_url={}", server.base_url());
    println!("user={user}");
    println!("user_id={}", server.user_id(user).unwrap_or_default());
    println!("access_token={}", token.access_token.expose());
    let refresh = token.refresh_token.as_ref().map_or("", |r| r.expose());
    println!("refresh_token={refresh}");
    println!("drive_id={}", server.drive_id(user).unwrap_or_default());
    Ok(Box::new(server))
}

/// The Zendesk sandbox: an admin with an API token, an OAuth client, 1,100
/// tickets (more than one search answers) asked by 20 end users of 5
/// organizations, 2 groups. Prints
/// `base_url`, `netloc` (for zenpy's `ZENPY_FORCE_NETLOC`), `subdomain`,
/// `email`, `api_token`, `client_id`, `client_secret`, `oauth_token` (from
/// the client credentials grant, by the Rust client) and the counts
/// `tickets`, `users` (end users and the admin), `organizations`, `groups`.
#[cfg(feature = "zendesk")]
async fn zendesk() -> Result<Box<dyn std::any::Any>, String> {
    use specbound::sandbox::zendesk::Zendesk;
    use specbound::zendesk::prelude::*;
    let (email, api_token) = ("admin@example.com", "sandbox-api-token");
    let (client_id, client_secret) = ("sandbox-client-id", "sandbox-client-secret");
    let server = Zendesk::builder()
        .agent(email, api_token)
        .oauth_client(client_id, client_secret)
        .tickets(1_100)
        .users(20)
        .organizations(5)
        .groups(2)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let client = specbound::zendesk::Client::builder()
        .base_url(server.base_url())
        .oauth(client_id, client_secret)
        .client_credentials()
        .build()
        .map_err(|e| e.to_string())?;
    client
        .get_current_user()
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let token = client
        .token()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no token after the client credentials grant")?;
    println!("base_url={}", server.base_url());
    println!("netloc={}", server.netloc());
    println!("subdomain=sandbox");
    println!("email={email}");
    println!("api_token={api_token}");
    println!("client_id={client_id}");
    println!("client_secret={client_secret}");
    println!("oauth_token={}", token.access_token.expose());
    println!("tickets=1100");
    println!("users=21");
    println!("organizations=5");
    println!("groups=2");
    Ok(Box::new(server))
}
