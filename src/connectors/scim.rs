//! The SCIM 2.0 connector (RFC 7643/7644): finds users by `userName`, and adds and removes group
//! members with PATCH, so a change touches one member and never rewrites the whole group.
//!
//! Targets are SCIM Groups named by id or by displayName; a displayName is looked up once and
//! remembered (forgotten when the group answers 404). Adding a member who is there and removing
//! one who is not are successes, whatever the server answers for them (checked by reading the
//! group when it refuses). The bearer token never appears in errors or `Debug`.

mod http;
mod settings;
mod shapes;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use self::http::{Failure, Http, filter_literal};
use self::settings::parse_ca;
use self::shapes::{matching, members_of, resources};
use super::{
    ConnectorError, Downstream, DownstreamMember, DownstreamRef, MemberIdentity, SettingError,
};

pub use self::settings::{SECRET_FIELDS, ScimSettings, UserNameFrom, validate_target};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A connector to one SCIM service provider.
pub struct ScimConnector {
    http: Http,
    user_name_from: UserNameFrom,
    /// Target (id or displayName) → group id, for targets already found.
    groups: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for ScimConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimConnector")
            .field("base_url", &self.http.base.as_str())
            .field("user_name_from", &self.user_name_from)
            .finish_non_exhaustive()
    }
}

impl ScimConnector {
    /// Builds the HTTP client (timeouts, keep-alive pool, the private CA if any) refusing every
    /// internal address; no network I/O.
    pub fn new(settings: ScimSettings) -> Result<Self, SettingError> {
        Self::with_outbound(settings, crate::outbound::Outbound::default())
    }

    /// `new` under the deployment's outbound policy (`ELIGO_OUTBOUND_ALLOW`).
    pub fn with_outbound(
        settings: ScimSettings,
        outbound: crate::outbound::Outbound,
    ) -> Result<Self, SettingError> {
        let base = reqwest::Url::parse(&settings.base_url)
            .map_err(|e| SettingError::new("baseUrl", format!("is not a URL: {e}")))?;
        let token = settings.bearer_token.expose().to_string();
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| SettingError::new("bearerToken", "is not a valid header value"))?;
        authorization.set_sensitive(true);

        // reqwest is built without a TLS provider of its own: use the tree's (ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .dns_resolver(outbound.resolver())
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout())
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("eligo/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &settings.ca_certificate_pem {
            let certs = parse_ca(pem).map_err(|e| SettingError::new("caCertificatePem", e))?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| SettingError::new("caCertificatePem", format!("unusable: {e}")))?;
        Ok(Self {
            http: Http {
                client,
                base,
                authorization,
                token,
                outbound,
            },
            user_name_from: settings.user_name_from,
            groups: Mutex::new(HashMap::new()),
        })
    }

    /// The group id for `target`, and whether it came from the cache (then it may be stale).
    async fn group_id(&self, target: &str) -> Result<(String, bool), ConnectorError> {
        if let Some(id) = self.cache().get(target) {
            return Ok((id.clone(), true));
        }
        let id = self.find_group(target).await?;
        self.cache().insert(target.to_string(), id.clone());
        Ok((id, false))
    }

    fn forget(&self, target: &str) {
        self.cache().remove(target);
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An existing group's id as is; otherwise the one group with that displayName.
    async fn find_group(&self, target: &str) -> Result<String, ConnectorError> {
        // "." and ".." cannot be path segments (they would name /Groups itself).
        if !matches!(target, "." | "..") {
            let url = self.http.url(&["Groups", target]);
            let query = [("excludedAttributes", "members")];
            match self.http.get_object(url, &query).await {
                Ok(group) => {
                    return match group.get("id").and_then(Value::as_str) {
                        Some(id) => Ok(id.to_string()),
                        None => Err(ConnectorError::Unavailable(format!(
                            "GET group {target:?}: the answer has no string \"id\""
                        ))),
                    };
                }
                // Not an id (some servers refuse a malformed one with 400): try the displayName.
                Err(f)
                    if matches!(
                        f.status(),
                        Some(StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST)
                    ) => {}
                Err(f) => return Err(f.into_error(&format!("GET group {target:?}"))),
            }
        }

        let filter = format!("displayName eq {}", filter_literal(target));
        let what = format!("find the group named {target:?}");
        let list = self
            .http
            .get_object(
                self.http.url(&["Groups"]),
                &[("filter", &filter), ("excludedAttributes", "members")],
            )
            .await
            .map_err(|f| f.into_error(&what))?;
        let ids = matching(&list, "displayName", target).map_err(|e| unavailable(&what, e))?;
        match ids.as_slice() {
            [] => Err(ConnectorError::Misconfigured(format!(
                "no such group: no SCIM group has the id or displayName {target:?}"
            ))),
            [id] => Ok(id.clone()),
            _ => Err(ConnectorError::Misconfigured(format!(
                "{} SCIM groups are named {target:?}; name the group by its id",
                ids.len()
            ))),
        }
    }

    /// PATCHes the group with one operation. A 404 for a remembered group forgets it and tries
    /// once more with a fresh lookup. A refusal (400/409) is a success when the group, read
    /// back, already is as wanted (`member` in it or not, per `want_member`).
    async fn patch(
        &self,
        target: &str,
        operation: Value,
        member: &str,
        want_member: bool,
    ) -> Result<(), ConnectorError> {
        let body = json!({ "schemas": [PATCH_OP], "Operations": [operation] });
        loop {
            let (id, cached) = self.group_id(target).await?;
            let what = format!("PATCH group {id}");
            let failure = match self
                .http
                .call(
                    Method::PATCH,
                    self.http.url(&["Groups", &id]),
                    &[],
                    Some(&body),
                )
                .await
            {
                // 200 with the group, or 204 without: both say it is done.
                Ok(_) => return Ok(()),
                Err(f) => f,
            };
            match failure.status() {
                Some(StatusCode::NOT_FOUND) if cached => {
                    self.forget(target);
                    continue;
                }
                Some(StatusCode::NOT_FOUND) => {
                    self.forget(target);
                    return Err(failure.into_error(&what));
                }
                Some(StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
                    if let Failure::Status {
                        scim_type: Some(t), ..
                    } = &failure
                        && !want_member
                        && t == "noTarget"
                    {
                        return Ok(()); // removing someone who is not there
                    }
                    // "Already a member" or "not a member" in the server's own words: look.
                    let members = self
                        .member_values(&id)
                        .await
                        .map_err(|f| f.into_error(&format!("GET group {id}")))?;
                    if members.iter().any(|m| m.reference == member) == want_member {
                        return Ok(());
                    }
                    return Err(failure.into_error(&what));
                }
                _ => return Err(failure.into_error(&what)),
            }
        }
    }

    /// The members of group `id` (users; nested groups are not Eligo's to manage).
    async fn member_values(&self, id: &str) -> Result<Vec<DownstreamMember>, Failure> {
        let group = self
            .http
            .get_object(self.http.url(&["Groups", id]), &[("attributes", "members")])
            .await?;
        members_of(&group).map_err(Failure::Shape)
    }
}

