//! The tour: starts each built-in sandbox, drives each client through its main
//! calls and prints what happened.
//!
//!     cargo run --example tour --all-features
//!
//! Per API, a base URL and credentials (flags or environment variables, see
//! README.md and `--help`) run the same calls against a real server instead:
//!
//!     cargo run --example tour --all-features -- --timesync-url https://timesync.example.edu/v0 \
//!         --timesync-user alice --timesync-password '...'
//!
//! Against a real Graph tenant or Zendesk account the tour only reads,
//! unless `--write` is given.

mod graph;
mod zendesk;

use std::process::ExitCode;

use futures::TryStreamExt;
use specbound::runtime::{Patch, Sleep};
use specbound::sandbox;
use specbound::timesync::{self, AuthType, prelude::*, types};

/// What `--help` prints.
const USAGE: &str = "\
usage: tour [--write] [OPTIONS]

Runs every client against its built-in sandbox; the options of an API run
its part against a real server instead (each option may be given as the
environment variable in brackets).

  --write                          against a real Graph tenant or Zendesk account, also
                                   run the steps that write (send mail, create an event,
                                   upload, bulk job) [TOUR_WRITE=1]; otherwise skipped
TimeSync (each --timesync-X also as TIMESYNC_X):
  --timesync-url URL --timesync-user NAME --timesync-password PW
  [--timesync-auth password|ldap]
Cronofy (each --cronofy-X also as CRONOFY_X):
  --cronofy-client-id ID --cronofy-client-secret S --cronofy-access-token T
  [--cronofy-refresh-token T] [--cronofy-data-center DC] [--cronofy-calendar-id ID]
Microsoft Graph (a delegated token works on `me`, an application on --graph-user):
  --graph-token T                  an access token, used as it is [GRAPH_TOKEN]
  --graph-client-secret S          or: client credentials, with --graph-tenant,
                                   --graph-client-id and --graph-user [GRAPH_CLIENT_SECRET]
  --graph-tenant T                 tenant id or domain [GRAPH_TENANT]
  --graph-client-id ID             the application (client) id [GRAPH_CLIENT_ID]
  --graph-user U                   work on users/U instead of me [GRAPH_USER]
  --graph-cloud C                  global (default), usgov-l4, usgov-l5, china [GRAPH_CLOUD]
  --graph-url URL                  or: another Graph root (no version) [GRAPH_URL]
  --graph-login-url URL            its login host (default: the same) [GRAPH_LOGIN_URL]
Zendesk:
  --zendesk-subdomain S            https://S.zendesk.com [ZENDESK_SUBDOMAIN]
  --zendesk-url URL                or: the account root as a full URL [ZENDESK_URL]
  --zendesk-oauth-token T          an OAuth access token [ZENDESK_OAUTH_TOKEN]
  --zendesk-client-id ID --zendesk-client-secret S
                                   or: client credentials [ZENDESK_CLIENT_ID, ZENDESK_CLIENT_SECRET]
  --zendesk-email E --zendesk-api-token T
                                   or: the legacy API token [ZENDESK_EMAIL, ZENDESK_API_TOKEN]
";

