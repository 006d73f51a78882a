//! Which credential each Cronofy operation takes (the spec's `security`:
//! the account's OAuth token, or the application's client secret), and
//! the refresh grant through the spec's `request_token`.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::generated::{Client, prelude::*, types};
use super::spec::API;
use crate::error::AuthErrorKind;
use crate::runtime::auth::set_bearer;
use crate::runtime::oauth::expires_in_secs;
use crate::runtime::{Authorizer, CredentialCore, Grant, OAuthToken, Secret, Stamp};
use crate::{Error, Result};

/// The application's credentials and the account's token: what the
/// extension calls of [`CronofyExt`](super::CronofyExt) need.
pub(crate) struct App {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) core: Arc<CredentialCore>,
    /// A client without credentials, for the token endpoints.
    pub(crate) plain: Client,
    pub(crate) app_url: url::Url,
}

impl App {
    /// The client id and secret, or an error saying `to` needs them.
    pub(crate) fn credentials(&self, to: &str) -> Result<(String, Secret)> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
            _ => Err(Error::auth(
                AuthErrorKind::Missing,
                format!("to {to}, the client needs client_id and client_secret"),
            )),
        }
    }
}

/// Adds the credential each operation's `security` names in the spec: the
/// OAuth access token (renewed as needed) or the client secret.
pub(crate) struct Credentials {
    pub(crate) core: Arc<CredentialCore>,
    pub(crate) client_secret: Option<Secret>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("core", &self.core)
            .field("has_client_secret", &self.client_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// The schemes of `operation_id` in the spec's order of preference.
fn schemes(operation_id: &str) -> &'static [&'static str] {
    API.operation(operation_id)
        .map_or(&["oauth2"][..], |op| op.security)
}

impl Credentials {
    /// The scheme `authorize` picks for `operation_id`: the first of the
    /// spec's list whose credential this client has.
    async fn scheme_used(&self, operation_id: &str) -> Result<Option<&'static str>> {
        for scheme in schemes(operation_id) {
            let available = match *scheme {
                "oauth2" => self.core.token().await?.is_some(),
                "client_secret" => self.client_secret.is_some(),
                _ => false,
            };
            if available {
                return Ok(Some(scheme));
            }
        }
        Ok(None)
    }
}

impl Authorizer for Credentials {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'a str,
    ) -> BoxFuture<'a, Result<Stamp>> {
        Box::pin(async move {
            let schemes = schemes(operation_id);
            if schemes.is_empty() {
                return Ok(Stamp::NONE);
            }
            match self.scheme_used(operation_id).await? {
                Some("oauth2") => {
                    let (token, stamp) = self.core.access_token().await?;
                    set_bearer(request, &token)?;
                    return Ok(stamp);
                }
                Some(_) => {
                    if let Some(secret) = &self.client_secret {
                        set_bearer(request, secret)?;
                        return Ok(Stamp::NONE);
                    }
                }
                None => {}
            }
            let wanted: Vec<&str> = schemes
                .iter()
                .map(|s| match *s {
                    "oauth2" => "an OAuth access token (exchange a code or give a token)",
                    "client_secret" => "the client secret (ClientBuilder::client_secret)",
                    other => other,
                })
                .collect();
            Err(Error::auth(
                AuthErrorKind::Missing,
                format!("`{operation_id}` needs {}", wanted.join(" or ")),
            ))
        })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        operation_id: &'a str,
        _body: &'a [u8],
        stamp: Stamp,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            // Only a rejected access token is mended by a refresh: a 401 to a
            // call made with the client secret means the secret is wrong.
            if self.scheme_used(operation_id).await? != Some("oauth2") {
                return Ok(false);
            }
            self.core.renew_after_unauthorized(stamp).await
        })
    }
}

/// Refreshes with `request_token` (grant_type `refresh_token`).
pub(crate) struct Refresh {
    pub(crate) plain: Client,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
}

impl Grant for Refresh {
    fn obtain<'a>(&'a self, current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            let (Some(client_id), Some(client_secret)) = (&self.client_id, &self.client_secret)
            else {
                return Err(Error::auth(
                    AuthErrorKind::Missing,
                    "to refresh a token, the client needs client_id and client_secret",
                ));
            };
            let refresh_token = current
                .and_then(|t| t.refresh_token.clone())
                .ok_or_else(|| {
                    Error::auth(
                        AuthErrorKind::Expired,
                        "no refresh token to renew the access token with",
                    )
                })?;
            let body = types::RefreshTokenGrant {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                grant_type: types::RefreshTokenGrantGrantType::RefreshToken,
                refresh_token,
            };
            let answer = self
                .plain
                .request_token()
                .body(body)
                .send()
                .await?
                .into_inner();
            Ok(token_from(answer))
        })
    }

    fn can_obtain(&self, current: Option<&OAuthToken>) -> bool {
        current.is_some_and(|t| t.refresh_token.is_some())
    }
}

/// An OAuth token from Cronofy's token answer (`expires_in` from now,
/// whatever number it is).
pub(crate) fn token_from(answer: types::TokenResponse) -> OAuthToken {
    let expires_in = expires_in_secs(answer.expires_in);
    let mut token = OAuthToken::new(answer.access_token, answer.refresh_token, Some(expires_in));
    token.scope = answer.scope;
    token.subject = answer.sub.or(answer.account_id);
    token
}
