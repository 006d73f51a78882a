//! Who the caller is: the account, userinfo and profiles, profile
//! revocation, elevated permissions, link and element tokens, and
//! Enterprise / Business Connect (service-account and delegated
//! authorizations, resources, accessible calendars, conferencing).

use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Answer, ApiErr, Outcome, invalid, ok, required};
use super::store::PermissionRequest;
use super::store::{AccountKind, Caller, Ctx, ProfileRow, Store};
use super::times::{alnum_id, check_web_url, domain_of, plausible_email, web_url};
use crate::cronofy::types;

/// Lifetime of element tokens, as in the docs' example.
const ELEMENT_TOKEN_TTL: i64 = 64_800;

/// A profile as Cronofy answers it.
pub(super) fn profile_json(p: &ProfileRow) -> Value {
    json!({
        "provider_name": p.provider_name,
        "provider_service": p.provider_service,
        "profile_id": p.id,
        "profile_name": p.name,
        "profile_connected": true,
        "profile_initial_sync_required": false,
    })
}

impl Store {
    /// `GET /v1/account`.
    pub(super) fn get_account(&self, caller: &Caller) -> Outcome {
        let Caller::Account { account_id, scope } = caller else {
            return Err(ApiErr::unauthorized());
        };
        let account = self.account(account_id).ok_or_else(ApiErr::unauthorized)?;
        ok(json!({
            "account": {
                "account_id": account.id,
                "email": account.email,
                "name": account.name,
                "scope": scope,
                "default_tzid": "Etc/UTC",
            },
            "sub": account.id,
        }))
    }

    /// `GET /v1/userinfo`.
    pub(super) fn userinfo(&self, caller: &Caller) -> Outcome {
        ok(self.userinfo_json(caller)?)
    }

    /// The caller's userinfo (also embedded by `delete_event` with
    /// `include_userinfo`).
    pub(super) fn userinfo_json(&self, caller: &Caller) -> Result<Value, ApiErr> {
        let Caller::Account {
            account_id: id,
            scope,
        } = caller
        else {
            return Err(ApiErr::unauthorized());
        };
        let account = self.account(id).ok_or_else(ApiErr::unauthorized)?;
        let profiles: Vec<Value> = self
            .profiles
            .iter()
            .filter(|p| &p.account_id == id && !p.revoked)
            .map(|p| {
                let mut profile = profile_json(p);
                let calendars: Vec<Value> = self
                    .calendars
                    .iter()
                    .filter(|c| c.profile_id == p.id)
                    .map(|c| {
                        let mut c = self.calendar_json(c);
                        if let Some(map) = c.as_object_mut() {
                            for key in ["provider_name", "profile_id", "profile_name"] {
                                map.remove(key);
                            }
                        }
                        c
                    })
                    .collect();
                profile["profile_calendars"] = json!(calendars);
                profile
            })
            .collect();
        let kind = match account.kind {
            AccountKind::Account => "account",
            AccountKind::ApplicationCalendar => "application_calendar",
        };
        Ok(json!({
            "sub": account.id,
            "email": account.email,
            "name": account.name,
            "zoneinfo": "Etc/UTC",
            "cronofy.type": kind,
            "cronofy.data": {
                "authorization": {"scope": scope, "status": "active"},
                "profiles": profiles,
            },
        }))
    }

    /// `GET /v1/profiles`.
    pub(super) fn list_profiles(&self, caller: &Caller) -> Outcome {
        let id = caller.account()?;
        let profiles: Vec<Value> = self
            .profiles
            .iter()
            .filter(|p| p.account_id == id && !p.revoked)
            .map(profile_json)
            .collect();
        ok(json!({ "profiles": profiles }))
    }

    /// `POST /v1/profiles/{profile_id}/revoke`.
    pub(super) fn revoke_profile(&mut self, caller: &Caller, profile_id: &str) -> Outcome {
        let id = caller.account()?.to_string();
        let profile = self
            .profiles
            .iter_mut()
            .find(|p| p.id == profile_id && p.account_id == id && !p.revoked)
            .ok_or_else(ApiErr::not_found)?;
        profile.revoked = true;
        Ok(Answer::Accepted)
    }

    /// `POST /v1/permissions`: a page on the app host that grants the levels.
    pub(super) fn request_permissions(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        let request: types::ElevatedPermissionsRequest =
            req.decode("ElevatedPermissionsRequest")?;
        if request.permissions.is_empty() {
            return Err(required("permissions"));
        }
        let mut wanted = Vec::new();
        for (i, p) in request.permissions.iter().enumerate() {
            if self.own_calendar(&account_id, &p.calendar_id).is_err() {
                return Err(invalid(
                    &format!("permissions.{i}.calendar_id"),
                    "calendar_id is not a calendar of this account",
                ));
            }
            if !matches!(p.permission_level.as_str(), "unrestricted" | "sandbox") {
                return Err(invalid(
                    &format!("permissions.{i}.permission_level"),
                    "permission_level must be unrestricted or sandbox",
                ));
            }
            wanted.push((p.calendar_id.clone(), p.permission_level.clone()));
        }
        let redirect_uri = request.redirect_uri.clone();
        if let Some(uri) = &redirect_uri
            && !web_url(uri)
        {
            return Err(invalid(
                "redirect_uri",
                "redirect_uri is not an http or https URL",
            ));
        }
        let token = alnum_id(24);
        self.permission_requests.insert(
            token.clone(),
            PermissionRequest {
                account_id,
                calendar_ids: wanted,
                redirect_uri,
            },
        );
        ok(json!({"permissions_request": {"url": format!("{}/permissions/{token}", ctx.root)}}))
    }

