//! Logging in and tokens (`login.js`, `auth/*.js`,
//! `authenticatedRequest.js`): the login checks in the server's order, the
//! tokens the sandbox issues, and finding the caller of a GET or DELETE
//! (`?token=`) or of a POST (the body's `auth` block).

use base64::Engine as _;
use serde_json::Value;

use super::super::engine::{Call, Response};
use super::Sandbox;
use super::checks::Fields;
use super::errors::{ApiErr, authentication_failure, authentication_type_failure, html, respond};
use super::js::{ExpressQuery, QueryValue, express_form, js_string, now_ms, str_field, truthy};
use super::store::{IssuedToken, Me, Store};

/// The `iss` of the sandbox's tokens.
const INSTANCE_NAME: &str = "specbound-sandbox";

/// What a login needs checked outside the lock.
enum LoginCheck {
    /// Compare `password` with the stored bcrypt `hash` (`None`: no such user
    /// or no local password).
    Password {
        username: String,
        password: String,
        hash: Option<String>,
    },
    /// The LDAP bind has been decided; the user may log in.
    Ldap { username: String },
}

impl Sandbox {
    /// `POST /login`.
    pub(super) fn login(&self, call: &Call) -> Response {
        let body = match read_body(call) {
            Ok(b) => b,
            Err(e) => return respond(Err(e)),
        };
        let username = match self.with_state(|state| state.login_check(call, &body)) {
            Err(e) => return respond(Err(e)),
            Ok(LoginCheck::Ldap { username }) => username,
            Ok(LoginCheck::Password {
                username,
                password,
                hash,
            }) => {
                // bcrypt is slow by design: compare without the lock.
                let matches = hash.is_some_and(|h| bcrypt::verify(password, &h).unwrap_or(false));
                if !matches {
                    return respond(Err(authentication_failure(
                        "Incorrect username or password",
                    )));
                }
                username
            }
        };
        let token = self.with_state(|state| state.issue_token(&username, self.token_ttl_ms));
        self.logins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(%username, "timesync sandbox: logged in");
        respond(html(&serde_json::json!({ "token": token })))
            .with_header("cache-control", "no-cache no-store must-validate max-age=0")
            .with_header("expires", "Thu, 01 Jan 1970 00:00:01 GMT")
            .with_header("pragma", "no-cache")
    }
}

/// The body as the server's body parsers read it (`bodyParser.json()` and
/// `bodyParser.urlencoded({extended: true})`): `application/json` as JSON
/// (an object or an array; anything else is the server's 400 for invalid
/// JSON), form fields as `qs` reads them, and a body of any other type, or
/// none at all, as `{}`.
pub(super) fn read_body(call: &Call) -> Result<Value, ApiErr> {
    let empty = || Value::Object(serde_json::Map::new());
    match call.request.media_type().as_str() {
        "application/x-www-form-urlencoded" => Ok(express_form(&call.request.body)),
        "application/json" => match call.body() {
            Ok(Value::Null) => Ok(empty()),
            Ok(v @ (Value::Object(_) | Value::Array(_))) => Ok(v),
            _ => Err(super::errors::bad_json()),
        },
        _ => Ok(empty()),
    }
}

impl Store {
    /// `POST /login` up to the password comparison (`login.js`, in order).
    fn login_check(&self, call: &Call, body: &Value) -> Result<LoginCheck, ApiErr> {
        let auth = body.get("auth");
        if !truthy(auth) {
            return Err(authentication_failure("Missing credentials"));
        }
        let auth = auth.unwrap_or(&Value::Null);
        let kind = auth.get("type");
        if !truthy(kind) {
            return Err(authentication_failure("Authentication type required"));
        }
        let kind = kind.unwrap_or(&Value::Null);
        // Server bug: the chosen strategy lives in a variable shared by all
        // requests, so an unknown type may reuse an earlier request's one.
        let ldap = match kind.as_str() {
            Some("password") => false,
            Some("ldap") if self.ldap_enabled => true,
            _ => return Err(authentication_type_failure(&js_string(kind))),
        };
        if !truthy(auth.get("username")) || !truthy(auth.get("password")) {
            return Err(authentication_failure("Missing credentials"));
        }
        if let Some(e) = Fields::check(call, "LoginRequest", body).shape_error("login", &["auth"]) {
            return Err(e);
        }
        let username = str_field(auth, "username").unwrap_or_default().to_string();
        let password = str_field(auth, "password").unwrap_or_default().to_string();
        if ldap {
            if self.ldap.get(&username) != Some(&password) {
                // passport-ldapauth's message for a failed bind.
                return Err(authentication_failure("Invalid username/password"));
            }
            if self.user(&username).is_none() {
                return Err(authentication_failure("Incorrect username."));
            }
            return Ok(LoginCheck::Ldap { username });
        }
        let hash = self.user(&username).and_then(|u| u.password.clone());
        Ok(LoginCheck::Password {
            username,
            password,
            hash,
        })
    }

