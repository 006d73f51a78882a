//! Zendesk's credentials: an OAuth access token (renewed through the spec's
//! `request_token`, with the refresh token that rotates on every use, or
//! client credentials), or the legacy email + API token.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::generated::{Client, prelude::*, types};
use super::spec::API;
use crate::error::AuthErrorKind;
use crate::runtime::auth::{basic_header, set_bearer};
use crate::runtime::oauth::expires_in_secs;
use crate::runtime::{Authorizer, CredentialCore, Grant, OAuthToken, Secret, Stamp};
use crate::{Error, Result};

/// The legacy `{email}/token:{api_token}` basic credentials.
#[derive(Clone)]
pub(crate) struct ApiToken {
    pub(crate) email: String,
    pub(crate) token: Secret,
}

/// Adds the credential each operation's spec security allows: the OAuth
/// token when the client has one, else the API token.
pub(crate) struct Credentials {
    pub(crate) core: Arc<CredentialCore>,
    pub(crate) api_token: Option<ApiToken>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("core", &self.core)
            .field("api_token_of", &self.api_token.as_ref().map(|t| &t.email))
            .finish()
    }
}

impl Credentials {
    async fn uses_oauth(&self) -> Result<bool> {
        Ok(self.api_token.is_none() || self.core.token().await?.is_some())
    }
}

impl Authorizer for Credentials {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'a str,
    ) -> BoxFuture<'a, Result<Stamp>> {
        Box::pin(async move {
            if !API.takes_credentials(operation_id) {
                return Ok(Stamp::NONE);
            }
            if self.uses_oauth().await? {
                let (token, stamp) = self.core.access_token().await?;
                set_bearer(request, &token)?;
                return Ok(stamp);
            }
            if let Some(t) = &self.api_token {
                let user = format!("{}/token", t.email);
                let value = basic_header(&user, &t.token)?;
                request
                    .headers_mut()
                    .insert(http::header::AUTHORIZATION, value);
            }
            Ok(Stamp::NONE)
        })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        operation_id: &'a str,
        _body: &'a [u8],
        stamp: Stamp,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            if !API.takes_credentials(operation_id) || !self.uses_oauth().await? {
                return Ok(false);
            }
            self.core.renew_after_unauthorized(stamp).await
        })
    }
}

/// The OAuth client and where it gets tokens.
pub(crate) struct OAuthApp {
    /// A client without credentials, for `/oauth/tokens`.
    pub(crate) plain: Client,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) scope: String,
    /// Asked lifetimes (Zendesk issues a refresh token only when asked
    /// with `expires_in` for clients without enforced expiry).
    pub(crate) expires_in: Option<i64>,
    pub(crate) refresh_token_expires_in: Option<i64>,
    pub(crate) client_credentials: bool,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("has_client_secret", &self.client_secret.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl OAuthApp {
    /// A token request of `grant_type` with the client's id, secret and lifetimes.
    pub(crate) fn form(&self, grant_type: &str) -> types::OAuthTokenRequest {
        types::OAuthTokenRequest {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            grant_type: grant_type.to_string(),
            code: None,
            code_verifier: None,
            redirect_uri: None,
            refresh_token: None,
            scope: None,
            expires_in: self.expires_in,
            refresh_token_expires_in: self.refresh_token_expires_in,
        }
    }

    /// Posts `form` to `/oauth/tokens` and reads the token.
    pub(crate) async fn request(&self, form: types::OAuthTokenRequest) -> Result<OAuthToken> {
        let answer = self
            .plain
            .request_token()
            .body(form)
            .send()
            .await?
            .into_inner();
        let access = answer
            .access_token
            .ok_or_else(|| Error::Protocol("the token answer has no access_token".into()))?;
        let mut token = OAuthToken::new(
            access,
            answer.refresh_token,
            answer.expires_in.map(expires_in_secs),
        );
        token.scope = answer.scope;
        Ok(token)
    }
}

impl Grant for OAuthApp {
    fn obtain<'a>(&'a self, current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            if let Some(refresh) = current.and_then(|t| t.refresh_token.clone()) {
                let mut form = self.form("refresh_token");
                form.refresh_token = Some(refresh);
                // Rotation: the answer's refresh token replaces the old one,
                // which Zendesk has deleted.
                return self.request(form).await;
            }
            if self.client_credentials {
                let mut form = self.form("client_credentials");
                form.scope = Some(self.scope.clone());
                return self.request(form).await;
            }
            Err(Error::auth(
                AuthErrorKind::Missing,
                "no OAuth token: exchange an authorization code first, \
                 or build the client with client_credentials()",
            ))
        })
    }

    fn can_obtain(&self, current: Option<&OAuthToken>) -> bool {
        current.is_some_and(|t| t.refresh_token.is_some()) || self.client_credentials
    }
}
