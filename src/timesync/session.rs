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
use std::sync::RwLock;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::generated::{Client as Api, prelude::*, types};
use crate::error::AuthErrorKind;
use crate::runtime::{Authorizer, Secret};
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

/// Log in again when fewer than this many seconds remain.
const RENEW_BEFORE_SECS: i64 = 60;

pub(crate) struct Session {
    /// A client without credentials, for `POST /login` (so that logging in
    /// never waits on the session it renews).
    login: Api,
    state: RwLock<State>,
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    token: Option<Token>,
    credentials: Option<Credentials>,
    /// Bumped on every new token, so concurrent renewals log in once.
    generation: u64,
}

#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
struct Credentials {
    username: String,
    password: Secret,
    auth_type: AuthType,
}

impl Session {
    pub(crate) fn new(login: Api) -> Self {
        Session {
            login,
            state: RwLock::new(State::default()),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs in and keeps the token; with `keep`, also the credentials, so
    /// the session can log in again before the token expires.
    pub(crate) async fn log_in(
        &self,
        username: &str,
        password: Secret,
        auth_type: AuthType,
        keep: bool,
    ) -> Result<()> {
        let credentials = Credentials {
            username: username.to_string(),
            password,
            auth_type,
        };
        let _one_at_a_time = self.renewing.lock().await;
        let token = self.request_token(&credentials).await?;
        let mut state = self.write();
        state.token = Some(token);
        state.credentials = keep.then_some(credentials);
        state.generation += 1;
        Ok(())
    }

    /// Uses a token obtained elsewhere (as pymesync's `TimeSync(token=..)`).
    pub(crate) fn set_token(&self, token: Secret) {
        let mut state = self.write();
        state.token = Some(Token::parse(token));
        state.generation += 1;
    }

    pub(crate) fn token(&self) -> Option<Token> {
        self.read().token.clone()
    }

    async fn request_token(&self, c: &Credentials) -> Result<Token> {
        let body = types::LoginRequest {
            auth: types::LoginAuth {
                type_: c.auth_type.into(),
                username: c.username.clone(),
                password: c.password.clone(),
            },
        };
        let answer = self.login.login().body(body).send().await?.into_inner();
        Ok(Token::parse(answer.token))
    }

    /// The current token, after logging in again if it is about to expire
    /// and credentials are stored.
    async fn fresh_token(&self) -> Result<Secret> {
        let (token, generation, can_renew) = {
            let s = self.read();
            (s.token.clone(), s.generation, s.credentials.is_some())
        };
        let Some(token) = token else {
            return Err(Error::auth(
                AuthErrorKind::Missing,
                "not authenticated with TimeSync: call authenticate() first",
            ));
        };
        let now = Utc::now();
        let Some(expires_at) = token.expires_at else {
            return Ok(token.value);
        };
        let remaining = (expires_at - now).num_seconds();
        if remaining > RENEW_BEFORE_SECS {
            return Ok(token.value);
        }
        if can_renew {
            return self.renew(generation).await;
        }
        if remaining <= 0 {
            return Err(Error::auth(
                AuthErrorKind::Expired,
                format!(
                    "the TimeSync token expired at {expires_at}; call authenticate() again \
                     (or keep credentials so the client logs in by itself)"
                ),
            ));
        }
        Ok(token.value)
    }

    /// Logs in again, unless another task did since `seen_generation`.
    async fn renew(&self, seen_generation: u64) -> Result<Secret> {
        let _one_at_a_time = self.renewing.lock().await;
        let credentials = {
            let s = self.read();
            if s.generation != seen_generation
                && let Some(t) = &s.token
            {
                return Ok(t.value.clone());
            }
            s.credentials.clone()
        };
        let credentials = credentials.ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Expired,
                "no stored credentials to log in again with",
            )
        })?;
        let token = self.request_token(&credentials).await.map_err(|e| {
            Error::auth(
                AuthErrorKind::RefreshFailed,
                format!("logging in again as {} failed: {e}", credentials.username),
            )
        })?;
        let value = token.value.clone();
        let mut state = self.write();
        state.token = Some(token);
        state.generation += 1;
        Ok(value)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.read();
        f.debug_struct("Session")
            .field("authenticated", &s.token.is_some())
            .field("expires_at", &s.token.as_ref().and_then(|t| t.expires_at))
            .field("user", &s.credentials.as_ref().map(|c| &c.username))
            .finish_non_exhaustive()
    }
}

impl Authorizer for Session {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if operation_id == "login" {
                return Ok(());
            }
            let token = self.fresh_token().await?;
            put_token(request, &token)
        })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        _: &'a str,
        body: &'a [u8],
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
            let (generation, can_renew) = {
                let s = self.read();
                (s.generation, s.credentials.is_some())
            };
            if !can_renew {
                return Ok(false);
            }
            self.renew(generation).await.map(|_| true)
        })
    }
}

/// Puts `token` where TimeSync reads it: the query string of a GET or
/// DELETE, the `auth` block of a POST body.
fn put_token(request: &mut reqwest::Request, token: &Secret) -> Result<()> {
    if request.method() == reqwest::Method::POST {
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
        let bytes = serde_json::to_vec(&value)
            .map_err(|e| Error::invalid("request body", e.to_string()))?;
        *request.body_mut() = Some(bytes.into());
    } else {
        let url = request.url_mut();
        let others: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(others)
            .append_pair("token", token.expose());
    }
    Ok(())
}

impl Token {
    /// Reads the expiry from the token's payload: a JWT-like
    /// `header.payload.signature` whose payload `exp` is epoch milliseconds.
    pub(crate) fn parse(value: Secret) -> Self {
        let expires_at = value
            .expose()
            .split('.')
            .nth(1)
            .and_then(decode_base64)
            .and_then(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
            .and_then(|payload| payload.get("exp")?.as_i64())
            .and_then(DateTime::from_timestamp_millis);
        Token { value, expires_at }
    }
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
        let t = Token::parse(jwt(
            r#"{"iss":"ts","sub":"alice","exp":1700001800000,"iat":1700000000000}"#,
        ));
        assert_eq!(t.expires_at, DateTime::from_timestamp(1_700_001_800, 0));
        assert_eq!(Token::parse(Secret::new("not-a-jwt")).expires_at, None);
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
        put_token(&mut get, &token).unwrap();
        assert_eq!(get.url().query(), Some("user=a&user=b&token=abc%2B%2F%3D"));

        let mut post = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1/v0/times".parse().unwrap(),
        );
        *post.body_mut() = Some(r#"{"object":{"duration":60}}"#.into());
        put_token(&mut post, &token).unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(post.body().unwrap().as_bytes().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"object": {"duration": 60}, "auth": {"type": "token", "token": "abc+/="}})
        );
    }
}
