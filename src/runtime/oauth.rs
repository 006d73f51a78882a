//! OAuth2 tokens and the grants of RFC 6749 that any API's token endpoint
//! speaks: refresh token (section 6) and client credentials (section 4.4).
//! APIs whose token endpoint is an operation of their spec (Cronofy) use
//! that operation instead, as a [`Grant`](super::Grant) of their own.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{Grant, Runtime, Secret};
use crate::error::AuthErrorKind;
use crate::{Error, Result};

/// The longest validity a token answer's `expires_in` is taken as (ten
/// years); longer values, however large, are cut to it.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// An access token, its refresh token and when it expires. TimeSync's
/// login token is one too (no refresh token, expiry from its payload).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuthToken {
    /// Sent as `Authorization: Bearer` (or where the API wants it).
    pub access_token: Secret,
    /// Used to get a new access token; some grants have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// When the access token stops working; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Granted scopes, space-separated, as the API answered them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The API's identifier of the authorized account or user (Cronofy `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// What the token is for (cloud, tenant, client, account, scopes), set
    /// by a [`KeyedTokenStore`](super::KeyedTokenStore): a client never
    /// loads a token saved under another key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl OAuthToken {
    /// A token valid for `expires_in` from now (at most [`MAX_EXPIRES_IN`]).
    pub fn new(
        access_token: impl Into<Secret>,
        refresh_token: Option<Secret>,
        expires_in: Option<Duration>,
    ) -> Self {
        OAuthToken {
            access_token: access_token.into(),
            refresh_token,
            expires_at: expires_in.map(expires_at),
            scope: None,
            subject: None,
            key: None,
        }
    }

    /// True when the access token has expired (or expires within `margin`).
    pub fn expires_within(&self, margin: Duration) -> bool {
        let margin = chrono::Duration::from_std(margin.min(MAX_EXPIRES_IN)).unwrap_or_default();
        self.expires_at.is_some_and(|at| {
            at.checked_sub_signed(margin)
                .is_none_or(|t| t <= Utc::now())
        })
    }
}

/// The instant `expires_in` from now, `expires_in` cut to [`MAX_EXPIRES_IN`].
pub(crate) fn expires_at(expires_in: Duration) -> DateTime<Utc> {
    let d = chrono::Duration::from_std(expires_in.min(MAX_EXPIRES_IN)).unwrap_or_default();
    let now = Utc::now();
    now.checked_add_signed(d).unwrap_or(now)
}

/// `expires_in` seconds of a token answer, whatever number it is:
/// negative is "already expired", huge is cut to [`MAX_EXPIRES_IN`].
pub(crate) fn expires_in_secs(secs: i64) -> Duration {
    Duration::from_secs(secs.max(0) as u64).min(MAX_EXPIRES_IN)
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("subject", &self.subject)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// How a client proves itself at a token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    Body,
    /// HTTP basic auth with them (RFC 6749 section 2.3.1's preference).
    Basic,
}

/// A token endpoint of RFC 6749: the grants are form-encoded POSTs sent
/// through the runtime's raw-request path, without the API's credentials.
#[derive(Clone)]
pub struct TokenEndpoint {
    runtime: Runtime,
    url: String,
    client_id: String,
    client_secret: Secret,
    auth: ClientAuth,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// A token answer (RFC 6749 section 5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    expires_in: Option<serde_json::Number>,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenEndpoint {
    /// The endpoint at `url` (absolute, or a path below the runtime's base URL).
    pub fn new(
        runtime: &Runtime,
        url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        auth: ClientAuth,
    ) -> Self {
        TokenEndpoint {
            runtime: runtime.clone(),
            url: url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth,
        }
    }

