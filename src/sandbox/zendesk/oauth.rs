//! Who is calling, and how they got their token: the credentials of the
//! spec's security schemes (`Bearer` OAuth access tokens; `Basic` with
//! `{email}/token:{api_token}`), the authorization page
//! (`/oauth/authorizations/new`, which signs in the account owner and
//! redirects with a code) and `POST /oauth/tokens` with its three grants.
//!
//! Codes live 120 seconds and are single use; a code asked for with a PKCE
//! `code_challenge` (S256) is redeemed only with the matching
//! `code_verifier`. A refresh rotates: the answer carries a new refresh
//! token, and the old refresh and access tokens stop working at once.
//! Client credentials answer no refresh token. Errors follow RFC 6749
//! (`invalid_grant` 400, `invalid_client` 401, `invalid_request`,
//! `unsupported_grant_type`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::errors::{Answer, Outcome, ZdErr, invalid_grant, oauth_error};
use super::store::{Caller, Config, Store};
use crate::sandbox::engine::{Request, Response};

/// The longest lifetime the sandbox gives a token (seconds).
const TEN_YEARS: i64 = 10 * 365 * 86_400;

/// How long a code can be redeemed.
const CODE_TTL: Duration = Duration::from_secs(120);

/// The lifetimes a token request may ask for (seconds).
const ACCESS_RANGE: std::ops::RangeInclusive<i64> = 300..=172_800;
const REFRESH_RANGE: std::ops::RangeInclusive<i64> = 604_800..=7_776_000;

/// An authorization code waiting to be redeemed.
pub(super) struct CodeRow {
    client_id: String,
    redirect_uri: String,
    user_id: u64,
    scope: String,
    challenge: Option<String>,
    issued: Instant,
}

/// An access token.
pub(super) struct AccessRow {
    user_id: u64,
    scope: String,
    pub(super) expires_at: Option<DateTime<Utc>>,
}

/// A refresh token and the access token issued with it.
pub(super) struct RefreshRow {
    client_id: String,
    user_id: u64,
    scope: String,
    access_token: String,
    expires_at: DateTime<Utc>,
}

