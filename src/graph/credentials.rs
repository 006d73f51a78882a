//! Graph's credentials: the bearer token of the identity platform on every
//! Graph operation, renewed through the spec's `request_token` on the
//! cloud's login host (refresh token, or client credentials for an
//! application token).

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::certificate::{ClientCertificate, JWT_BEARER};
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
    /// Signs a fresh client assertion for each token request instead of a secret.
    pub(crate) client_certificate: Option<ClientCertificate>,
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
            .field("client_certificate", &self.client_certificate)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// A token request of `grant_type` with the client's id and its proof:
    /// the secret, or a fresh assertion signed with the certificate.
    pub(crate) fn form(&self, grant_type: &str) -> Result<types::TokenRequest> {
        let mut form = self.public_form(grant_type);
        form.client_secret = self.client_secret.clone();
        if let Some(certificate) = &self.client_certificate {
            form.client_assertion_type = Some(JWT_BEARER.to_string());
            form.client_assertion =
                Some(certificate.assertion(&self.client_id, &self.token_url()?)?);
        }
        Ok(form)
    }

    /// A token request of `grant_type` with the client's id alone (public
    /// client flows: device code).
    pub(crate) fn public_form(&self, grant_type: &str) -> types::TokenRequest {
        types::TokenRequest {
            client_id: self.client_id.clone(),
            grant_type: grant_type.to_string(),
            client_secret: None,
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

    /// The URL `request_token` posts to, the `aud` of client assertions:
    /// the login client's base URL and the spec's path for the tenant
    /// (`https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`).
    pub(crate) fn token_url(&self) -> Result<String> {
        use progenitor_client::ClientInfo as _;
        let op = API
            .operation("request_token")
            .ok_or_else(|| Error::Config("the spec has no request_token operation".into()))?;
        Ok(format!(
            "{}{}",
            self.client.baseurl(),
            op.render_path(&[("tenant", &self.tenant)])
        ))
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
                let mut form = self.form("refresh_token")?;
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
                if self.client_secret.is_none() && self.client_certificate.is_none() {
                    return Err(Error::auth(
                        AuthErrorKind::Missing,
                        "client credentials need client_secret or client_certificate",
                    ));
                }
                let mut form = self.form("client_credentials")?;
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::super::{Client, ClientCertificate, Cloud, extras};

    fn claims(jwt: &str) -> serde_json::Value {
        let part = jwt.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn the_assertions_audience_is_the_token_endpoint_of_the_clouds_login_host() {
        let certificate = ClientCertificate::from_pem(
            include_bytes!("../../tests/fixtures/graph/cert/cert.pem"),
            include_bytes!("../../tests/fixtures/graph/cert/key.pem"),
        )
        .unwrap();
        for (cloud, token_url) in [
            (
                Cloud::Global,
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            ),
            (
                Cloud::UsGovL4,
                "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token",
            ),
            (
                Cloud::China,
                "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token",
            ),
        ] {
            let graph = Client::builder()
                .cloud(cloud.clone())
                .tenant("contoso.onmicrosoft.com")
                .client_id("app-1")
                .client_certificate(certificate.clone())
                .client_credentials()
                .build()
                .unwrap();
            let login = &extras::state(&graph).unwrap().login;
            assert_eq!(login.token_url().unwrap(), token_url);
            let form = login.form("client_credentials").unwrap();
            assert!(form.client_secret.is_none());
            let jwt = form.client_assertion.unwrap();
            let claims = claims(jwt.expose());
            assert_eq!(claims["aud"], token_url, "{cloud:?}");
            assert_eq!(
                (&claims["iss"], &claims["sub"]),
                (&"app-1".into(), &"app-1".into())
            );
        }
    }
}
