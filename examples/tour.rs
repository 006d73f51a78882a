//! The tour: starts each built-in sandbox, drives each client through its main
//! calls and prints what happened.
//!
//!     cargo run --example tour --all-features
//!
//! Per API, a base URL and credentials (flags or environment variables, see
//! README.md) run the same calls against a real server instead:
//!
//!     cargo run --example tour --all-features -- --timesync-url https://timesync.example.edu/v0 \
//!         --timesync-user alice --timesync-password '...'

use std::process::ExitCode;

use futures::TryStreamExt;
use specbound::runtime::Patch;
use specbound::sandbox;
use specbound::timesync::{self, AuthType, types};

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
        println!(
            "usage: tour [--timesync-url URL --timesync-user NAME --timesync-password PW [--timesync-auth password|ldap]]"
        );
        return ExitCode::SUCCESS;
    }
    match timesync_tour(&args).await {
        Ok(()) => {
            println!("\ntour: done");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\ntour: failed: {e}");
            ExitCode::FAILURE
        }
    }
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
        .create_activity(&types::ActivityCreate::new(
            &format!("Tour development {tag}"),
            &activity_slug,
        ))
        .await?;
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
    let project = ts.create_project(&project).await?;
    println!(
        "create_project: {} {:?} uuid {}",
        project.name, project.slugs, project.uuid
    );

    let today = chrono::Utc::now().date_naive();
    let mut time = types::TimeCreate::new("3h30m".parse()?, &project_slug, &target.user, today);
    time.activities = vec![activity_slug.clone()];
    time.notes = Some("Wrote the tour".into());
    let created = ts.create_time(&time).await?;
    println!(
        "create_time: {} ({}s = {}) on {}",
        created.uuid,
        created.duration,
        timesync::Duration::from_secs(created.duration),
        created.project
    );

    let update = types::TimeUpdate {
        duration: Some("4h".parse::<timesync::Duration>()?.as_secs()),
        notes: Some("Wrote the tour, then fixed it".into()),
        activities: vec![activity_slug.clone()],
        ..Default::default()
    };
    let updated = ts.update_time(created.uuid, &update).await?;
    println!(
        "update_time: revision {} now {}s",
        updated.revision, updated.duration
    );

    let mut stream = ts
        .times()
        .user(&target.user)
        .project(&project_slug)
        .include_revisions(true)
        .stream();
    while let Some(t) = stream.try_next().await? {
        println!(
            "times(user, project, include_revisions): {} {}s, {} older revision(s), notes {:?}",
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
        let bob = ts.create_user(&user).await?;
        println!(
            "create_user: {} (password sent bcrypt-hashed)",
            bob.username
        );
        let bob = ts
            .update_user(
                "bob",
                &types::UserUpdate {
                    email: Patch::Null,
                    ..Default::default()
                },
            )
            .await?;
        println!("update_user(bob, email: null): email now {:?}", bob.email);
    }
    let users = ts.users().send().await?;
    println!("users(): {} user(s)", users.len());

    // Refused before sending, with the field named:
    match ts.times().project("Not A Slug").send().await {
        Err(e) => println!("times().project(\"Not A Slug\"): {e}"),
        Ok(_) => println!("times().project(\"Not A Slug\"): unexpectedly accepted"),
    }
    // An API error, typed:
    match ts.projects().slug("no-such-project").send().await {
        Err(e) => println!("projects().slug(\"no-such-project\"): {e}"),
        Ok(p) => println!("projects().slug(\"no-such-project\"): {} found", p.len()),
    }

    ts.delete_time(created.uuid).await?;
    let after = ts
        .times()
        .uuid(created.uuid)
        .include_deleted(true)
        .send()
        .await?;
    println!(
        "delete_time: soft-deleted on {:?}",
        after.first().and_then(|t| t.deleted_at)
    );
    ts.delete_project(&project_slug).await?;
    ts.delete_activity(&activity_slug).await?;
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
