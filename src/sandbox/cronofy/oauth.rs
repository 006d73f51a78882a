//! OAuth: the bearer token of each call, the token endpoint (codes and
//! refresh tokens, rotation), revocation, the authorization page of the app
//! host, application calendars, and the pages that are not operations of
//! the spec (elevated permissions, scheduling links).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::dispatch::{Shared, check_schema, decode};
use super::errors::{Answer, ApiErr, Outcome, invalid, oauth_error, ok};
use super::store::{
    AccessRow, AccountKind, AuthorizationRow, Caller, Config, Ctx, Store, check_client,
};
use super::times::{alnum_id, from_now, hex_id, web_url};
use crate::cronofy::types;
use crate::runtime::spec::Operation;
use crate::runtime::validate::Problem;
use crate::sandbox::engine::{Query, Request, Response};

/// The largest `expires_in` Cronofy answers (a positive 32-bit integer).
const MAX_EXPIRES_IN: u64 = 2_147_483_647;

impl Store {
    /// The caller of `op`: the bearer `credential` (the first of the
    /// operation's schemes the request carries) checked against each of
    /// its schemes in turn. Operations without schemes are anonymous.
    pub(super) fn authenticate(
        &self,
        config: &Config,
        op: &Operation,
        credential: Option<&(&'static str, String)>,
    ) -> Result<Caller, ApiErr> {
        if op.security.is_empty() {
            return Ok(Caller::Anonymous);
        }
        let bearer = credential
            .map(|(_, v)| v.trim())
            .ok_or_else(ApiErr::unauthorized)?;
        for scheme in op.security {
            match *scheme {
                "client_secret" if bearer == config.client_secret.expose() => {
                    return Ok(Caller::App);
                }
                "oauth2" => {
                    let Some(access) = self.access_tokens.get(bearer) else {
                        continue;
                    };
                    if access.expires_at <= Utc::now() {
                        return Err(ApiErr::unauthorized());
                    }
                    let Some(auth) = self.authorizations.get(&access.authorization) else {
                        continue;
                    };
                    return Ok(Caller::Account {
                        account_id: auth.account_id.clone(),
                        scope: auth.scope.clone(),
                    });
                }
                _ => {}
            }
        }
        Err(ApiErr::unauthorized())
    }

    /// A new authorization of `account_id` with its first tokens.
    fn authorize_account(&mut self, config: &Config, account_id: &str, scope: &str) -> Value {
        let id = self.next_id();
        self.authorizations.insert(
            id,
            AuthorizationRow {
                account_id: account_id.to_string(),
                scope: scope.to_string(),
            },
        );
        let refresh = alnum_id(32);
        self.refresh_tokens.insert(refresh.clone(), id);
        self.issue_access(config, id, &refresh)
    }

    /// A new access token of authorization `id`, answered with `refresh`.
    fn issue_access(&mut self, config: &Config, id: u64, refresh: &str) -> Value {
        let access = alnum_id(32);
        self.access_tokens.insert(
            access.clone(),
            AccessRow {
                authorization: id,
                expires_at: from_now(config.access_token_ttl),
            },
        );
        let scope = self
            .authorizations
            .get(&id)
            .map(|a| a.scope.clone())
            .unwrap_or_default();
        json!({
            "token_type": "bearer",
            "access_token": access,
            "expires_in": config.access_token_ttl.as_secs().min(MAX_EXPIRES_IN),
            "refresh_token": refresh,
            "scope": scope,
        })
    }

    /// `POST /oauth/token`.
    pub(super) fn token(&mut self, ctx: &Ctx<'_>, body: &Value, refreshes: &AtomicU64) -> Outcome {
        let config = ctx.config;
        let grant = body.get("grant_type").and_then(Value::as_str);
        let schema = match grant {
            Some("authorization_code") => "AuthorizationCodeGrant",
            Some("refresh_token") => "RefreshTokenGrant",
            Some(_) => {
                return Err(oauth_error(
                    "unsupported_grant_type",
                    "grant_type must be authorization_code or refresh_token",
                ));
            }
            None => {
                return Err(oauth_error(
                    "invalid_request",
                    "grant_type must be specified",
                ));
            }
        };
        if let Err(v) = check_schema(schema, body)? {
            let description = match v.problem {
                Problem::Missing => format!("{} must be specified", v.path.join(".")),
                _ => "the token request is malformed".to_string(),
            };
            return Err(oauth_error("invalid_request", &description));
        }
        check_client(config, body)?;
        let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
        if grant == Some("authorization_code") {
            let code = text("code");
            let now = Utc::now();
            let usable = self.codes.get(code).is_some_and(|c| {
                c.expires_at > now
                    && c.redirect_uri == text("redirect_uri")
                    && self.account(&c.account_id).is_some()
            });
            let row = match self.codes.remove(code) {
                Some(row) if usable => row,
                Some(row) => {
                    // A wrong redirect_uri does not use the code up.
                    if row.expires_at > now {
                        self.codes.insert(code.to_string(), row);
                    }
                    return Err(oauth_error(
                        "invalid_grant",
                        "the code is expired, or the redirect_uri does not match",
                    ));
                }
                None => {
                    return Err(oauth_error(
                        "invalid_grant",
                        "the code is unknown or was already used",
                    ));
                }
            };
            let mut answer = self.authorize_account(config, &row.account_id, &row.scope);
            answer["account_id"] = json!(row.account_id);
            answer["sub"] = json!(row.account_id);
            answer["linking_profile"] = self.linking_profile(&row.account_id);
            return ok(answer);
        }
        let old = text("refresh_token");
        let Some(&id) = self.refresh_tokens.get(old) else {
            return Err(oauth_error(
                "invalid_grant",
                "the refresh token is unknown, revoked or rotated",
            ));
        };
        let refresh = if config.rotate_refresh_tokens {
            self.refresh_tokens.remove(old);
            let fresh = alnum_id(32);
            self.refresh_tokens.insert(fresh.clone(), id);
            fresh
        } else {
            old.to_string()
        };
        refreshes.fetch_add(1, Ordering::Relaxed);
        ok(self.issue_access(config, id, &refresh))
    }

    /// Removes every token of authorization `id`.
    fn revoke(&mut self, id: u64) {
        self.authorizations.remove(&id);
        self.access_tokens.retain(|_, a| a.authorization != id);
        self.refresh_tokens.retain(|_, a| *a != id);
    }

    /// `POST /oauth/token/revoke`: by token (access or refresh), else by sub.
    pub(super) fn revoke_authorization(&mut self, config: &Config, body: &Value) -> Outcome {
        check_client(config, body)?;
        if let Some(token) = body.get("token").and_then(Value::as_str) {
            let id = self
                .refresh_tokens
                .get(token)
                .copied()
                .or_else(|| self.access_tokens.get(token).map(|a| a.authorization));
            if let Some(id) = id {
                self.revoke(id);
            }
            return Ok(Answer::Empty);
        }
        let Some(sub) = body.get("sub").and_then(Value::as_str) else {
            return Err(oauth_error(
                "invalid_request",
                "token or sub must be specified",
            ));
        };
        let ids: Vec<u64> = self
            .authorizations
            .iter()
            .filter(|(_, a)| a.account_id == sub)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.revoke(id);
        }
        Ok(Answer::Empty)
    }

