//! TimeSync's login session: the token, where it goes on each request, and
//! logging in again before it expires.
//!
//! TimeSync has no `Authorization` header (the server ignores it). A GET or
//! DELETE carries the token as `?token=`, a POST inside its JSON body as
//! `{"auth": {"type": "token", "token": ..}, "object": ..}`. The spec declares
//! the query form as an `apiKey` security scheme and the body form with
//! `x-specbound-auth: body`; [`Session::authorize`] does both on every request,
//! so a retried or replayed request always carries the current token.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use chrono::DateTime;
use futures::future::BoxFuture;

use super::generated::{Client, prelude::*, types};
use crate::error::AuthErrorKind;
use crate::runtime::set_query;
use crate::runtime::spec::{Operation, Scheme};
use crate::runtime::{
    Authorizer, CredentialCore, Grant, OAuthToken, Prepare, Secret, Stamp, TokenStore,
};
use crate::{Error, Result};

/// How TimeSync checks a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// TimeSync's own user database.
    Password,
    /// The LDAP directory the server is configured with.
    Ldap,
}

impl From<AuthType> for types::LoginAuthType {
    fn from(t: AuthType) -> Self {
        match t {
            AuthType::Password => types::LoginAuthType::Password,
            AuthType::Ldap => types::LoginAuthType::Ldap,
        }
    }
}

/// TimeSync's login session: a [`CredentialCore`] whose grant is a login
/// with the stored credentials, and the token put where TimeSync reads it.
pub(crate) struct Session {
    /// A client without the session, for `login`.
    login: Client,
    core: CredentialCore,
    keep_credentials: bool,
}

/// Logs in again with stored credentials: TimeSync's way to renew a token.
struct Login {
    client: Client,
    username: String,
    password: Secret,
    auth_type: AuthType,
}

impl Login {
    async fn token(&self) -> Result<OAuthToken> {
        let body = types::LoginRequest {
            auth: types::LoginAuth {
                type_: self.auth_type.into(),
                username: self.username.clone(),
                password: self.password.clone(),
            },
        };
        let answer = self.client.login().body(body).send().await?.into_inner();
        Ok(parse_token(answer.token))
    }
}

impl Grant for Login {
    fn obtain<'a>(&'a self, _current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            self.token().await.map_err(|e| {
                Error::auth(
                    AuthErrorKind::RefreshFailed,
                    format!("logging in again as {} failed: {e}", self.username),
                )
            })
        })
    }

    fn can_obtain(&self, _current: Option<&OAuthToken>) -> bool {
        true
    }
}

impl Session {
    pub(crate) fn new(login: Client, store: Arc<dyn TokenStore>, keep_credentials: bool) -> Self {
        Session {
            login,
            core: CredentialCore::new(store, None),
            keep_credentials,
        }
    }

    /// Logs in and keeps the token (saved to the store first); with
    /// `keep_credentials`, also the credentials, to log in again by itself.
    pub(crate) async fn log_in(
        &self,
        username: &str,
        password: Secret,
        auth_type: AuthType,
    ) -> Result<()> {
        if username.trim().is_empty() {
            return Err(Error::invalid("username", "must not be empty"));
        }
        if password.expose().is_empty() {
            return Err(Error::invalid("password", "must not be empty"));
        }
        let login = Login {
            client: self.login.clone(),
            username: username.to_string(),
            password,
            auth_type,
        };
        let token = login.token().await?;
        self.core.set_grant(
            self.keep_credentials
                .then(|| Arc::new(login) as Arc<dyn Grant>),
        );
        self.core.set(token).await
    }

    /// Uses a token obtained elsewhere (as pymesync's `TimeSync(token=..)`).
    pub(crate) fn start_with(&self, token: Secret) {
        self.core.start_with(parse_token(token));
    }

    /// The current token, if any.
    pub(crate) fn current(&self) -> Option<OAuthToken> {
        self.core.current()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.core.current();
        f.debug_struct("Session")
            .field("authenticated", &token.is_some())
            .field("expires_at", &token.as_ref().and_then(|t| t.expires_at))
            .finish_non_exhaustive()
    }
}