    /// `POST /v1/delegated_authorizations`: checked (the profile must be
    /// the caller's) and accepted (202).
    pub(super) fn delegated_authorization(&self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?;
        let request: types::DelegatedAuthorization = req.decode("DelegatedAuthorization")?;
        self.own_profile(account_id, &request.profile_id)?;
        check_authorization_request("", &request.email, &request.scope, &request.callback_url)?;
        Ok(Answer::Accepted)
    }

    /// The email domain of the caller's account.
    fn caller_domain(&self, caller: &Caller) -> Result<String, ApiErr> {
        let account_id = caller.account()?;
        Ok(self
            .account(account_id)
            .map(|a| domain_of(&a.email))
            .unwrap_or_default())
    }

    /// `GET /v1/resources`: the seeded resources of the caller's domain.
    pub(super) fn list_resources(&self, caller: &Caller) -> Outcome {
        let domain = self.caller_domain(caller)?;
        let resources: Vec<Value> = self
            .resources
            .iter()
            .filter(|(email, _)| domain_of(email) == domain)
            .map(|(email, name)| json!({"email": email, "name": name}))
            .collect();
        ok(json!({"resources": resources}))
    }

    /// `GET /v1/accessible_calendars?profile_id=`: the other accounts
    /// (`user`) and resources (`resource`) of the caller's domain.
    pub(super) fn list_accessible_calendars(&self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?;
        let profile_id = req
            .query
            .get("profile_id")
            .ok_or_else(|| required("profile_id"))?;
        req.check_params()?;
        self.own_profile(account_id, profile_id)?;
        let domain = self.caller_domain(&req.caller)?;
        let users = self
            .accounts
            .iter()
            .filter(|a| {
                a.id != account_id
                    && a.kind == AccountKind::Account
                    && domain_of(&a.email) == domain
            })
            .map(|a| json!({"calendar_type": "user", "email": a.email, "name": a.name}));
        let resources = self
            .resources
            .iter()
            .filter(|(email, _)| domain_of(email) == domain)
            .map(
                |(email, name)| json!({"calendar_type": "resource", "email": email, "name": name}),
            );
        let wanted = req.query.get("calendar_type");
        let calendars: Vec<Value> = users
            .chain(resources)
            .filter(|c| wanted.is_none_or(|t| c["calendar_type"] == t))
            .collect();
        ok(json!({"accessible_calendars": calendars}))
    }
}

/// `POST /v1/element_tokens`.
pub(super) fn element_token(req: &Req<'_>) -> Outcome {
    let request: types::ElementTokenRequest = req.decode("ElementTokenRequest")?;
    if request.permissions.is_empty() {
        return Err(required("permissions"));
    }
    if !web_url(&request.origin) {
        return Err(invalid("origin", "origin must be an http or https origin"));
    }
    ok(json!({
        "element_token": {
            "permissions": request.permissions,
            "origin": request.origin,
            "token": alnum_id(32),
            "expires_in": ELEMENT_TOKEN_TTL,
        }
    }))
}

/// `POST /v1/link_tokens`.
pub(super) fn link_token(caller: &Caller) -> Outcome {
    caller.account()?;
    ok(json!({"link_token": alnum_id(32)}))
}

/// One service-account or delegated authorization request's common fields.
fn check_authorization_request(
    at: &str,
    email: &str,
    scope: &str,
    callback_url: &str,
) -> Result<(), ApiErr> {
    if !plausible_email(email) {
        return Err(invalid(
            &format!("{at}email"),
            format!("{email} is not an email address"),
        ));
    }
    if scope.trim().is_empty() {
        return Err(required(&format!("{at}scope")));
    }
    check_web_url(&format!("{at}callback_url"), callback_url)?;
    Ok(())
}

/// `POST /v1/service_account_authorizations`, one or a batch: checked and
/// accepted (202); the callbacks Cronofy then makes are not played.
pub(super) fn service_account_authorization(req: &Req<'_>) -> Outcome {
    req.caller.account()?;
    match req
        .decode::<types::ServiceAccountAuthorizationRequest>("ServiceAccountAuthorizationRequest")?
    {
        types::ServiceAccountAuthorizationRequest::One(one) => {
            check_authorization_request("", &one.email, &one.scope, &one.callback_url)?;
        }
        types::ServiceAccountAuthorizationRequest::Batch(batch) => {
            if batch.service_account_authorizations.is_empty() {
                return Err(required("service_account_authorizations"));
            }
            for (i, one) in batch.service_account_authorizations.iter().enumerate() {
                check_authorization_request(
                    &format!("service_account_authorizations.{i}."),
                    &one.email,
                    &one.scope,
                    &one.callback_url,
                )?;
            }
        }
    }
    Ok(Answer::Accepted)
}

/// `POST /v1/conferencing_service_authorizations`: the URL to send the user to.
pub(super) fn conferencing_authorization(ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
    req.caller.account()?;
    let request: types::ConferencingServiceAuthorizationRequest =
        req.decode("ConferencingServiceAuthorizationRequest")?;
    check_web_url("redirect_uri", &request.redirect_uri)?;
    ok(json!({
        "authorization_request": {
            "url": format!("{}/conferencing_service_authorizations/{}", ctx.root, alnum_id(20)),
        }
    }))
}