/// A flag's value, or the environment variable's.
fn setting(args: &[String], flag: &str, env: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let write =
        args.iter().any(|a| a == "--write") || std::env::var("TOUR_WRITE").is_ok_and(|v| v == "1");
    let lookup = |flag: &str, env: &str| setting(&args, flag, env);
    let mut failed = false;
    if let Err(e) = timesync_tour(&args).await {
        eprintln!("\ntour: TimeSync failed: {e}");
        failed = true;
    }
    if let Err(e) = cronofy_tour(&args).await {
        eprintln!("\ntour: Cronofy failed: {e}");
        failed = true;
    }
    let graph = match graph::tenant(lookup, write) {
        Ok(tenant) => graph::graph_tour(tenant, Sleep::tokio()).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = graph {
        eprintln!("\ntour: Graph failed: {e}");
        failed = true;
    }
    let zendesk = match zendesk::account(lookup, write) {
        Ok(account) => zendesk::zendesk_tour(account, Sleep::tokio()).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = zendesk {
        eprintln!("\ntour: Zendesk failed: {e}");
        failed = true;
    }
    if failed {
        return ExitCode::FAILURE;
    }
    println!("\ntour: done");
    ExitCode::SUCCESS
}

/// Where the TimeSync part runs: a real server, or a sandbox started here.
struct Target {
    base_url: String,
    user: String,
    password: String,
    auth: AuthType,
    real: bool,
    /// Keeps the sandbox running for the tour.
    _sandbox: Option<sandbox::timesync::TimeSync>,
}

async fn timesync_target(args: &[String]) -> specbound::Result<Target> {
    if let Some(base_url) = setting(args, "--timesync-url", "TIMESYNC_URL") {
        let user = setting(args, "--timesync-user", "TIMESYNC_USER").ok_or_else(|| {
            specbound::Error::Config(
                "--timesync-url needs --timesync-user (or TIMESYNC_USER)".into(),
            )
        })?;
        let password =
            setting(args, "--timesync-password", "TIMESYNC_PASSWORD").ok_or_else(|| {
                specbound::Error::Config(
                    "--timesync-url needs --timesync-password (or TIMESYNC_PASSWORD)".into(),
                )
            })?;
        let auth = match setting(args, "--timesync-auth", "TIMESYNC_AUTH").as_deref() {
            None | Some("password") => AuthType::Password,
            Some("ldap") => AuthType::Ldap,
            Some(other) => {
                return Err(specbound::Error::Config(format!(
                    "--timesync-auth `{other}`: use password or ldap"
                )));
            }
        };
        return Ok(Target {
            base_url,
            user,
            password,
            auth,
            real: true,
            _sandbox: None,
        });
    }
    let server = sandbox::timesync::TimeSync::builder()
        .user("alice", "correct horse", sandbox::timesync::Role::Admin)
        .start()
        .await?;
    Ok(Target {
        base_url: server.base_url(),
        user: "alice".into(),
        password: "correct horse".into(),
        auth: AuthType::Password,
        real: false,
        _sandbox: Some(server),
    })
}

async fn timesync_tour(args: &[String]) -> specbound::Result<()> {
    let target = timesync_target(args).await?;
    println!(
        "== TimeSync at {} ({})",
        target.base_url,
        if target.real {
            "real server"
        } else {
            "sandbox"
        }
    );
    let ts = timesync::Client::builder()
        .base_url(target.base_url.as_str())
        .bcrypt_cost(if target.real { 10 } else { 4 })
        .build()?;

    ts.authenticate(&target.user, target.password.as_str(), target.auth)
        .await?;
    println!(
        "authenticate({}): token valid until {}",
        target.user,
        ts.token_expiration_time()?
    );

    // Names that cannot clash with anything already on a real server.
    let tag = format!("{:x}", fastrand_tag());
    let (project_slug, activity_slug) = (format!("tour-{tag}"), format!("tour-dev-{tag}"));

    let activity = ts
        .create_activity()
        .body(types::ActivityCreate::new(
            &format!("Tour development {tag}"),
            &activity_slug,
        ))
        .send()
        .await?
        .into_inner();
    println!(
        "create_activity: {} ({}), revision {}",
        activity.name, activity_slug, activity.revision
    );

    let mut project =
        types::ProjectCreate::new(&format!("specbound tour {tag}"), &[project_slug.as_str()]);
    project.uri = Some("https://github.com/osuosl/timesync".into());
    project.default_activity = Some(activity_slug.clone());
    project.users.insert(
        target.user.clone(),
        types::ProjectUserRoles {
            member: true,
            spectator: true,
            manager: true,
        },
    );
    let project = ts.create_project().body(project).send().await?.into_inner();
    println!(
        "create_project: {} {:?} uuid {}",
        project.name, project.slugs, project.uuid
    );

    let today = chrono::Utc::now().date_naive();
    let mut time = types::TimeCreate::new("3h30m".parse()?, &project_slug, &target.user, today);
    time.activities = vec![activity_slug.clone()];
    time.notes = Some("Wrote the tour".into());
    let created = ts.create_time().body(time).send().await?.into_inner();
    println!(
        "create_time: {} ({}s) on {}",
        created.uuid, created.duration, created.project
    );

    let update = types::TimeUpdate {
        duration: Some("4h".parse::<timesync::Duration>()?.as_secs_f64()),
        notes: Some("Wrote the tour, then fixed it".into()),
        activities: vec![activity_slug.clone()],
        ..Default::default()
    };
    let updated = ts
        .update_time()
        .uuid(created.uuid)
        .body(update)
        .send()
        .await?
        .into_inner();
    println!(
        "update_time: revision {} now {}s",
        updated.revision, updated.duration
    );

    let mut stream = ts
        .list_times()
        .user(vec![target.user.clone()])
        .project(vec![project_slug.clone()])
        .include_revisions(true)
        .stream();
    while let Some(t) = stream.try_next().await? {
        println!(
            "list_times(user, project, include_revisions): {} {}s, {} older revision(s), notes {:?}",
            t.uuid,
            t.duration,
            t.parents.len(),
            t.notes
        );
    }

    let roles = ts.project_users(&project_slug).await?;
    for (user, r) in &roles {
        println!(
            "project_users({project_slug}): {user} member={} spectator={} manager={}",
            r.member, r.spectator, r.manager
        );
    }

    if !target.real {
        let mut user = types::UserCreate::new("bob", "hunter2");
        user.display_name = Some("Bob".into());
        user.email = Some("bob@example.com".into());
        let bob = ts.create_user().body(user).send().await?.into_inner();
        println!(
            "create_user: {} (password sent bcrypt-hashed)",
            bob.username
        );
        let bob = ts
            .update_user()
            .username("bob")
            .body(types::UserUpdate {
                email: Patch::Null,
                ..Default::default()
            })
            .send()
            .await?
            .into_inner();
        println!("update_user(bob, email: null): email now {:?}", bob.email);
    }
    let users = ts.list_users().send().await?.into_inner();
    println!("list_users: {} user(s)", users.len());

    // Refused before sending (the spec's slug pattern), with the field named:
    match ts
        .list_times()
        .project(vec!["Not A Slug".into()])
        .send()
        .await
    {
        Err(e) => println!("list_times().project([\"Not A Slug\"]): {e}"),
        Ok(_) => println!("list_times().project([\"Not A Slug\"]): unexpectedly accepted"),
    }
    // An API error, typed:
    match ts
        .get_project()
        .slug("no-such-project".parse::<types::Slug>()?)
        .send()
        .await
    {
        Err(e) => println!("get_project(no-such-project): {e}"),
        Ok(p) => println!("get_project(no-such-project): {} found", p.name),
    }

    ts.delete_time().uuid(created.uuid).send().await?;
    let after = ts.get_time().uuid(created.uuid).send().await;
    println!(
        "delete_time: then get_time answers {}",
        after
            .err()
            .map_or("the entry".to_string(), |e| e.to_string())
    );
    let project_slug: types::Slug = project_slug.parse()?;
    ts.delete_project().slug(project_slug).send().await?;
    ts.delete_activity()
        .slug(activity_slug.parse::<types::Slug>()?)
        .send()
        .await?;
    println!("delete_project, delete_activity: cleaned up");
    Ok(())
}

/// A short random tag for names made by the tour.
fn fastrand_tag() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id()
}

/// The Cronofy part: against a real account when credentials are given,
/// otherwise against the sandbox, through an authorization code.
async fn cronofy_tour(args: &[String]) -> specbound::Result<()> {
    use specbound::cronofy::{self, prelude::*, types};
    use specbound::runtime::FileTokenStore;

    let store_path = std::env::temp_dir().join(format!(
        "specbound-tour-cronofy-{}.json",
        std::process::id()
    ));
    let redirect = "https://example.com/cronofy/callback";
    let real_id = setting(args, "--cronofy-client-id", "CRONOFY_CLIENT_ID");
    let mut sandbox = None;
    let client = match real_id {
        Some(client_id) => {
            let secret = setting(args, "--cronofy-client-secret", "CRONOFY_CLIENT_SECRET")
                .ok_or_else(|| {
                    specbound::Error::Config(
                        "--cronofy-client-id needs --cronofy-client-secret".into(),
                    )
                })?;
            let access = setting(args, "--cronofy-access-token", "CRONOFY_ACCESS_TOKEN")
                .ok_or_else(|| {
                    specbound::Error::Config(
                        "--cronofy-client-id needs --cronofy-access-token".into(),
                    )
                })?;
            let refresh =
                setting(args, "--cronofy-refresh-token", "CRONOFY_REFRESH_TOKEN").map(Into::into);
            let dc = setting(args, "--cronofy-data-center", "CRONOFY_DATA_CENTER")
                .unwrap_or_else(|| "us".into());
            println!("\n== Cronofy, data center {dc} (real account)");
            cronofy::Client::builder()
                .client_id(client_id)
                .client_secret(secret)
                .data_center_id(&dc)
                .access_token(access, refresh)
                .build()?
        }
        None => {
            let server = specbound::sandbox::cronofy::Cronofy::builder()
                .client("tour-client", "tour-secret")
                .redirect_uri(redirect)
                .account("acc_5ba21743f408617d1269ea1e", "alice@example.com")
                .page_size(10)
                .start()
                .await?;
            println!("\n== Cronofy at {} (sandbox)", server.base_url());
            let client = cronofy::Client::builder()
                .client_id("tour-client")
                .client_secret("tour-secret")
                .base_url(server.base_url())
                .app_url(server.app_url())
                .token_store(FileTokenStore::new(&store_path))
                .build()?;
            let link = client
                .user_auth_link(redirect)
                .scope(["read_write"])
                .state("tour-state")
                .build()?;
            println!("user_auth_link: {link}");
            // The user would sign in and come back with a code; the sandbox plays that part.
            let code = server.issue_code("acc_5ba21743f408617d1269ea1e", redirect);
            let token = client.get_authorization_from_code(&code, redirect).await?;
            println!(
                "get_authorization_from_code: token for {:?}, expires {:?}, saved to {}",
                token.subject,
                token.expires_at,
                store_path.display()
            );
            sandbox = Some(server);
            client
        }
    };

    let account = client.get_account().send().await?.into_inner().account;
    println!("get_account: {} ({:?})", account.account_id, account.email);
    let profiles = client.list_profiles().send().await?.into_inner().profiles;
    println!("list_profiles: {} profile(s)", profiles.len());
    let calendars = client.list_calendars().send().await?.into_inner().calendars;
    for c in &calendars {
        println!(
            "list_calendars: {} {:?} primary={:?}",
            c.calendar_id, c.calendar_name, c.calendar_primary
        );
    }

    let calendar_id = match (
        &sandbox,
        setting(args, "--cronofy-calendar-id", "CRONOFY_CALENDAR_ID"),
    ) {
        (_, Some(id)) => Some(id),
        (Some(_), None) => {
            let profile_id = profiles
                .first()
                .map(|p| p.profile_id.clone())
                .unwrap_or_default();
            let created = client
                .create_calendar()
                .body(types::CalendarCreate {
                    color: None,
                    name: "Tour".into(),
                    profile_id,
                })
                .send()
                .await?
                .into_inner()
                .calendar;
            println!(
                "create_calendar: {} {:?}",
                created.calendar_id, created.calendar_name
            );
            Some(created.calendar_id)
        }
        (None, None) => None,
    };

    // Cronofy refuses times with fractions of a second (the client checks it).
    let now =
        chrono::DurationRound::duration_trunc(chrono::Utc::now(), chrono::TimeDelta::seconds(1))
            .map_err(|e| specbound::Error::Config(e.to_string()))?;
    let today = now.date_naive();
    if let Some(calendar_id) = &calendar_id {
        for i in 0..25 {
            let start = now + chrono::Duration::hours(2 * i + 1);
            let mut event = types::EventUpsert::builder()
                .event_id(format!("specbound-tour-{i}"))
                .summary(format!("Tour event {i}"))
                .start(types::EventTime::from(start))
                .end(types::EventTime::from(
                    start + chrono::Duration::minutes(45),
                ));
            if i == 0 {
                event = event.tzid(Some("Europe/London".to_string()));
            }
            let event: types::EventUpsert = event.try_into()?;
            client
                .upsert_event()
                .calendar_id(calendar_id.clone())
                .body(event)
                .send()
                .await?;
        }
        println!("upsert_event: 25 managed events in {calendar_id}");
    }

    let mut events = client
        .read_events()
        .from(today)
        .to(today + chrono::Duration::days(7))
        .tzid("Europe/London")
        .include_managed(true)
        .stream();
    let mut count = 0;
    let mut pages = 0;
    while let Some(event) = events.try_next().await? {
        pages = events.current_page().map_or(pages, |p| p.pages.current);
        if count < 2 {
            println!(
                "read_events: {:?} {} -> {}",
                event.summary, event.start, event.end
            );
        }
        count += 1;
    }
    println!("read_events: {count} event(s) over {pages} page(s), following pages.next_page");

    let busy = client
        .read_free_busy()
        .from(today)
        .to(today + chrono::Duration::days(2))
        .tzid("Etc/UTC")
        .include_managed(true)
        .stream()
        .try_collect::<Vec<_>>()
        .await?;
    println!(
        "read_free_busy: {} block(s) in the next two days",
        busy.len()
    );

    let backwards: types::EventUpsert = types::EventUpsert::builder()
        .event_id("bad")
        .summary("Ends before it starts")
        .start(types::EventTime::from(now))
        .end(types::EventTime::from(now - chrono::Duration::hours(1)))
        .try_into()?;
    match client
        .upsert_event()
        .calendar_id(calendar_id.clone().unwrap_or_else(|| "cal_x".into()))
        .body(backwards)
        .send()
        .await
    {
        Err(e) => println!("upsert_event(end before start): {e}"),
        Ok(_) => println!("upsert_event(end before start): unexpectedly accepted"),
    }

    if let (Some(calendar_id), Some(server)) = (&calendar_id, &sandbox) {
        let entries = (0..25)
            .map(|i| types::BatchEntry::delete_event(calendar_id, &format!("specbound-tour-{i}")))
            .collect::<specbound::Result<Vec<_>>>()?;
        let results = client.send_batch(entries).await?;
        println!(
            "send_batch: {} deletes, statuses {:?}",
            results.len(),
            results
                .iter()
                .map(|r| r.status)
                .collect::<std::collections::BTreeSet<_>>()
        );
        let channel = client
            .create_channel()
            .body(types::ChannelCreate {
                callback_url: "https://example.com/cronofy/notifications".into(),
                filters: None,
            })
            .send()
            .await?
            .into_inner()
            .channel;
        println!("create_channel: {}", channel.channel_id);
        client
            .close_channel()
            .channel_id(channel.channel_id.clone())
            .send()
            .await?;
        println!("close_channel: done");

        // A Smart Invite (sandbox only: the real one emails the recipient).
        let invite = types::SmartInviteUpsert::builder()
            .smart_invite_id("specbound-tour-invite")
            .recipient(Some(types::SmartInviteRecipientRequest::try_from(
                types::SmartInviteRecipientRequest::builder().email("guest@example.com"),
            )?))
            .event(
                types::SmartInviteEvent::builder()
                    .summary("specbound tour: coffee")
                    .start(types::EventTime::from(now + chrono::Duration::hours(3)))
                    .end(types::EventTime::from(now + chrono::Duration::hours(4))),
            )
            .try_into()?;
        let created = client
            .upsert_smart_invite()
            .body(types::SmartInviteRequest::Upsert(invite))
            .send()
            .await?
            .into_inner();
        let ics_lines = created
            .attachments
            .and_then(|a| a.icalendar)
            .map_or(0, |ics| ics.lines().count());
        server.reply_to_smart_invite("specbound-tour-invite", "guest@example.com", "accepted")?;
        let reply = client
            .get_smart_invite()
            .smart_invite_id("specbound-tour-invite")
            .recipient_email("guest@example.com")
            .send()
            .await?
            .into_inner()
            .recipient
            .and_then(|r| r.status);
        println!(
            "upsert_smart_invite: {} ({ics_lines} ICS lines); the guest replied {reply:?}",
            created.smart_invite_id
        );
        client.revoke_stored_token().await?;
        println!("revoke_stored_token: token revoked and removed from the store");
    } else if let Some(calendar_id) = &calendar_id {
        for i in 0..25 {
            client
                .delete_event()
                .calendar_id(calendar_id.clone())
                .body(types::EventDelete {
                    event_id: format!("specbound-tour-{i}"),
                    include_userinfo: None,
                })
                .send()
                .await?;
        }
        println!("delete_event: the 25 tour events removed");
    }
    let _ = std::fs::remove_file(&store_path);
    Ok(())
}
