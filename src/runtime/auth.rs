//! Credentials added to each request.

use std::fmt;

use futures::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::Secret;
use crate::Result;

/// Adds credentials to requests, renewing them when they run out.
///
/// Each API's client installs one: a static bearer token, basic auth, an
/// OAuth2 token renewed by a [`CredentialCore`](super::CredentialCore), or
/// TimeSync's login. The runtime calls it only for hosts the client trusts.
/// The `Debug` of an implementation must not show any secret.
pub trait Authorizer: fmt::Debug + Send + Sync {
    /// Adds credentials to `request` for the operation `operation_id`,
    /// renewing them first when they are about to expire. The [`Stamp`]
    /// says which credentials were used.
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'a str,
    ) -> BoxFuture<'a, Result<Stamp>>;

    /// Called once when the API answered 401 to `operation_id` sent with the
    /// credentials of `stamp`, with that answer's body. Renews the
    /// credentials if the body says they were rejected (not, say, that the
    /// user lacks a permission) and no renewal happened since `stamp`;
    /// `true` sends the request once more with the current credentials.
    fn renew_after_unauthorized<'a>(
        &'a self,
        _operation_id: &'a str,
        _body: &'a [u8],
        _stamp: Stamp,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async { Ok(false) })
    }
}

/// Which credentials a request was sent with (a count of renewals), so
/// that a 401 that arrives after a renewal does not renew again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub u64);

impl Stamp {
    /// Credentials that never change.
    pub const NONE: Stamp = Stamp(0);
}

/// A fixed `Authorization: Bearer` token.
pub struct Bearer(Secret);

impl Bearer {
    /// Sends `token` as a bearer token.
    pub fn new(token: impl Into<Secret>) -> Self {
        Bearer(token.into())
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer").finish_non_exhaustive()
    }
}

impl Authorizer for Bearer {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Stamp>> {
        Box::pin(async move { set_bearer(request, &self.0).map(|()| Stamp::NONE) })
    }
}

/// HTTP basic auth: a user name (shown in `Debug`) and a password (never shown).
pub struct Basic {
    user: String,
    password: Secret,
}

impl Basic {
    /// Sends `user:password` as basic auth.
    pub fn new(user: impl Into<String>, password: impl Into<Secret>) -> Self {
        Basic {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Basic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Basic")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Authorizer for Basic {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Stamp>> {
        Box::pin(async move {
            let value = basic_header(&self.user, &self.password)?;
            request.headers_mut().insert(AUTHORIZATION, value);
            Ok(Stamp::NONE)
        })
    }
}

/// Sets `Authorization: Bearer <token>`, marked sensitive.
pub(crate) fn set_bearer(request: &mut reqwest::Request, token: &Secret) -> Result<()> {
    let value = sensitive_header(&format!("Bearer {}", token.expose()))?;
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// `Basic <base64 of user:password>`, marked sensitive.
pub(crate) fn basic_header(user: &str, password: &Secret) -> Result<HeaderValue> {
    use base64::Engine as _;
    let raw = format!("{user}:{}", password.expose());
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    sensitive_header(&format!("Basic {encoded}"))
}

/// A header value marked sensitive, so that `Debug` of the request hides it.
pub(crate) fn sensitive_header(value: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        crate::Error::invalid(
            "credentials",
            "contain characters that cannot go in an HTTP header",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn authorized(auth: &dyn Authorizer) -> reqwest::Request {
        let mut req =
            reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1/x".parse().unwrap());
        auth.authorize(&mut req, "get_x").await.unwrap();
        req
    }

    #[tokio::test]
    async fn bearer_and_basic_set_sensitive_headers_and_debug_shows_no_secret() {
        let bearer = Bearer::new("tok-123");
        let req = authorized(&bearer).await;
        let h = req.headers().get(AUTHORIZATION).unwrap();
        assert_eq!(h.to_str().unwrap(), "Bearer tok-123");
        assert!(h.is_sensitive());
        assert!(!format!("{bearer:?} {req:?}").contains("tok-123"));

        let basic = Basic::new("agent@acme.test/token", "pw-456");
        let req = authorized(&basic).await;
        let h = req.headers().get(AUTHORIZATION).unwrap();
        assert_eq!(
            h.to_str().unwrap(),
            "Basic YWdlbnRAYWNtZS50ZXN0L3Rva2VuOnB3LTQ1Ng=="
        );
        assert!(h.is_sensitive());
        assert!(format!("{basic:?}").contains("agent@acme.test"));
        assert!(!format!("{basic:?} {req:?}").contains("pw-456"));
    }
}