impl Authorizer for Session {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'a str,
    ) -> BoxFuture<'a, Result<Stamp>> {
        Box::pin(async move {
            if !super::spec::API.takes_credentials(operation_id) {
                return Ok(Stamp::NONE);
            }
            let (token, stamp) = self.core.access_token().await.map_err(|e| match e {
                Error::Auth {
                    kind: AuthErrorKind::Missing,
                    ..
                } => Error::auth(
                    AuthErrorKind::Missing,
                    "not authenticated with TimeSync: call authenticate() first",
                ),
                other => other,
            })?;
            put_token(request, super::spec::API.operation(operation_id), &token)?;
            Ok(stamp)
        })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        _: &'a str,
        body: &'a [u8],
        stamp: Stamp,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            // TimeSync answers 401 both for a rejected token ("Authentication
            // failure", e.g. "Bad API token" after a server restart) and for a
            // refused permission ("Authorization failure"); only the first is
            // mended by logging in again.
            let rejected_token = serde_json::from_slice::<types::Error>(body)
                .is_ok_and(|e| e.error == "Authentication failure");
            if !rejected_token {
                return Ok(false);
            }
            self.core.renew_after_unauthorized(stamp).await
        })
    }
}

/// Hashes the password field an operation names in `x-specbound-bcrypt`
/// (a JSON pointer into its body) with bcrypt, prefix `$2a$`, as pymesync.
pub(crate) struct HashPasswords {
    pub(crate) cost: u32,
}

impl Prepare for HashPasswords {
    fn prepare<'a>(
        &'a self,
        op: &'static Operation,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Some(pointer) = op
                .extension("x-specbound-bcrypt")
                .and_then(|v| serde_json::from_str::<String>(v).ok())
            else {
                return Ok(());
            };
            let Some(bytes) = request.body().and_then(|b| b.as_bytes()) else {
                return Ok(());
            };
            let mut body: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| Error::invalid("request body", format!("is not JSON: {e}")))?;
            let Some(field) = body.pointer_mut(&pointer) else {
                return Ok(());
            };
            let Some(password) = field.as_str().map(Secret::new) else {
                return Ok(());
            };
            let cost = self.cost;
            let hashed = tokio::task::spawn_blocking(move || {
                bcrypt::hash_with_result(password.expose(), cost)
                    .map(|h| h.format_for_version(bcrypt::Version::TwoA))
            })
            .await
            .map_err(|e| Error::Config(format!("password hashing stopped: {e}")))?
            .map_err(|e| Error::invalid("password", format!("cannot be hashed: {e}")))?;
            *field = serde_json::Value::String(hashed);
            let bytes = serde_json::to_vec(&body)
                .map_err(|e| Error::invalid("request body", e.to_string()))?;
            *request.body_mut() = Some(bytes.into());
            Ok(())
        })
    }
}

/// Puts `token` where the spec says `op` carries it: the `auth` block of
/// the JSON body for an operation marked `x-specbound-auth: body`, else the
/// query parameter of its apiKey scheme. A raw request of no operation
/// carries it as the spec's operations of its method do (a POST in its
/// body). A body is written again, whole numbers without a fraction (see
/// [`write_whole_numbers_as_integers`]).
fn put_token(request: &mut reqwest::Request, op: Option<&Operation>, token: &Secret) -> Result<()> {
    let in_body = match op {
        Some(op) => op.extension("x-specbound-auth") == Some("\"body\""),
        None => request.method() == reqwest::Method::POST,
    };
    if in_body {
        let Some(body) = request.body().and_then(|b| b.as_bytes()) else {
            return Err(Error::invalid(
                "request body",
                "a TimeSync POST needs a JSON body to carry the token",
            ));
        };
        let mut value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| Error::invalid("request body", format!("is not JSON: {e}")))?;
        let Some(object) = value.as_object_mut() else {
            return Err(Error::invalid(
                "request body",
                "a TimeSync POST body must be a JSON object",
            ));
        };
        object.insert(
            "auth".into(),
            serde_json::json!({ "type": "token", "token": token.expose() }),
        );
        write_whole_numbers_as_integers(&mut value);
        let bytes = serde_json::to_vec(&value)
            .map_err(|e| Error::invalid("request body", e.to_string()))?;
        *request.body_mut() = Some(bytes.into());
    } else {
        set_query(request.url_mut(), query_key(op)?, token.expose());
    }
    Ok(())
}

