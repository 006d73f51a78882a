//! Clients sharing one token file, in one process and in several, against a
//! token endpoint that rotates its refresh token on every use (as Cronofy
//! with rotation on, and Zendesk always): one refresh per expiry, nobody
//! locked out with `invalid_grant`, the file always readable.
//!
//! The processes are this test binary started again on the `#[ignore]`d
//! `child_client` test, which does nothing unless the parent set its
//! environment variables.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::oauth::{ClientAuth, RefreshToken, TokenEndpoint};
use super::spec::ApiSpec;
use super::{
    ApiProfile, Config, CredentialCore, FileTokenStore, OAuthToken, Runtime, Secret, TokenStore,
};

static SPEC: ApiSpec = ApiSpec::for_tests("tokens", &[], &[]);

static PROFILE: ApiProfile = ApiProfile::for_tests(&SPEC);

/// A token endpoint that rotates: each refresh token works once.
struct Rotating {
    state: Mutex<(u32, String)>,
    refreshes: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl Respond for Rotating {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let sent = form
            .iter()
            .find(|(k, _)| k == "refresh_token")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut state = self.state.lock().unwrap();
        if sent != state.1 {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_grant"}));
        }
        state.0 += 1;
        state.1 = format!("refresh-{}", state.0);
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": format!("access-{}", state.0),
            "refresh_token": state.1,
            "expires_in": 3600,
            "token_type": "bearer",
        }))
    }
}