/// A random token of `n` characters.
fn random_token(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

impl Store {
    /// The caller behind `credential` (scheme, value), or 401.
    pub(super) fn authenticate(
        &self,
        config: &Config,
        credential: Option<&(&str, String)>,
    ) -> Result<Caller, ZdErr> {
        let Some((scheme, value)) = credential else {
            return Err(ZdErr::unauthorized());
        };
        match *scheme {
            "oauth2" => {
                let row = self
                    .access_tokens
                    .get(value)
                    .ok_or_else(ZdErr::unauthorized)?;
                if row.expires_at.is_some_and(|t| t <= Utc::now()) {
                    return Err(ZdErr::unauthorized());
                }
                Ok(Caller {
                    user_id: row.user_id,
                    scopes: Some(row.scope.split_whitespace().map(str::to_string).collect()),
                })
            }
            "basic" => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(ZdErr::unauthorized)?;
                let (user, secret) = decoded.split_once(':').ok_or_else(ZdErr::unauthorized)?;
                // Only API tokens: email + password has been refused since January 2026.
                let email = user
                    .strip_suffix("/token")
                    .ok_or_else(ZdErr::unauthorized)?;
                config
                    .agents
                    .iter()
                    .find(|a| a.email.eq_ignore_ascii_case(email) && a.api_token.expose() == secret)
                    .and_then(|a| self.user_by_email(&a.email))
                    .map(|user_id| Caller {
                        user_id,
                        scopes: None,
                    })
                    .ok_or_else(ZdErr::unauthorized)
            }
            _ => Err(ZdErr::unauthorized()),
        }
    }

    /// `GET /oauth/authorizations/new`: the owner signs in and allows; 302
    /// to the redirect URI with `code` and `state`, or with `error`.
    pub(super) fn authorization_page(&mut self, config: &Config, request: &Request) -> Response {
        let q = &request.query;
        let client_ok = config
            .oauth_client
            .as_ref()
            .is_some_and(|(id, _)| Some(id.as_str()) == q.get("client_id"));
        let redirect = q.get("redirect_uri").unwrap_or_default();
        let redirect_ok = url::Url::parse(redirect)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            && (config.redirect_uris.is_empty()
                || config.redirect_uris.iter().any(|r| r == redirect));
        if !client_ok || !redirect_ok {
            return Response::new(
                StatusCode::BAD_REQUEST,
                "text/html; charset=utf-8",
                "<html><body><h1>Invalid authorization request</h1><p>Unknown client or redirect URI.</p></body></html>",
            );
        }
        let mut back: Vec<(String, String)> = Vec::new();
        let challenge = q.get("code_challenge").map(str::to_string);
        if q.get("response_type") != Some("code") {
            back.push(("error".into(), "unsupported_response_type".into()));
        } else if challenge.is_some() && q.get("code_challenge_method").unwrap_or("plain") != "S256"
        {
            back.push(("error".into(), "invalid_request".into()));
            back.push((
                "error_description".into(),
                "code_challenge_method must be S256".into(),
            ));
        } else {
            let code = random_token(40);
            self.codes.insert(
                code.clone(),
                CodeRow {
                    client_id: q.get("client_id").unwrap_or_default().to_string(),
                    redirect_uri: redirect.to_string(),
                    user_id: self.signed_in,
                    scope: q.get("scope").unwrap_or("read write").to_string(),
                    challenge,
                    issued: Instant::now(),
                },
            );
            back.push(("code".into(), code));
        }
        if let Some(state) = q.get("state") {
            back.push(("state".into(), state.to_string()));
        }
        let Ok(mut location) = url::Url::parse(redirect) else {
            return Response::empty(StatusCode::BAD_REQUEST);
        };
        location.query_pairs_mut().extend_pairs(&back);
        Response::empty(StatusCode::FOUND).with_header("location", location.as_str())
    }

    /// `POST /oauth/tokens`.
    pub(super) fn token(&mut self, config: &Config, body: &Value) -> Outcome {
        let text = |k: &str| body[k].as_str().filter(|s| !s.is_empty());
        let grant = text("grant_type")
            .ok_or_else(|| oauth_error("invalid_request", "grant_type is missing"))?;
        let (client_id, secret) = config
            .oauth_client
            .as_ref()
            .filter(|(id, _)| Some(id.as_str()) == text("client_id"))
            .ok_or_else(invalid_client)?;
        let authenticated = match text("client_secret") {
            Some(s) if s == secret.expose() => true,
            Some(_) => return Err(invalid_client()),
            None => false,
        };
        let lifetimes = Lifetimes::asked(config, body)?;
        match grant {
            "authorization_code" => {
                let code = text("code")
                    .ok_or_else(|| oauth_error("invalid_request", "code is missing"))?;
                let row = self.codes.remove(code).ok_or_else(invalid_grant)?;
                let verifier = text("code_verifier");
                if !authenticated && verifier.is_none() {
                    return Err(invalid_client());
                }
                let pkce_ok = match (&row.challenge, verifier) {
                    (Some(challenge), Some(v)) => s256(v) == *challenge,
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                let fresh = row.issued.elapsed() < CODE_TTL;
                if !fresh
                    || !pkce_ok
                    || row.client_id != *client_id
                    || text("redirect_uri") != Some(row.redirect_uri.as_str())
                {
                    return Err(invalid_grant());
                }
                Ok(self.issue(client_id, row.user_id, &row.scope, &lifetimes, true))
            }
            "refresh_token" => {
                let token = text("refresh_token")
                    .ok_or_else(|| oauth_error("invalid_request", "refresh_token is missing"))?;
                let row = self.refresh_tokens.get(token).ok_or_else(invalid_grant)?;
                if row.client_id != *client_id || row.expires_at <= Utc::now() {
                    return Err(invalid_grant());
                }
                let (user_id, scope) = (row.user_id, row.scope.clone());
                // Rotation: both old tokens go.
                if let Some(old) = self.refresh_tokens.remove(token) {
                    self.access_tokens.remove(&old.access_token);
                }
                Ok(self.issue(client_id, user_id, &scope, &lifetimes, true))
            }
            "client_credentials" => {
                if !authenticated {
                    return Err(invalid_client());
                }
                let scope = text("scope").unwrap_or("read write").to_string();
                let owner = self.signed_in;
                Ok(self.issue(client_id, owner, &scope, &lifetimes, false))
            }
            _ => Err(oauth_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )),
        }
    }

    fn issue(
        &mut self,
        client_id: &str,
        user_id: u64,
        scope: &str,
        life: &Lifetimes,
        refresh: bool,
    ) -> Answer {
        let access = random_token(64);
        let expires_at = Utc::now() + chrono::Duration::seconds(life.access);
        self.access_tokens.insert(
            access.clone(),
            AccessRow {
                user_id,
                scope: scope.to_string(),
                expires_at: Some(expires_at),
            },
        );
        let mut answer = json!({
            "access_token": access, "token_type": "bearer", "scope": scope, "expires_in": life.access,
        });
        if refresh {
            let token = random_token(64);
            self.refresh_tokens.insert(
                token.clone(),
                RefreshRow {
                    client_id: client_id.to_string(),
                    user_id,
                    scope: scope.to_string(),
                    access_token: access,
                    expires_at: Utc::now() + chrono::Duration::seconds(life.refresh),
                },
            );
            answer["refresh_token"] = json!(token);
            answer["refresh_token_expires_in"] = json!(life.refresh);
        }
        Answer::Ok(answer)
    }

    /// Makes every access token expire now (refresh tokens keep working).
    pub(super) fn expire_access_tokens(&mut self) {
        let past = Utc::now() - chrono::Duration::seconds(1);
        for row in self.access_tokens.values_mut() {
            row.expires_at = Some(past);
        }
    }
}