/// The query parameter of the apiKey scheme `op` names (of the spec's
/// first one for a raw request of no operation).
fn query_key(op: Option<&Operation>) -> Result<&'static str> {
    let api = &super::spec::API;
    let key = |name: &str| match api.scheme(name) {
        Some(Scheme::QueryKey(key)) => Some(key),
        _ => None,
    };
    match op {
        Some(op) => op.security.iter().find_map(|name| key(name)),
        None => api.security_schemes.iter().find_map(|(name, _)| key(name)),
    }
    .ok_or_else(|| Error::Config("timesync: the spec names no apiKey scheme in the query".into()))
}

/// Numbers as JavaScript writes them: a whole number (`12600.0`, which is
/// how serde writes the spec's `number` durations) becomes `12600`, as
/// pymesync and the server's own tests send it; others are left as they
/// are. The server reads both forms as the same number.
fn write_whole_numbers_as_integers(value: &mut serde_json::Value) {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= SAFE) {
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(write_whole_numbers_as_integers)
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(write_whole_numbers_as_integers)
        }
        _ => {}
    }
}

/// A TimeSync token, its expiry read from its payload: a JWT-like
/// `header.payload.signature` whose payload `exp` is epoch milliseconds.
pub(crate) fn parse_token(value: Secret) -> OAuthToken {
    let expires_at = value
        .expose()
        .split('.')
        .nth(1)
        .and_then(decode_base64)
        .and_then(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
        .and_then(|payload| payload.get("exp")?.as_i64())
        .and_then(DateTime::from_timestamp_millis);
    let mut token = OAuthToken::new(value, None, None);
    token.expires_at = expires_at;
    token
}

/// TimeSync encodes with standard base64 and padding; accept URL-safe and
/// unpadded forms too.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> Secret {
        let b = base64::engine::general_purpose::STANDARD;
        Secret::new(format!(
            "{}.{}.c2lnbmF0dXJl",
            b.encode(r#"{"typ":"JWT","alg":"HMAC-SHA512"}"#),
            b.encode(payload)
        ))
    }

    #[test]
    fn expiry_comes_from_exp_in_milliseconds() {
        let t = parse_token(jwt(
            r#"{"iss":"ts","sub":"alice","exp":1700001800000,"iat":1700000000000}"#,
        ));
        assert_eq!(t.expires_at, DateTime::from_timestamp(1_700_001_800, 0));
        assert_eq!(parse_token(Secret::new("not-a-jwt")).expires_at, None);
    }

    #[test]
    fn the_token_goes_in_the_query_of_a_get_and_the_body_of_a_post() {
        let token = Secret::new("abc+/=");
        let mut get = reqwest::Request::new(
            reqwest::Method::GET,
            "http://127.0.0.1/v0/times?user=a&token=old&user=b"
                .parse()
                .unwrap(),
        );
        let op = |id| super::super::spec::API.operation(id);
        put_token(&mut get, op("list_times"), &token).unwrap();
        assert_eq!(get.url().query(), Some("user=a&user=b&token=abc%2B%2F%3D"));

        let mut post = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1/v0/times".parse().unwrap(),
        );
        *post.body_mut() = Some(r#"{"object":{"duration":60.0,"n":[1.5,-0.0,1e300]}}"#.into());
        put_token(&mut post, op("create_time"), &token).unwrap();
        let body = post.body().unwrap().as_bytes().unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(body).unwrap(),
            serde_json::json!({"object": {"duration": 60, "n": [1.5, 0, 1e300]}, "auth": {"type": "token", "token": "abc+/="}})
        );
        // Whole seconds go out as JSON integers, fractions as they are.
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains(r#""duration":60,"#) && text.contains("[1.5,0,1e+300]"),
            "{text}"
        );
    }
}
