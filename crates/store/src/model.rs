//! Records and queries that only the store and the server share (the domain types live in
//! eligo-core).

use chrono::{DateTime, Utc};
use eligo_core::directory::{Group, Relation, ServicePrincipal, User};
use eligo_core::request::{RequestKind, RequestStatus};
use eligo_core::schedule::ScheduleKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One page of a collection: `top` rows after skipping `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub top: i64,
    pub skip: i64,
}

impl Page {
    pub const ALL: Page = Page {
        top: i64::MAX / 2,
        skip: 0,
    };
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    pub upn: Option<String>,
    pub display_name: Option<String>,
    pub display_name_prefix: Option<String>,
    /// The user principal name starts with this (case-insensitive).
    pub upn_prefix: Option<String>,
    /// The display name or the user principal name starts with this: what a person typing
    /// into a picker means.
    pub name_or_upn_prefix: Option<String>,
    pub mail: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupQuery {
    pub display_name: Option<String>,
    pub display_name_prefix: Option<String>,
    pub is_assignable_to_role: Option<bool>,
}

/// Which service principals a listing covers (every one by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServicePrincipalQuery {
    pub display_name: Option<String>,
    /// The display name starts with this (case-insensitive).
    pub display_name_prefix: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleQuery {
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleQuery {
    pub kind: Option<ScheduleKind>,
    pub targets: Targets,
    pub principal_ids: Option<Vec<Uuid>>,
    pub role_definition_id: Option<Uuid>,
    pub directory_scope_id: Option<String>,
}

/// Reads a use case is about to make, asked together (`Tx::read_ahead`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadAhead {
    pub principals: Vec<Uuid>,
    pub schedules: Option<ScheduleQuery>,
    pub requests: Option<(RequestQuery, Page)>,
}

/// A principal read by id, whatever its kind (`Tx::get_principals`).
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    User(User),
    Group(Group),
    ServicePrincipal(ServicePrincipal),
}

impl Principal {
    pub fn kind(&self) -> eligo_core::directory::PrincipalKind {
        use eligo_core::directory::PrincipalKind;
        match self {
            Principal::User(_) => PrincipalKind::User,
            Principal::Group(_) => PrincipalKind::Group,
            Principal::ServicePrincipal(_) => PrincipalKind::ServicePrincipal,
        }
    }
}

/// A hot read whose plan [`crate::Tx::explain`] shows, built exactly as the store runs it (the
/// store contract asserts the index each one uses).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum HotQuery {
    /// `list_role_schedules` with this query.
    Schedules(ScheduleQuery),
    /// `relations_of_group`.
    RelationsOfGroup(Uuid, Relation),
    /// `list_schedule_requests` with this query (first page).
    Requests(RequestQuery),
    /// `list_users` with this query (first page).
    Users(UserQuery),
    /// `list_groups` with this query (first page).
    Groups(GroupQuery),
    /// `list_service_principals` with this query (first page).
    ServicePrincipals(ServicePrincipalQuery),
}

/// Which schedules or requests a listing covers: directory roles, group accesses (PIM for
/// Groups), or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Targets {
    #[default]
    All,
    Roles,
    Groups,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestQuery {
    pub kind: Option<RequestKind>,
    pub targets: Targets,
    pub principal_id: Option<Uuid>,
    pub role_definition_id: Option<Uuid>,
    pub directory_scope_id: Option<String>,
    pub status: Option<RequestStatus>,
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub category: Option<String>,
    /// The activity is exactly this.
    pub activity: Option<String>,
    /// The activity starts with this (case-insensitive).
    pub activity_prefix: Option<String>,
    /// The activity contains this (case-insensitive); not indexed (it reads newest first
    /// until a page is full).
    pub activity_contains: Option<String>,
    pub initiator_id: Option<Uuid>,
    /// The initiator's display name or UPN, as the entry records it, starts with this
    /// (ASCII case-insensitive: `eligo_core::audit::search_name`).
    pub initiator_prefix: Option<String>,
    pub target_id: Option<String>,
    /// A target's display name or UPN, as the entry records it, starts with this (ASCII
    /// case-insensitive).
    pub target_prefix: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A session. The bearer token itself is never stored, only its SHA-256.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub token_hash: String,
    pub principal_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// None: does not expire (only the bootstrap break-glass token).
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When this session last proved a second factor (sign-in with TOTP or step-up).
    pub last_mfa_at: Option<DateTime<Utc>>,
    /// Authentication methods used: "pwd", "otp", "secret", "bootstrap", "tap".
    pub amr: Vec<String>,
    /// Where the session may be used. A portal session is a cookie that demanded the second
    /// factor at sign-in; an API token is refused as a portal cookie. Records written before
    /// this field existed read as `Api`, which keeps them out of the portal (fail closed).
    #[serde(default)]
    pub channel: SessionChannel,
    /// The authentication context class an OpenID Connect provider vouched for at sign-in
    /// (its `acr` claim); None for Eligo's own sign-ins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// When the provider says that sign-in took place (its `auth_time`): the `acr` counts only
    /// within the same freshness window as a second factor. None (no `auth_time`, or a record
    /// written before this field existed): the `acr` never counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_at: Option<DateTime<Utc>>,
}

/// Where a session was issued and may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionChannel {
    /// A bearer token for the API and the CLI.
    #[default]
    Api,
    /// A portal cookie session (idle timeout, anti-forgery tokens).
    Portal,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("token_hash", &"<redacted>")
            .field("principal_id", &self.principal_id)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("amr", &self.amr)
            .field("channel", &self.channel)
            .field("acr", &self.acr)
            .field("acr_at", &self.acr_at)
            .finish()
    }
}

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}
