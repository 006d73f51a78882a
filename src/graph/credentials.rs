//! Graph's credentials: the bearer token of the identity platform on every
//! Graph operation, renewed through the spec's `request_token` on the
//! cloud's login host (refresh token, or client credentials for an
//! application token).

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

/// Adds the access token to each operation whose spec names a security scheme.
pub(crate) struct Credentials {
    pub(crate) core: Arc<CredentialCore>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("core", &self.core)
            .finish()
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
            let (token, stamp) = self.core.access_token().await?;
            set_bearer(request, &token)?;
            Ok(stamp)
        })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        operation_id: &'a str,
        _body: &'a [u8],
        stamp: Stamp,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            if !API.takes_credentials(operation_id) {
                return Ok(false);
            }
            self.core.renew_after_unauthorized(stamp).await
        })
    }
}

/// The application's registration and where it gets tokens: what the
/// grants and the sign-in calls of [`GraphExt`](super::GraphExt) need.
pub(crate) struct Login {
    /// A client of the login host, without credentials.
    pub(crate) client: Client,
    pub(crate) tenant: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    /// Space-separated, prefixed for the cloud.
    pub(crate) scope: String,
    /// Client credentials: the `.default` scope of the cloud's Graph host.
    pub(crate) app_scope: Option<String>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("has_client_secret", &self.client_secret.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// A token request of `grant_type` with the client's id and secret.
    pub(crate) fn form(&self, grant_type: &str) -> types::TokenRequest {
        types::TokenRequest {
            client_id: self.client_id.clone(),
            grant_type: grant_type.to_string(),
            client_secret: self.client_secret.clone(),
            scope: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            refresh_token: None,
            client_assertion_type: None,
            client_assertion: None,
            device_code: None,
        }
    }

    /// Posts `form` to the token endpoint and reads the token.
    pub(crate) async fn request(&self, form: types::TokenRequest) -> Result<OAuthToken> {
        let answer = self
            .client
            .request_token()
            .tenant(self.tenant.clone())
            .body(form)
            .send()
            .await?
            .into_inner();
        let expires_in = answer.expires_in.map(expires_in_secs);
        let mut token = OAuthToken::new(answer.access_token, answer.refresh_token, expires_in);
        token.scope = answer.scope;
        Ok(token)
    }
}

impl Grant for Login {
    fn obtain<'a>(&'a self, current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            if let Some(refresh) = current.and_then(|t| t.refresh_token.clone()) {
                let mut form = self.form("refresh_token");
                form.refresh_token = Some(refresh);
                form.scope = Some(self.scope.clone());
                let mut token = self.request(form).await?;
                // Microsoft rotates refresh tokens, but an answer without one
                // keeps the old one working.
                if token.refresh_token.is_none() {
                    token.refresh_token = current.and_then(|t| t.refresh_token.clone());
                }
                return Ok(token);
            }
            if let Some(scope) = &self.app_scope {
                if self.client_secret.is_none() {
                    return Err(Error::auth(
                        AuthErrorKind::Missing,
                        "client credentials need client_secret",
                    ));
                }
                let mut form = self.form("client_credentials");
                form.scope = Some(scope.clone());
                return self.request(form).await;
            }
            Err(Error::auth(
                AuthErrorKind::Missing,
                "no token: sign in first (authorization code or device code), \
                 or build the client with client_credentials()",
            ))
        })
    }

    fn can_obtain(&self, current: Option<&OAuthToken>) -> bool {
        current.is_some_and(|t| t.refresh_token.is_some()) || self.app_scope.is_some()
    }
}