    /// `GET /oauth/authorize`: the URL to redirect the browser to, or a page
    /// saying why not (never a redirect to an unregistered URI).
    fn authorize_page(
        &mut self,
        config: &Config,
        query: &Query,
    ) -> Result<String, (StatusCode, String)> {
        let refuse = |why: &str| Err((StatusCode::BAD_REQUEST, why.to_string()));
        if query.get("client_id") != Some(config.client_id.as_str()) {
            return refuse("Unknown client_id.");
        }
        let Some(redirect_uri) = query.get("redirect_uri") else {
            return refuse("redirect_uri must be given.");
        };
        let registered = if config.redirect_uris.is_empty() {
            web_url(redirect_uri)
        } else {
            config.redirect_uris.iter().any(|u| u == redirect_uri)
        };
        if !registered {
            return refuse("The redirect_uri is not registered for this application.");
        }
        let Ok(mut target) = url::Url::parse(redirect_uri) else {
            return refuse("The redirect_uri is not a URL.");
        };
        let scope = query.get("scope").unwrap_or("").trim().to_string();
        let error = if query.get("response_type") != Some("code") {
            Some("unsupported_response_type")
        } else if scope.is_empty() {
            Some("invalid_scope")
        } else {
            None
        };
        let account = self.signed_in.clone();
        {
            let mut pairs = target.query_pairs_mut();
            match (error, account) {
                (Some(error), _) => {
                    pairs.append_pair("error", error);
                }
                (None, None) => {
                    pairs.append_pair("error", "access_denied");
                }
                (None, Some(account)) => {
                    let code = self.issue_code(&account, redirect_uri, &scope);
                    pairs.append_pair("code", &code);
                }
            }
            if let Some(state) = query.get("state") {
                pairs.append_pair("state", state);
            }
        }
        Ok(target.into())
    }

