//! The identity platform on the sandbox's root: the token endpoint
//! (`/{tenant}/oauth2/v2.0/token`: authorization code with PKCE S256,
//! refresh token with rotation, client credentials with a `/.default`
//! scope and a secret or a certificate's assertion (`assertion`), device
//! code), the device authorization endpoint, and the authorization page
//! (`/{tenant}/oauth2/v2.0/authorize`), which signs in the sandbox's
//! signed-in user at once and redirects with a code.
//!
//! Refresh tokens are only issued when the scope asks for `offline_access`.
//! With rotation on (the default) each refresh answers a new refresh token
//! and the old one is refused from then on (`invalid_grant`). Errors are the
//! identity platform's: 400 `{"error", "error_description": "AADSTS...",
//! "error_codes": [...]}` (401 for `invalid_client`).

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use chrono::{Duration, Utc};
use http::StatusCode;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::assertion;
use super::dispatch::Ctx;
use super::errors::{GraphErr, Outcome, oauth, ok};
use super::store::{
    AccessRow, Caller, CodeRow, Config, DeviceRow, RefreshRow, Store, URL_SAFE, random_text,
};
use crate::sandbox::engine::{Request, Response};

/// How long an authorization code can be redeemed.
const CODE_TTL_MINUTES: i64 = 10;
/// How long a device code waits for its user.
const DEVICE_CODE_TTL_SECS: i64 = 900;