#[async_trait]
impl Downstream for ScimConnector {
    async fn resolve(
        &self,
        member: &MemberIdentity,
    ) -> Result<Option<DownstreamRef>, ConnectorError> {
        let user_name = match self.user_name_from {
            UserNameFrom::UserPrincipalName => member.user_principal_name.as_str(),
            UserNameFrom::Mail => match &member.mail {
                Some(mail) => mail.as_str(),
                None => return Ok(None), // no mail, no SCIM user to find
            },
        };
        let filter = format!("userName eq {}", filter_literal(user_name));
        let what = format!("find the user {user_name:?}");
        let list = self
            .http
            .get_object(
                self.http.url(&["Users"]),
                &[("filter", &filter), ("attributes", "userName")],
            )
            .await
            .map_err(|f| f.into_error(&what))?;
        let ids = matching(&list, "userName", user_name).map_err(|e| unavailable(&what, e))?;
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            _ => Err(ConnectorError::Misconfigured(format!(
                "{} SCIM users have the userName {user_name:?}",
                ids.len()
            ))),
        }
    }

    async fn add(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError> {
        let operation = json!({ "op": "add", "path": "members", "value": [{ "value": member }] });
        self.patch(target, operation, member, true).await
    }

    async fn remove(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError> {
        let path = format!("members[value eq {}]", filter_literal(member));
        self.patch(
            target,
            json!({ "op": "remove", "path": path }),
            member,
            false,
        )
        .await
    }

    async fn members(&self, target: &str) -> Result<Option<Vec<DownstreamMember>>, ConnectorError> {
        loop {
            let (id, cached) = self.group_id(target).await?;
            match self.member_values(&id).await {
                Ok(members) => return Ok(Some(members)),
                Err(f) if f.status() == Some(StatusCode::NOT_FOUND) => {
                    self.forget(target);
                    if !cached {
                        return Err(f.into_error(&format!("GET group {id}")));
                    }
                }
                Err(f) => return Err(f.into_error(&format!("GET group {id}"))),
            }
        }
    }

    async fn probe(&self) -> Result<(), ConnectorError> {
        // The configuration may be public (RFC 7644 §4), and a few servers lack it: listing
        // users is what proves the token.
        match self
            .http
            .get_object(self.http.url(&["ServiceProviderConfig"]), &[])
            .await
        {
            Ok(_) => {}
            Err(f) if f.status() == Some(StatusCode::NOT_FOUND) => {}
            Err(f) => return Err(f.into_error("GET /ServiceProviderConfig")),
        }
        let what = "GET /Users";
        let list = self
            .http
            .get_object(
                self.http.url(&["Users"]),
                &[("count", "1"), ("attributes", "userName")],
            )
            .await
            .map_err(|f| f.into_error(what))?;
        resources(&list).map_err(|e| unavailable(what, e))?;
        Ok(())
    }
}

fn unavailable(what: &str, problem: String) -> ConnectorError {
    ConnectorError::Unavailable(format!("{what}: {problem}"))
}