/// The lifetimes of the tokens to issue (seconds).
struct Lifetimes {
    access: i64,
    refresh: i64,
}

impl Lifetimes {
    /// The request's `expires_in` / `refresh_token_expires_in` (numbers, or
    /// text in a form body) within Zendesk's ranges, else the sandbox's.
    fn asked(config: &Config, body: &Value) -> Result<Lifetimes, ZdErr> {
        let read = |key: &str,
                    range: std::ops::RangeInclusive<i64>,
                    default: Duration|
         -> Result<i64, ZdErr> {
            let value = &body[key];
            if value.is_null() {
                // At most ten years, whatever the builder was given.
                return Ok(i64::try_from(default.as_secs()).map_or(TEN_YEARS, |s| s.min(TEN_YEARS)));
            }
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    oauth_error(
                        "invalid_request",
                        &format!(
                            "{key} must be between {} and {}",
                            range.start(),
                            range.end()
                        ),
                    )
                })
        };
        Ok(Lifetimes {
            access: read("expires_in", ACCESS_RANGE, config.access_token_ttl)?,
            refresh: read(
                "refresh_token_expires_in",
                REFRESH_RANGE,
                config.refresh_token_ttl,
            )?,
        })
    }
}

fn invalid_client() -> ZdErr {
    oauth_error(
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
    )
}

/// The S256 challenge of a PKCE verifier.
fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Whether `caller` may run an operation of `tag` with `method`: an API
/// token may do anything; an OAuth token needs `read` (GET) or `write`, or
/// the resource's own scope (`tickets:read`, `users:write`...).
pub(super) fn permits(caller: &Caller, tag: &str, method: &str) -> bool {
    let Some(scopes) = &caller.scopes else {
        return true;
    };
    let resource = match tag {
        "ticket_comments" | "ticket_audits" | "incremental" | "search" | "attachments" => "tickets",
        other => other,
    };
    let reading = method == "GET";
    scopes.iter().any(|s| match s.split_once(':') {
        Some((r, access)) => r == resource && (access == "write" || (reading && access == "read")),
        None => s == "write" || (reading && s == "read"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::zendesk::store::Config;

    #[test]
    fn a_code_with_a_challenge_needs_its_verifier_and_a_refresh_rotates() {
        let config = Config::for_tests();
        let mut store = Store::default();
        store.codes.insert(
            "c1".into(),
            CodeRow {
                client_id: "id".into(),
                redirect_uri: "https://app.example/cb".into(),
                user_id: 7,
                scope: "read".into(),
                challenge: Some(s256("verifier-1")),
                issued: Instant::now(),
            },
        );
        let mut ask = json!({"grant_type": "authorization_code", "code": "c1", "client_id": "id",
            "redirect_uri": "https://app.example/cb", "code_verifier": "wrong"});
        assert_eq!(
            store.token(&config, &ask).unwrap_err().body["error"],
            "invalid_grant"
        );
        // A code is single use, even when the first try failed.
        ask["code_verifier"] = json!("verifier-1");
        assert!(store.token(&config, &ask).is_err());
        let refresh = |store: &mut Store, token: &str| {
            store.token(
                &config,
                &json!({"grant_type": "refresh_token", "refresh_token": token,
                "client_id": "id", "client_secret": "secret"}),
            )
        };
        let Answer::Ok(first) = store.issue(
            "id",
            7,
            "read",
            &Lifetimes {
                access: 300,
                refresh: 604_800,
            },
            true,
        ) else {
            panic!("issued");
        };
        let old = first["refresh_token"].as_str().unwrap().to_string();
        let Ok(Answer::Ok(second)) = refresh(&mut store, &old) else {
            panic!("refreshed")
        };
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        assert_eq!(
            refresh(&mut store, &old).unwrap_err().body["error"],
            "invalid_grant"
        );
        assert!(
            !store
                .access_tokens
                .contains_key(first["access_token"].as_str().unwrap())
        );
        let caller = Caller {
            user_id: 1,
            scopes: Some(vec!["tickets:read".into()]),
        };
        assert!(permits(&caller, "tickets", "GET") && !permits(&caller, "tickets", "POST"));
        assert!(!permits(&caller, "users", "GET"));
    }
}