/// A form field of a token request.
fn field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// Checks the client id and its proof: the secret or the assertion, when
/// one is sent or `secret_needed`. An assertion's `aud` must be `token_url`.
fn check_client(
    config: &Config,
    body: &Value,
    secret_needed: bool,
    token_url: &str,
) -> Result<String, GraphErr> {
    let id = field(body, "client_id").ok_or_else(|| {
        oauth(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    })?;
    let secret = field(body, "client_secret");
    let assertion = field(body, "client_assertion");
    if secret.is_some() && assertion.is_some() {
        return Err(oauth(
            "invalid_request",
            90023,
            "The request must contain either 'client_assertion' or 'client_secret', not both.",
        ));
    }
    if secret_needed && secret.is_none() && assertion.is_none() {
        return Err(oauth(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    if let Some((registered, registered_secret)) = &config.client {
        if id != registered {
            return Err(oauth(
                "unauthorized_client",
                700016,
                &format!("Application with identifier '{id}' was not found in the directory."),
            ));
        }
        if secret.is_some_and(|s| s != registered_secret.expose()) {
            return Err(oauth(
                "invalid_client",
                7000215,
                "Invalid client secret provided.",
            ));
        }
    }
    if assertion.is_some() {
        assertion::verify(config, body, id, token_url)?;
    }
    Ok(id.to_string())
}

/// `POST /{tenant}/oauth2/v2.0/token`, posted to `path`.
pub(super) fn token(
    store: &mut Store,
    ctx: &Ctx<'_>,
    path: &str,
    body: &Value,
    refreshes: &AtomicU64,
) -> Outcome {
    let token_url = format!("{}{path}", ctx.root);
    let check_client = |secret_needed| check_client(ctx.config, body, secret_needed, &token_url);
    let grant = field(body, "grant_type").unwrap_or("");
    match grant {
        "authorization_code" => {
            let client = check_client(false)?;
            let code = field(body, "code").unwrap_or("");
            let row = store.codes.remove(code).ok_or_else(|| {
                oauth("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
            })?;
            if row.expires_at <= Utc::now() {
                return Err(oauth(
                    "invalid_grant",
                    70008,
                    "The provided authorization code has expired.",
                ));
            }
            if field(body, "redirect_uri") != Some(row.redirect_uri.as_str()) {
                return Err(oauth(
                    "invalid_grant",
                    50011,
                    "The redirect URI specified in the request does not match the redirect URI of the authorization request.",
                ));
            }
            if let Some(challenge) = &row.challenge {
                let verifier = field(body, "code_verifier").unwrap_or("");
                if s256(verifier) != *challenge {
                    return Err(oauth(
                        "invalid_grant",
                        501481,
                        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                    ));
                }
            }
            let scope = field(body, "scope")
                .unwrap_or("User.Read offline_access")
                .to_string();
            ok(store.issue(ctx.config, &row.user_id, &client, &scope))
        }
        "refresh_token" => {
            let client = check_client(false)?;
            let old = field(body, "refresh_token").unwrap_or("");
            let row = store.refresh_tokens.get(old).cloned().ok_or_else(|| {
                oauth("invalid_grant", 70000, "The provided value for the 'refresh_token' is not valid: it is unknown, revoked or was already used.")
            })?;
            if row.client_id != client {
                return Err(oauth(
                    "invalid_grant",
                    70000,
                    "The refresh token was issued to another client.",
                ));
            }
            let mut answer = store.issue(ctx.config, &row.user_id, &client, &row.scope);
            if ctx.config.rotate_refresh_tokens {
                store.refresh_tokens.remove(old);
            } else if let Some(new) = answer["refresh_token"].as_str().map(str::to_string) {
                store.refresh_tokens.remove(&new);
                answer["refresh_token"] = json!(old);
            }
            refreshes.fetch_add(1, Ordering::Relaxed);
            ok(answer)
        }
        "client_credentials" => {
            check_client(true)?;
            let scope = field(body, "scope").unwrap_or("");
            if !scope.split(' ').all(|s| s.ends_with("/.default")) || scope.is_empty() {
                return Err(oauth(
                    "invalid_scope",
                    1002012,
                    &format!(
                        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                    ),
                ));
            }
            let access = access_token();
            let ttl = ctx.config.access_token_ttl.as_secs();
            store.access_tokens.insert(
                access.clone(),
                AccessRow {
                    caller: Caller::App,
                    expires_at: Utc::now() + secs(ttl),
                },
            );
            ok(
                json!({"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": access}),
            )
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let code = field(body, "device_code").unwrap_or("");
            let row = store.devices.get(code).cloned().ok_or_else(|| {
                oauth(
                    "invalid_grant",
                    70000,
                    "The provided device code is not valid.",
                )
            })?;
            if row.expires_at <= Utc::now() {
                store.devices.remove(code);
                return Err(oauth(
                    "expired_token",
                    70020,
                    "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
                ));
            }
            let Some(user) = row.approved_by else {
                return Err(oauth(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                ));
            };
            store.devices.remove(code);
            ok(store.issue(ctx.config, &user, &row.client_id, &row.scope))
        }
        other => Err(oauth(
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`, posted to `path`.
pub(super) fn device_code(store: &mut Store, ctx: &Ctx<'_>, path: &str, body: &Value) -> Outcome {
    let client = check_client(ctx.config, body, false, &format!("{}{path}", ctx.root))?;
    let scope = field(body, "scope").unwrap_or("User.Read").to_string();
    let device = random_text(48, URL_SAFE);
    let user_code = random_text(9, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789");
    store.devices.insert(
        device.clone(),
        DeviceRow {
            user_code: user_code.clone(),
            client_id: client,
            scope,
            expires_at: Utc::now() + Duration::seconds(DEVICE_CODE_TTL_SECS),
            approved_by: None,
        },
    );
    ok(json!({
        "device_code": device,
        "user_code": user_code,
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": DEVICE_CODE_TTL_SECS,
        "interval": 5,
        "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
    }))
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the signed-in user grants at once;
/// a redirect to `redirect_uri` with `code` and `state`. A client or
/// redirect URI that is not registered is a 400 page, as the real page shows.
pub(super) fn authorize_page(store: &mut Store, config: &Config, request: &Request) -> Outcome {
    let q = &request.query;
    let page_error = |text: &str| GraphErr::new(StatusCode::BAD_REQUEST, "invalid_request", text);
    let client = q.get("client_id").unwrap_or("");
    if config.client.as_ref().is_some_and(|(id, _)| id != client) {
        return Err(page_error(
            "AADSTS700016: the application was not found in the directory.",
        ));
    }
    let redirect = q.get("redirect_uri").unwrap_or("");
    if !redirect_allowed(config, redirect) {
        return Err(page_error(
            "AADSTS50011: the redirect URI does not match the ones registered.",
        ));
    }
    let mut target =
        url::Url::parse(redirect).map_err(|_| page_error("the redirect URI is not a URL"))?;
    if q.get("response_type") != Some("code") {
        target
            .query_pairs_mut()
            .append_pair("error", "unsupported_response_type");
        return Ok(redirect_to(&target));
    }
    let challenge = match (q.get("code_challenge"), q.get("code_challenge_method")) {
        (Some(c), Some("S256")) => Some(c.to_string()),
        (Some(_), _) => {
            target
                .query_pairs_mut()
                .append_pair("error", "invalid_request")
                .append_pair(
                    "error_description",
                    "AADSTS501491: only the S256 code challenge method is supported.",
                );
            return Ok(redirect_to(&target));
        }
        (None, _) => None,
    };
    let user = store.signed_in.clone().unwrap_or_default();
    let code = store.issue_code(&user, redirect, challenge);
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = q.get("state") {
        target.query_pairs_mut().append_pair("state", state);
    }
    Ok(redirect_to(&target))
}

fn redirect_to(target: &url::Url) -> Response {
    Response::empty(StatusCode::FOUND).with_header("location", target.as_str())
}

/// Whether `uri` is registered (or, with none registered, any web URL).
pub(super) fn redirect_allowed(config: &Config, uri: &str) -> bool {
    if config.redirect_uris.is_empty() {
        return uri.starts_with("http://") || uri.starts_with("https://");
    }
    config.redirect_uris.iter().any(|r| r == uri)
}

/// The PKCE S256 challenge of `verifier`.
pub(super) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn access_token() -> String {
    format!("eyJ0eXAiOiJKV1Qi.sandbox.{}", random_text(48, URL_SAFE))
}

fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

impl Store {
    /// A single-use code for `user` at `redirect_uri`, bound to `challenge`.
    pub(super) fn issue_code(
        &mut self,
        user: &str,
        redirect_uri: &str,
        challenge: Option<String>,
    ) -> String {
        let code = format!("0.A{}", random_text(60, URL_SAFE));
        self.codes.insert(
            code.clone(),
            CodeRow {
                user_id: user.to_string(),
                redirect_uri: redirect_uri.to_string(),
                challenge,
                expires_at: Utc::now() + Duration::minutes(CODE_TTL_MINUTES),
            },
        );
        code
    }

    /// A token answer for `user` of `client`: an access token, and a refresh
    /// token when `scope` asks for `offline_access`.
    pub(super) fn issue(
        &mut self,
        config: &Config,
        user: &str,
        client: &str,
        scope: &str,
    ) -> Value {
        let access = access_token();
        let ttl = config.access_token_ttl.as_secs();
        self.access_tokens.insert(
            access.clone(),
            AccessRow {
                caller: Caller::User(user.to_string()),
                expires_at: Utc::now() + secs(ttl),
            },
        );
        let granted: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        let mut answer = json!({
            "token_type": "Bearer",
            "scope": granted.join(" "),
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "access_token": access,
        });
        if granted
            .iter()
            .any(|s| s.eq_ignore_ascii_case("offline_access"))
        {
            let refresh = format!("0.A{}", random_text(80, URL_SAFE));
            self.refresh_tokens.insert(
                refresh.clone(),
                RefreshRow {
                    user_id: user.to_string(),
                    client_id: client.to_string(),
                    scope: scope.to_string(),
                },
            );
            answer["refresh_token"] = json!(refresh);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenges_are_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