    /// `POST /v1/application_calendars`: the same calendar for the same id,
    /// with fresh tokens.
    pub(super) fn application_calendar(&mut self, config: &Config, body: &Value) -> Outcome {
        let request: types::ApplicationCalendarRequest =
            decode("ApplicationCalendarRequest", body)?;
        check_client(config, body)?;
        if request.application_calendar_id.trim().is_empty() {
            return Err(invalid(
                "application_calendar_id",
                "application_calendar_id must not be blank",
            ));
        }
        let existing = self
            .accounts
            .iter()
            .find(|a| {
                a.application_calendar_id.as_deref() == Some(&request.application_calendar_id)
            })
            .map(|a| a.id.clone());
        let sub = match existing {
            Some(sub) => sub,
            None => {
                let sub = format!("apc_{}", hex_id(24));
                let email = format!("{}@application.cronofy.invalid", hex_id(10));
                self.add_account(&sub, &email, AccountKind::ApplicationCalendar);
                if let Some(a) = self.accounts.iter_mut().find(|a| a.id == sub) {
                    a.application_calendar_id = Some(request.application_calendar_id.clone());
                    a.name = request.application_calendar_id.clone();
                }
                sub
            }
        };
        let mut answer = self.authorize_account(config, &sub, "read_write");
        answer["sub"] = json!(sub);
        answer["application_calendar_id"] = json!(request.application_calendar_id);
        answer["linking_profile"] = self.linking_profile(&sub);
        ok(answer)
    }

    /// The page of an elevated-permissions request: granted at once.
    fn permissions_page(&mut self, token: &str) -> Response {
        let Some(request) = self.permission_requests.remove(token) else {
            return page(
                StatusCode::NOT_FOUND,
                "This permissions request is unknown or was used.",
            );
        };
        for (calendar_id, level) in &request.calendar_ids {
            if let Some(c) = self
                .calendars
                .iter_mut()
                .find(|c| &c.id == calendar_id && c.account_id == request.account_id)
            {
                c.permission_level.clone_from(level);
            }
        }
        match request.redirect_uri {
            Some(uri) => redirect(&uri),
            None => page(StatusCode::OK, "Permissions granted."),
        }
    }

    /// The booking page of a Real-Time Scheduling link (a placeholder:
    /// complete it with `Cronofy::complete_real_time_scheduling`).
    fn scheduling_page(&self, token: &str) -> Response {
        match self.rts.iter().find(|r| r.token == token) {
            Some(r) => page(
                StatusCode::OK,
                &format!("Real-Time Scheduling link: {}.", r.status),
            ),
            None => page(StatusCode::NOT_FOUND, "This scheduling link is unknown."),
        }
    }
}

impl Shared {
    /// The pages of the app host, which are no operations of the spec; any
    /// other route is a 404 with no body.
    pub(super) fn page(&self, request: &Request) -> Response {
        if request.method != Method::GET {
            return ApiErr::not_found().into_response();
        }
        let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["oauth", "authorize"] => {
                match self.with_state(|state| state.authorize_page(&self.config, &request.query)) {
                    Ok(location) => redirect(&location),
                    Err((status, why)) => page(status, &why),
                }
            }
            ["permissions", token] => self.with_state(|state| state.permissions_page(token)),
            ["real_time_scheduling", token] => {
                self.with_state(|state| state.scheduling_page(token))
            }
            _ => ApiErr::not_found().into_response(),
        }
    }
}

fn redirect(location: &str) -> Response {
    if http::HeaderValue::from_str(location).is_err() {
        return page(StatusCode::BAD_REQUEST, "The redirect URI cannot be used.");
    }
    Response::empty(StatusCode::FOUND).with_header("location", location)
}

fn page(status: StatusCode, text: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>Cronofy sandbox</title></head><body><p>{}</p></body></html>\n",
        text.replace('&', "&amp;").replace('<', "&lt;")
    );
    Response::new(status, "text/html; charset=utf-8", html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cronofy::spec::API;

    #[test]
    fn each_scheme_of_the_operation_is_tried_with_the_bearer() {
        let config = Config::for_tests();
        let mut store = Store::default();
        store.add_account("acc_1", "a@example.com", AccountKind::Account);
        let answer = store.authorize_account(&config, "acc_1", "read_write");
        let access = answer["access_token"].as_str().unwrap().to_string();
        let op = |id: &str| API.operation(id).unwrap();
        let cred = |v: &str| Some(("client_secret", v.to_string()));
        let who = |id: &str, v: &str| store.authenticate(&config, op(id), cred(v).as_ref());
        assert!(matches!(
            who("query_availability", "secret"),
            Ok(Caller::App)
        ));
        assert!(matches!(
            who("query_availability", &access),
            Ok(Caller::Account { .. })
        ));
        assert!(matches!(
            who("list_calendars", &access),
            Ok(Caller::Account { .. })
        ));
        assert_eq!(
            who("list_calendars", "secret").unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            who("get_smart_invite", &access).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert!(matches!(
            who("add_to_calendar", "anything"),
            Ok(Caller::Anonymous)
        ));
        assert!(
            store
                .authenticate(&config, op("list_calendars"), None)
                .is_err()
        );
    }
}