    /// A token like the server's: `base64(header).base64(payload).base64(signature)`,
    /// standard base64 with padding; the signature is random.
    fn issue_token(&mut self, sub: &str, ttl_ms: i64) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let iat = now_ms();
        let exp = iat.saturating_add(ttl_ms);
        let sub_json = serde_json::to_string(sub).unwrap_or_else(|_| "\"\"".into());
        let header = b64.encode(r#"{"typ":"JWT","alg":"HMAC-SHA512"}"#);
        let payload = b64.encode(format!(
            r#"{{"iss":"{INSTANCE_NAME}","sub":{sub_json},"exp":{exp},"iat":{iat}}}"#
        ));
        let signature: Vec<u8> = std::iter::repeat_with(|| fastrand::u8(..))
            .take(64)
            .collect();
        let token = format!("{header}.{payload}.{}", b64.encode(signature));
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                sub: sub.to_string(),
                exp,
            },
        );
        token
    }

    /// The token check (`login.js` `authToken`, `auth/token.js`).
    fn check_token(&mut self, token: &str) -> Result<Me, ApiErr> {
        // The query parser turns `+` into spaces; the server turns them back.
        let token: String = token
            .chars()
            .map(|c| if c.is_whitespace() { '+' } else { c })
            .collect();
        let bad = || authentication_failure("Bad API token");
        let issued = self.tokens.get(&token).ok_or_else(bad)?;
        if issued.exp < now_ms() {
            self.tokens.remove(&token);
            return Err(bad());
        }
        let user = self.user(&issued.sub).ok_or_else(bad)?;
        Ok(Me {
            username: user.username.clone(),
            site_spectator: user.site_spectator,
            site_manager: user.site_manager,
            site_admin: user.site_admin,
        })
    }

    /// GET and DELETE: the `token` the spec's security scheme names, read
    /// as Express reads the query (a repeated token is an array, refused).
    pub(super) fn authenticate_query(
        &mut self,
        call: &Call,
        query: &ExpressQuery,
    ) -> Result<Me, ApiErr> {
        match (query.get("token"), &call.credential) {
            (None | Some(QueryValue::One("")), _) => {
                Err(authentication_failure("Missing credentials"))
            }
            (Some(QueryValue::One(_)), Some((_, token))) => self.check_token(token),
            _ => Err(authentication_failure("Bad API token")),
        }
    }

    /// POST: the body's `auth` block (`authenticatedRequest.js`, in order).
    pub(super) fn authenticate_body(&mut self, body: &Value) -> Result<Me, ApiErr> {
        let auth = body.get("auth");
        if !truthy(auth) {
            return Err(authentication_failure("Missing credentials"));
        }
        let auth = auth.unwrap_or(&Value::Null);
        let kind = auth.get("type");
        if !truthy(kind) {
            return Err(authentication_failure("Authentication type required"));
        }
        let kind = kind.unwrap_or(&Value::Null);
        if kind.as_str() != Some("token") {
            return Err(authentication_type_failure(&js_string(kind)));
        }
        if !truthy(auth.get("token")) {
            return Err(authentication_failure("Missing credentials"));
        }
        match str_field(auth, "token") {
            Some(token) => self.check_token(token),
            None => Err(authentication_failure("Bad API token")),
        }
    }
}