    /// Posts the grant `form` and reads the token answer.
    pub async fn request(&self, form: &[(&str, &str)]) -> Result<OAuthToken> {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        let mut request = self
            .runtime
            .request(http::Method::POST, &self.url)
            .without_credentials()
            .idempotent(false);
        match self.auth {
            ClientAuth::Body => {
                pairs.push(("client_id", &self.client_id));
                pairs.push(("client_secret", self.client_secret.expose()));
            }
            ClientAuth::Basic => {
                let value = super::auth::basic_header(&self.client_id, &self.client_secret)?;
                request = request.header(http::header::AUTHORIZATION, value);
            }
        }
        let body = serde_urlencoded::to_string(&pairs)
            .map_err(|e| Error::invalid("token request", e.to_string()))?;
        let answer = request
            .header(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(body)
            .send()
            .await?;
        token_answer("token endpoint", &answer.body)
    }
}

/// A token answer (RFC 6749 section 5.1) as a token: any `expires_in`
/// (negative, fractional, huge) is clamped, never a panic.
pub(crate) fn token_answer(operation: &'static str, body: &[u8]) -> Result<OAuthToken> {
    let answer: TokenAnswer = Error::decode_json(operation, body)?;
    let expires_in = answer
        .expires_in
        .and_then(|n| n.as_f64())
        .filter(|secs| !secs.is_nan())
        .map(|secs| expires_in_secs(secs.clamp(i64::MIN as f64, i64::MAX as f64) as i64));
    let mut token = OAuthToken::new(answer.access_token, answer.refresh_token, expires_in);
    token.scope = answer.scope;
    Ok(token)
}

/// The client credentials grant (RFC 6749 section 4.4): a token for the
/// application itself, obtained again whenever it runs out.
#[derive(Debug)]
pub struct ClientCredentials {
    endpoint: TokenEndpoint,
    scope: Option<String>,
}

impl ClientCredentials {
    /// Asks `endpoint` for tokens of `scope` (space-separated; `None` for
    /// the endpoint's default).
    pub fn new(endpoint: TokenEndpoint, scope: Option<String>) -> Self {
        ClientCredentials { endpoint, scope }
    }
}

impl Grant for ClientCredentials {
    fn obtain<'a>(&'a self, _current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            let mut form = vec![("grant_type", "client_credentials")];
            if let Some(scope) = &self.scope {
                form.push(("scope", scope));
            }
            self.endpoint.request(&form).await
        })
    }

    fn can_obtain(&self, _current: Option<&OAuthToken>) -> bool {
        true
    }
}

/// The refresh token grant (RFC 6749 section 6) at a standard endpoint.
#[derive(Debug)]
pub struct RefreshToken {
    endpoint: TokenEndpoint,
}

impl RefreshToken {
    /// Refreshes at `endpoint`.
    pub fn new(endpoint: TokenEndpoint) -> Self {
        RefreshToken { endpoint }
    }
}

impl Grant for RefreshToken {
    fn obtain<'a>(&'a self, current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            let refresh = current
                .and_then(|t| t.refresh_token.as_ref())
                .ok_or_else(|| {
                    Error::auth(
                        AuthErrorKind::Expired,
                        "no refresh token to renew the access token with",
                    )
                })?;
            self.endpoint
                .request(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                ])
                .await
        })
    }

    fn can_obtain(&self, current: Option<&OAuthToken>) -> bool {
        current.is_some_and(|t| t.refresh_token.is_some())
    }
}

/// A PKCE pair (RFC 7636): the verifier kept until the code comes back,
/// and its S256 challenge sent in the authorization URL.
#[cfg(any(feature = "graph", feature = "zendesk"))]
pub(crate) struct Pkce {
    pub(crate) verifier: Secret,
    pub(crate) challenge: String,
}

#[cfg(any(feature = "graph", feature = "zendesk"))]
impl Pkce {
    /// A new random verifier (64 characters) and its challenge.
    pub(crate) fn new() -> Self {
        use base64::Engine as _;
        use sha2::Digest as _;
        let verifier = random_text(64);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier: Secret::from(verifier),
            challenge,
        }
    }
}

/// An authorization code request (RFC 6749 section 4.1 with PKCE): the URL
/// to send the user to, and the verifier and state to keep until the user
/// comes back with the code.
#[cfg(any(feature = "graph", feature = "zendesk"))]
pub struct AuthorizationRequest {
    /// Where to send the user.
    pub url: url::Url,
    /// The state sent; compare it with the one that comes back.
    pub state: String,
    /// The redirect URI, sent again with the code.
    pub redirect_uri: String,
    pub(crate) verifier: Secret,
}

#[cfg(any(feature = "graph", feature = "zendesk"))]
impl AuthorizationRequest {
    /// `url` (an API's authorization page) with the request's parameters:
    /// `response_type=code`, the client, the redirect URI, the scope, a
    /// random state, an S256 challenge, and `extra` pairs.
    pub(crate) fn new(
        mut url: url::Url,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let pkce = Pkce::new();
        let state = random_text(32);
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .extend_pairs(extra)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        AuthorizationRequest {
            url,
            state,
            redirect_uri: redirect_uri.to_string(),
            verifier: pkce.verifier,
        }
    }
}

#[cfg(any(feature = "graph", feature = "zendesk"))]
impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url.as_str())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// `n` random characters of the PKCE verifier alphabet (also good for a
/// `state`).
#[cfg(any(feature = "graph", feature = "zendesk"))]
pub(crate) fn random_text(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    (0..n)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_expires_in_is_clamped_and_never_panics() {
        for secs in [i64::MIN, -1, 0, 3600, 10_000_000_000_000, i64::MAX] {
            let t = OAuthToken::new("a", None, Some(expires_in_secs(secs)));
            let at = t.expires_at.unwrap();
            assert!(
                at <= Utc::now() + chrono::Duration::days(3651),
                "{secs}: {at}"
            );
            let _ = t.expires_within(Duration::MAX);
            let _ = t.expires_within(Duration::ZERO);
        }
        assert!(
            OAuthToken::new("a", None, Some(expires_in_secs(-5))).expires_within(Duration::ZERO)
        );
    }
}