struct Endpoint {
    server: MockServer,
    refreshes: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

async fn endpoint() -> Endpoint {
    let server = MockServer::start().await;
    let refreshes = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(Rotating {
            state: Mutex::new((0, "refresh-0".into())),
            refreshes: refreshes.clone(),
            refused: refused.clone(),
        })
        .mount(&server)
        .await;
    Endpoint {
        server,
        refreshes,
        refused,
    }
}

/// A token file holding an expired token with the first refresh token.
async fn expired_store(name: &str) -> std::path::PathBuf {
    let file = std::env::temp_dir().join(format!("specbound-{name}-{}.json", fastrand::u64(..)));
    let mut token = OAuthToken::new("access-0", Some(Secret::new("refresh-0")), None);
    token.expires_at = Some(chrono::Utc::now() - chrono::Duration::seconds(5));
    FileTokenStore::new(&file).save(&token, None).await.unwrap();
    file
}

/// A credential core over a fresh `FileTokenStore` on `file`, refreshing at `token_url`.
fn client(token_url: &str, file: &std::path::Path) -> CredentialCore {
    let runtime = Runtime::new(&PROFILE, token_url, &Config::default()).unwrap();
    let endpoint = TokenEndpoint::new(
        &runtime,
        "/oauth/token",
        "app",
        "app-secret",
        ClientAuth::Body,
    );
    CredentialCore::new(
        Arc::new(FileTokenStore::new(file)),
        Some(Arc::new(RefreshToken::new(endpoint))),
    )
}

#[tokio::test]
async fn eight_clients_on_one_token_file_in_one_process_refresh_once() {
    let ep = endpoint().await;
    let file = expired_store("one-process").await;
    // Each reads the expired token first, as long-running clients do.
    let mut cores = Vec::new();
    for _ in 0..8 {
        let core = client(&ep.server.uri(), &file);
        core.token().await.unwrap();
        cores.push(core);
    }
    let tasks: Vec<_> = cores
        .into_iter()
        .map(|core| {
            tokio::spawn(async move {
                core.access_token()
                    .await
                    .map(|(t, _)| t.expose().to_string())
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "access-1");
    }
    assert_eq!(
        ep.refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for eight clients"
    );
    assert_eq!(
        ep.refused.load(Ordering::SeqCst),
        0,
        "nobody used a rotated-away refresh token"
    );
    let stored = FileTokenStore::new(&file).load().await.unwrap().unwrap();
    assert_eq!(stored.token.refresh_token.unwrap().expose(), "refresh-1");
    cleanup(&file);
}

#[test]
fn eight_processes_on_one_token_file_refresh_once_and_none_is_locked_out() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ep, file) =
        runtime.block_on(async { (endpoint().await, expired_store("processes").await) });
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "runtime::shared_store_tests::child_client",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env("SPECBOUND_CHILD_TOKEN_URL", ep.server.uri())
                .env("SPECBOUND_CHILD_TOKEN_FILE", &file)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // The server answers on this runtime while the children run. Each
    // child reads the expired token, says so, and waits for "go", so that
    // all of them renew at once with the token they read at start.
    let outputs: Vec<_> = runtime.block_on(async {
        let mut children = children;
        let mut readers = Vec::new();
        for child in &mut children {
            readers.push(std::io::BufReader::new(child.stdout.take().unwrap()));
        }
        let readers = tokio::task::spawn_blocking(move || {
            use std::io::BufRead as _;
            for r in &mut readers {
                let mut line = String::new();
                while !line.contains("child loaded") {
                    line.clear();
                    if r.read_line(&mut line).unwrap() == 0 {
                        break;
                    }
                }
            }
            readers
        })
        .await
        .unwrap();
        for child in &mut children {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(b"go\n").unwrap();
        }
        let waits = children.into_iter().zip(readers).map(|(c, mut r)| {
            tokio::task::spawn_blocking(move || {
                use std::io::Read as _;
                let mut rest = String::new();
                let _ = r.read_to_string(&mut rest);
                c.wait_with_output().map(|mut out| {
                    out.stdout = rest.into_bytes();
                    out
                })
            })
        });
        futures::future::join_all(waits).await
    });
    for out in outputs {
        let out = out.unwrap().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("child got access-1"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        ep.refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for eight processes"
    );
    assert_eq!(
        ep.refused.load(Ordering::SeqCst),
        0,
        "no process was locked out"
    );
    let stored = runtime
        .block_on(FileTokenStore::new(&file).load())
        .unwrap()
        .unwrap();
    assert_eq!(stored.token.refresh_token.unwrap().expose(), "refresh-1");
    cleanup(&file);
}

/// One client of the multi-process test (run by the test above).
#[tokio::test]
#[ignore = "run by eight_processes_on_one_token_file_refresh_once_and_none_is_locked_out"]
async fn child_client() {
    let (Ok(url), Ok(file)) = (
        std::env::var("SPECBOUND_CHILD_TOKEN_URL"),
        std::env::var("SPECBOUND_CHILD_TOKEN_FILE"),
    ) else {
        return;
    };
    let core = client(&url, std::path::Path::new(&file));
    let loaded = core.token().await.unwrap().unwrap();
    assert!(loaded.expires_within(Duration::ZERO));
    println!("child loaded");
    tokio::task::spawn_blocking(|| {
        let mut go = String::new();
        std::io::stdin().read_line(&mut go).unwrap();
    })
    .await
    .unwrap();
    let (token, _) = tokio::time::timeout(Duration::from_secs(60), core.access_token())
        .await
        .expect("no answer within a minute")
        .unwrap();
    println!("child got {}", token.expose());
}

fn cleanup(file: &std::path::Path) {
    for suffix in ["", ".lock", ".renew.lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

#[tokio::test]
async fn client_credentials_are_posted_as_a_form_and_renewed_when_they_run_out() {
    use super::oauth::ClientCredentials;
    use wiremock::matchers::{body_string_contains, header};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("authorization", "Basic YXBwOmFwcC1zZWNyZXQ="))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("scope=read+write"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "app-token", "expires_in": 30, "token_type": "bearer",
        })))
        .expect(2)
        .mount(&server)
        .await;
    let runtime = Runtime::new(&PROFILE, &server.uri(), &Config::default()).unwrap();
    let endpoint = TokenEndpoint::new(
        &runtime,
        "/oauth/token",
        "app",
        "app-secret",
        ClientAuth::Basic,
    );
    let grant = ClientCredentials::new(endpoint, Some("read write".into()));
    let core = CredentialCore::new(
        Arc::new(super::MemoryTokenStore::new()),
        Some(Arc::new(grant)),
    );
    // No token yet: the grant obtains one; it lives 30 s, under the
    // renewal margin, so the next call obtains a new one.
    assert_eq!(core.access_token().await.unwrap().0.expose(), "app-token");
    assert_eq!(core.access_token().await.unwrap().0.expose(), "app-token");
}
