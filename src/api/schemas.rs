//! The shapes of the JSON answers, for the OpenAPI document only. Most handlers build their
//! answers as JSON (Graph's field names, `@odata.type` annotations, group fields renamed for PIM
//! for Groups), so these types are never built: each mirrors what its handler or `shape`
//! function writes, field for field, and Schemathesis holds every answer against it (see
//! `tests/it/process/schemathesis.rs`). Fields that are always present are required, even when
//! they may be `null`; fields that are sometimes left out are optional.
//!
//! Input rules that JSON Schema can state (lengths, patterns, enums) are here too, as the
//! patterns the request bodies and query parameters refer to.

#![allow(dead_code, clippy::large_enum_variant)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Patterns of input rules (ECMA 262, as JSON Schema wants them; kept to what Python's `re` reads
// too, since Schemathesis generates from them).
// ---------------------------------------------------------------------------------------------

/// A display name: at most 256 characters (the length is `maxLength`), no control character,
/// not only white space.
pub const DISPLAY_NAME: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
/// `local@domain`, no white space, one `@`; the domain neither starts nor ends with a dot. (The
/// server reads any characters but white space and controls; the schema keeps to printable
/// ASCII, where its `maxLength` and the server's byte limit agree.)
pub const UPN: &str = r"^[!-?A-~]+@([!-\-/-?A-~]|[!-\-/-?A-~][!-?A-~]*[!-\-/-?A-~])$";
/// Graph's `mailNickname`: 1 to 64 printable ASCII characters without spaces or `@`.
pub const MAIL_NICKNAME: &str = r"^[!-?A-~]{1,64}$";
/// A directory scope: `/` or `/segment(/segment)*` (no empty, `.` or `..` segment).
pub const DIRECTORY_SCOPE: &str = r"^(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})$";
/// An ISO 8601 duration as Graph writes them (`PT30M`, `PT8H`, `P15D`, `P1DT2H`): the common
/// forms (Eligo reads every form of `eligo_core::duration`).
pub const DURATION: &str = r"^P([1-9][0-9]{0,2}[DW]|[1-9][0-9]{0,2}DT[1-9][0-9]?H|T[1-9][0-9]{0,2}[HM]|T[1-9][0-9]?H[1-9][0-9]?M)$";
/// A resource action `namespace/resource/verb`: the namespace has a dot; segments of letters,
/// digits, `.`, `*`, `-`, `_`.
pub const RESOURCE_ACTION: &str =
    r"^[A-Za-z0-9*_-]{1,30}\.[A-Za-z0-9.*_-]{1,30}(/[A-Za-z0-9.*_-]{1,30}){1,4}$";
/// A one-time code of an authenticator app.
pub const OTP: &str = r"^[0-9]{6}$";
/// `$skiptoken`: the one an `@odata.nextLink` carries (base64url of `skip:N`). This pattern
/// accepts offsets whose digits after the first are 0 to 7 (what JSON Schema can say simply);
/// the server reads every offset it ever writes.
pub const SKIPTOKEN: &str = r"^c2tpcDo[w-z0-5]([MN][DTjz][AEIMQUYcgk][w-z0-5]){0,4}$";
/// The id of a role management policy: `DirectoryRole_{roleId}` or `Group_{groupId}_{member|owner}`.
pub const POLICY_ID: &str = r"^(DirectoryRole_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|Group_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_(member|owner))$";
/// A GUID inside a `$filter` literal.
pub const GUID: &str =
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// A schema written as JSON (for rules the derive cannot state).
fn json_schema(v: Value) -> utoipa::openapi::Schema {
    serde_json::from_value(v).expect("the schemas here are valid")
}

/// Schemas of input fields, for `#[schema(schema_with = ...)]`.
pub mod field {
    use serde_json::json;
    use utoipa::openapi::Schema;

    use super::*;

    pub fn display_name() -> Schema {
        json_schema(
            json!({"type": "string", "minLength": 1, "maxLength": 256, "pattern": DISPLAY_NAME}),
        )
    }

    pub fn display_name_or_null() -> Schema {
        json_schema(
            json!({"type": ["string", "null"], "minLength": 1, "maxLength": 256, "pattern": DISPLAY_NAME}),
        )
    }

    pub fn description_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "maxLength": 1024}))
    }

    pub fn upn() -> Schema {
        json_schema(json!({"type": "string", "maxLength": 113, "pattern": UPN}))
    }

    pub fn mail_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "maxLength": 113, "pattern": UPN}))
    }

    pub fn mail_nickname_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "pattern": MAIL_NICKNAME}))
    }

    /// 12 to 256 characters.
    pub fn password() -> Schema {
        json_schema(json!({"type": "string", "minLength": 12, "maxLength": 256}))
    }

    pub fn password_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "minLength": 12, "maxLength": 256}))
    }

    pub fn directory_scope() -> Schema {
        json_schema(json!({"type": "string", "maxLength": 400, "pattern": DIRECTORY_SCOPE}))
    }

    pub fn directory_scope_or_null() -> Schema {
        json_schema(
            json!({"type": ["string", "null"], "maxLength": 400, "pattern": DIRECTORY_SCOPE}),
        )
    }

    pub fn duration_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "pattern": DURATION}))
    }

    pub fn otp() -> Schema {
        json_schema(json!({"type": "string", "pattern": OTP}))
    }

    pub fn uuid() -> Schema {
        json_schema(json!({"type": "string", "format": "uuid"}))
    }

    pub fn uuid_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "format": "uuid"}))
    }

    pub fn date_time_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "format": "date-time"}))
    }

    pub fn resource_actions() -> Schema {
        json_schema(json!({
            "type": "array", "minItems": 1,
            "items": {"type": "string", "maxLength": 200, "pattern": RESOURCE_ACTION},
        }))
    }

    pub fn group_access() -> Schema {
        json_schema(json!({"type": "string", "enum": ["member", "owner"]}))
    }

    /// What a webhook subscription may name: notices (access package ones too) and security
    /// events, or `*` (all notices and `breakglass.used`) with at most the audit events beside it.
    pub fn event_types() -> Schema {
        json_schema(json!({
            "oneOf": [
                {
                    "type": "array", "minItems": 1, "uniqueItems": true,
                    "items": {"type": "string", "enum": [
                        "activation.requested", "request.approved", "request.denied",
                        "request.expired", "access.activated", "eligibility.granted",
                        "assignment.granted", "access.expiring", "access.expired",
                        "breakglass.used", "alert.raised", "audit.entry", "audit.checkpoint",
                        "accessPackage.approvalRequested", "accessPackage.requestApproved",
                        "accessPackage.requestDenied", "accessPackage.assignmentDelivered",
                        "accessPackage.assignmentExpiring", "accessPackage.assignmentExpired",
                    ]},
                },
                {
                    "type": "array", "uniqueItems": true,
                    "minItems": 1,
                    "items": {"type": "string", "enum": ["*", "audit.entry", "audit.checkpoint"]},
                    "contains": {"const": "*"},
                },
            ],
        }))
    }

    /// An absolute http(s) URL without user info or fragment.
    pub fn http_url() -> Schema {
        json_schema(json!({
            "type": "string", "format": "uri", "maxLength": 2048,
            "pattern": r"^https?://[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){0,3}(:[1-9][0-9]{1,3})?(/[A-Za-z0-9._~-]{1,20}){0,4}$",
        }))
    }

    pub fn null_only() -> Schema {
        json_schema(json!({"type": "null"}))
    }

    pub fn root_scope_or_null() -> Schema {
        json_schema(json!({"type": ["string", "null"], "enum": ["/", null]}))
    }

    pub fn request_action() -> Schema {
        json_schema(json!({"type": "string", "enum": [
            "adminAssign", "adminUpdate", "adminRemove", "adminExtend", "adminRenew",
            "selfActivate", "selfDeactivate", "selfExtend", "selfRenew",
        ]}))
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Graph's error answer: `{"error": {"code", "message", "details"?}}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code a script can branch on (`Request_BadRequest`, `InvalidCredentials`, ...).
    pub code: String,
    pub message: String,
    /// Which fields or rules, when the failure names some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Collections
// ---------------------------------------------------------------------------------------------

/// `{"value": [...]}`, with `@odata.nextLink` when there is a next page.
#[derive(Serialize, ToSchema)]
pub struct Collection<T: ToSchema> {
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub context: Option<String>,
    pub value: Vec<T>,
    /// The next page: the same request with a `$skiptoken`.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next_link: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Unavailable,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Where this server's access index stands in the change log (PostgreSQL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<FeedHealth>,
    /// This server's clock against the database's (PostgreSQL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockHealth>,
}

/// How far this server's clock is from the database's, which every server reaches: servers
/// whose clocks differ disagree about when an activation or a session ends (issue 18).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClockHealth {
    /// The database's clock minus this server's, in milliseconds (positive: this one is
    /// behind), read in this request.
    pub skew_ms: i64,
    /// Give or take this many milliseconds (half the reading's round trip).
    pub within_ms: i64,
    /// Off by more than a second: time-bound access ends at a different instant on this
    /// server than on one whose clock is right. Fix its time synchronisation (NTP).
    pub too_large: bool,
}

/// How far this server's access index is behind the database (several servers, issue 18).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedHealth {
    /// The last change number the index applied.
    pub applied: u64,
    /// The newest change number this server knows was committed.
    pub head: u64,
    /// Milliseconds since the index was last known to hold every committed change (absent:
    /// never since start).
    pub lag_ms: Option<u64>,
    /// The change log lost entries this server needs; the index is being rebuilt.
    pub gap: bool,
    /// Whether the lag is within `ELIGO_MAX_STALENESS` (the server answers from its index).
    pub fresh: bool,
}

// ---------------------------------------------------------------------------------------------
// Directory
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub enum UserType {
    #[serde(rename = "#microsoft.graph.user")]
    User,
}

#[derive(Serialize, ToSchema)]
pub enum GroupType {
    #[serde(rename = "#microsoft.graph.group")]
    Group,
}

#[derive(Serialize, ToSchema)]
pub enum ServicePrincipalType {
    #[serde(rename = "#microsoft.graph.servicePrincipal")]
    ServicePrincipal,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "@odata.type")]
    pub odata_type: UserType,
    pub id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    #[schema(required = true)]
    pub mail: Option<String>,
    #[schema(required = true)]
    pub mail_nickname: Option<String>,
    #[schema(required = true)]
    pub manager_id: Option<Uuid>,
    pub account_enabled: bool,
    pub created_date_time: DateTime<Utc>,
    /// Only when `$select` names it (and the caller may read the audit log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_activity: Option<SignInActivity>,
}

/// Graph's `signInActivity`: the last successful sign-ins, null when never.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInActivity {
    /// Interactive: password, portal, Temporary Access Pass.
    #[schema(required = true)]
    pub last_sign_in_date_time: Option<DateTime<Utc>>,
    /// Non-interactive (a service principal's client credentials; null for people today).
    #[schema(required = true)]
    pub last_non_interactive_sign_in_date_time: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(rename = "@odata.type")]
    pub odata_type: GroupType,
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    #[schema(required = true)]
    pub mail_nickname: Option<String>,
    pub security_enabled: bool,
    pub is_assignable_to_role: bool,
    /// Always empty: Eligo manages security groups.
    #[schema(max_items = 0)]
    pub group_types: Vec<String>,
    /// Always false.
    pub mail_enabled: bool,
    pub created_date_time: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    #[serde(rename = "@odata.type")]
    pub odata_type: ServicePrincipalType,
    pub id: Uuid,
    pub display_name: String,
    /// The client id it signs in with.
    pub app_id: Uuid,
    pub account_enabled: bool,
    pub created_date_time: DateTime<Utc>,
}

/// A new service principal: its client secret is shown in this answer only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewServicePrincipal {
    #[serde(flatten)]
    pub principal: ServicePrincipal,
    pub secret: String,
}

/// A user, group or service principal, each marked with its `@odata.type`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum DirectoryObject {
    User(User),
    Group(Group),
    ServicePrincipal(ServicePrincipal),
}

/// What the calling session proves.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Authentication methods: `pwd`, `otp`, `secret`, `bootstrap`, `tap`.
    pub amr: Vec<String>,
    #[schema(required = true)]
    pub last_mfa_date_time: Option<DateTime<Utc>>,
    /// None for the break-glass token, which does not expire.
    #[schema(required = true)]
    pub expires_date_time: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct MeUser {
    #[serde(flatten)]
    pub user: User,
    pub session: SessionInfo,
}

#[derive(Serialize, ToSchema)]
pub struct MeServicePrincipal {
    #[serde(flatten)]
    pub principal: ServicePrincipal,
    pub session: SessionInfo,
}

/// The calling principal (a user or a service principal) and its session.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Me {
    User(MeUser),
    ServicePrincipal(MeServicePrincipal),
}

/// `checkMemberGroups`: the given group ids the user is in.
#[derive(Serialize, ToSchema)]
pub struct GroupIds {
    pub value: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub enum PasswordCredentialType {
    #[serde(rename = "#microsoft.graph.passwordCredential")]
    PasswordCredential,
}

/// A service principal's new client secret; `secretText` is shown in this answer only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    #[serde(rename = "@odata.type")]
    pub odata_type: PasswordCredentialType,
    pub key_id: Uuid,
    #[schema(required = true)]
    pub display_name: Option<String>,
    /// The secret's first characters after its prefix.
    pub hint: String,
    pub secret_text: String,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub enum AccessPassType {
    #[serde(rename = "#microsoft.graph.temporaryAccessPassAuthenticationMethod")]
    TemporaryAccessPass,
}

#[derive(Serialize, ToSchema)]
pub enum MethodUsabilityReason {
    EnabledByPolicy,
    NotYetValid,
    Expired,
    OneTimeUsed,
}

/// Graph's `temporaryAccessPassAuthenticationMethod`; the pass itself only in the answer to
/// its creation (null afterwards).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessPass {
    #[serde(rename = "@odata.type")]
    pub odata_type: AccessPassType,
    pub id: Uuid,
    #[schema(required = true)]
    pub temporary_access_pass: Option<String>,
    pub created_date_time: DateTime<Utc>,
    pub start_date_time: DateTime<Utc>,
    pub lifetime_in_minutes: i64,
    pub is_usable_once: bool,
    pub is_usable: bool,
    pub method_usability_reason: MethodUsabilityReason,
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub enum TokenType {
    Bearer,
}

#[derive(Serialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    pub token_type: TokenType,
    /// Seconds.
    pub expires_in: i64,
    /// `pwd`, `otp`, `secret`, `tap`.
    pub amr: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SteppedUp {
    pub last_mfa_date_time: DateTime<Utc>,
    pub amr: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// Base32.
    pub secret: String,
    /// `otpauth://totp/...`
    pub otpauth_uri: String,
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub enum RoleDefinitionType {
    #[serde(rename = "#microsoft.graph.unifiedRoleDefinition")]
    RoleDefinition,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolePermission {
    pub allowed_resource_actions: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    #[serde(rename = "@odata.type")]
    pub odata_type: RoleDefinitionType,
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub is_built_in: bool,
    pub is_enabled: bool,
    #[schema(required = true)]
    pub template_id: Option<Uuid>,
    pub role_permissions: Vec<RolePermission>,
    #[schema(required = true)]
    pub created_date_time: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------------------------------------
// Effective access
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    pub id: String,
    #[schema(required = true)]
    pub display_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AccessPathKind {
    DirectAssignment,
    Activation,
    DirectMembership,
    NestedMembership,
    DirectOwnership,
    ActivatedOwnership,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessPath {
    pub kind: AccessPathKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub schedule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub directory_scope_id: Option<String>,
    pub via: Vec<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub end_date_time: Option<DateTime<Utc>>,
    pub description: String,
}

/// Whether the principal has the access now, until when, and every way it comes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessAnswer {
    pub allowed: bool,
    /// When the access ends if nothing changes; absent: permanent (or not allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub expires_at: Option<DateTime<Utc>>,
    pub paths: Vec<AccessPath>,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerError {
    pub code: String,
    pub message: String,
}

/// One answer of a batch: an answer, or `allowed: false` with the error of that question.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchAnswer {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub expires_at: Option<DateTime<Utc>>,
    pub paths: Vec<AccessPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<AnswerError>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchAnswers {
    /// One answer per question, in order.
    pub value: Vec<BatchAnswer>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Exposure {
    Standing,
    Active,
    Eligible,
}

#[derive(Serialize, ToSchema)]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exposed {
    pub principal_id: String,
    #[schema(required = true)]
    pub display_name: Option<String>,
    #[schema(required = true)]
    pub principal_type: Option<PrincipalType>,
    pub exposure: Exposure,
    pub via: Vec<Named>,
    pub directory_scope_id: String,
    pub schedule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub end_date_time: Option<DateTime<Utc>>,
    pub description: String,
}

/// Everyone who holds a role now, could activate it, or reaches it through groups.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExposureReport {
    pub role_definition_id: Uuid,
    pub display_name: String,
    /// Distinct principals: `standing`, `active`, `eligible` and `principals` (all).
    pub summary: BTreeMap<String, u64>,
    /// Standing first, then active, then eligible.
    pub value: Vec<Exposed>,
}

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub enum AuditCategory {
    RoleManagement,
    GroupManagement,
    UserManagement,
    ApplicationManagement,
    Policy,
    Authentication,
    EntitlementManagement,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuditResult {
    Success,
    Failure,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    /// None for Eligo's own scheduler.
    #[schema(required = true)]
    pub id: Option<Uuid>,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub user_principal_name: Option<String>,
}

/// `{"user": {...}}` or `{"app": {...}}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuditInitiator {
    User(AuditActor),
    App(AuditActor),
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTarget {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(required = true)]
    pub display_name: Option<String>,
    /// A user target's UPN when the entry was written (absent in older entries).
    pub user_principal_name: Option<String>,
    /// What the change did to this target (Graph's modifiedProperties); absent when nothing.
    pub modified_properties: Option<Vec<ModifiedProperty>>,
}

/// One changed property: its name and its values before and after (empty: none; a secret's
/// values are never recorded, only `(changed)`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: String,
    pub new_value: String,
}

#[derive(Serialize, ToSchema)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// One sealed entry of the audit chain, as Graph's `directoryAudit` with the chain's fields.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    pub sequence: i64,
    pub activity_date_time: DateTime<Utc>,
    pub activity_display_name: String,
    pub category: AuditCategory,
    pub result: AuditResult,
    pub initiated_by: AuditInitiator,
    pub target_resources: Vec<AuditTarget>,
    pub additional_details: Vec<KeyValue>,
    pub previous_hash: String,
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerdict {
    pub valid: bool,
    pub entries: u64,
    pub head_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub first_bad_sequence: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub enum CheckpointAlgorithm {
    Ed25519,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointKey {
    pub algorithm: CheckpointAlgorithm,
    /// Base64.
    pub public_key: String,
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub enum PolicyScopeType {
    DirectoryRole,
    Group,
}

#[derive(Serialize, ToSchema)]
pub struct IdOnly {
    pub id: Uuid,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub id: String,
    /// `Directory` or `Group`.
    pub display_name: String,
    pub description: String,
    pub is_organization_default: bool,
    pub scope_id: String,
    pub scope_type: PolicyScopeType,
    #[schema(required = true)]
    pub last_modified_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_modified_by: Option<IdOnly>,
    /// With `$expand=rules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rules: Option<Vec<PolicyRule>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignment {
    /// `{policyId}_{roleDefinitionId}`.
    pub id: String,
    pub policy_id: String,
    pub scope_id: String,
    pub scope_type: PolicyScopeType,
    /// A role's id, or `member` / `owner` for a group.
    pub role_definition_id: String,
}

#[derive(Serialize, ToSchema)]
pub enum PolicyRuleType {
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule")]
    Expiration,
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule")]
    Enablement,
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule")]
    Approval,
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule")]
    AuthenticationContext,
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule")]
    Notification,
}

#[derive(Serialize, ToSchema)]
pub enum RuleCaller {
    Admin,
    EndUser,
}

#[derive(Serialize, ToSchema)]
pub enum RuleLevel {
    Eligibility,
    Assignment,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleTarget {
    pub caller: RuleCaller,
    pub level: RuleLevel,
    pub operations: Vec<String>,
    pub enforced_settings: Vec<String>,
    pub inheritable_settings: Vec<String>,
}

/// One rule of a policy: its type and id, what it applies to, and the fields of its type
/// (`isExpirationRequired` and `maximumDuration`; `enabledRules`; `setting`; `isEnabled` and
/// `claimValue`; the notification fields).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(rename = "@odata.type")]
    pub odata_type: PolicyRuleType,
    pub id: String,
    pub target: RuleTarget,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub is_expiration_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub maximum_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub enabled_rules: Option<Vec<EnabledRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Object>)]
    pub setting: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub enum EnabledRule {
    MultiFactorAuthentication,
    Justification,
    Ticketing,
}

// ---------------------------------------------------------------------------------------------
// PIM
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub enum RoleRequestType {
    #[serde(rename = "#microsoft.graph.unifiedRoleEligibilityScheduleRequest")]
    Eligibility,
    #[serde(rename = "#microsoft.graph.unifiedRoleAssignmentScheduleRequest")]
    Assignment,
}

#[derive(Serialize, ToSchema)]
pub enum GroupRequestType {
    #[serde(rename = "#microsoft.graph.privilegedAccessGroupEligibilityScheduleRequest")]
    Eligibility,
    #[serde(rename = "#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest")]
    Assignment,
}

#[derive(Serialize, ToSchema)]
pub enum RequestStatus {
    Canceled,
    Denied,
    Failed,
    Granted,
    PendingAdminDecision,
    PendingApproval,
    PendingProvisioning,
    PendingScheduleCreation,
    Provisioned,
    Revoked,
    ScheduleCreated,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RequestAction {
    AdminAssign,
    AdminUpdate,
    AdminRemove,
    AdminExtend,
    AdminRenew,
    SelfActivate,
    SelfDeactivate,
    SelfExtend,
    SelfRenew,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExpirationType {
    NoExpiration,
    AfterDateTime,
    AfterDuration,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expiration {
    #[serde(rename = "type")]
    pub kind: ExpirationType,
    #[schema(required = true)]
    pub end_date_time: Option<DateTime<Utc>>,
    /// ISO 8601.
    #[schema(required = true)]
    pub duration: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInfo {
    #[schema(required = true)]
    pub start_date_time: Option<DateTime<Utc>>,
    /// Always null: recurring schedules are not supported.
    #[schema(required = true, value_type = Option<Object>)]
    pub recurrence: Option<Value>,
    pub expiration: Expiration,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub ticket_number: String,
    pub ticket_system: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedBy {
    pub user: IdOnly,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessId {
    Member,
    Owner,
}

/// What every schedule request shows, whichever API it came through.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestCommon {
    pub id: Uuid,
    pub status: RequestStatus,
    #[schema(required = true)]
    pub status_detail: Option<String>,
    pub action: RequestAction,
    pub principal_id: Uuid,
    pub is_validation_only: bool,
    #[schema(required = true)]
    pub target_schedule_id: Option<Uuid>,
    #[schema(required = true)]
    pub justification: Option<String>,
    #[schema(required = true)]
    pub ticket_info: Option<Ticket>,
    /// As granted once granted, else as asked.
    pub schedule_info: ScheduleInfo,
    pub requested_schedule_info: ScheduleInfo,
    pub created_by: CreatedBy,
    pub created_date_time: DateTime<Utc>,
    #[schema(required = true)]
    pub completed_date_time: Option<DateTime<Utc>>,
    /// The request's own id when it waits for (or went through) an approval.
    #[schema(required = true)]
    pub approval_id: Option<Uuid>,
}

/// Graph's `unifiedRoleAssignmentScheduleRequest` / `unifiedRoleEligibilityScheduleRequest`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleScheduleRequest {
    #[serde(rename = "@odata.type")]
    pub odata_type: RoleRequestType,
    #[serde(flatten)]
    pub common: RequestCommon,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    /// Always null.
    #[schema(required = true)]
    pub app_scope_id: Option<String>,
}

/// Graph's `privilegedAccessGroupAssignmentScheduleRequest` / `...EligibilityScheduleRequest`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupScheduleRequest {
    #[serde(rename = "@odata.type")]
    pub odata_type: GroupRequestType,
    #[serde(flatten)]
    pub common: RequestCommon,
    pub group_id: Uuid,
    pub access_id: AccessId,
}

#[derive(Serialize, ToSchema)]
pub enum MemberType {
    Direct,
    Group,
}

#[derive(Serialize, ToSchema)]
pub enum AssignmentType {
    Assigned,
    Activated,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViaGroup {
    pub id: Uuid,
    pub display_name: String,
}

#[derive(Serialize, ToSchema)]
pub enum ScheduleStatus {
    Provisioned,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleCommon {
    pub id: Uuid,
    pub principal_id: Uuid,
    #[schema(required = true)]
    pub created_using: Option<Uuid>,
    pub created_date_time: DateTime<Utc>,
    /// Always null.
    #[schema(required = true)]
    pub modified_date_time: Option<DateTime<Utc>>,
    pub status: ScheduleStatus,
    pub member_type: MemberType,
    pub schedule_info: ScheduleInfo,
    /// Active schedules only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub assignment_type: Option<AssignmentType>,
    /// When held through a role-assignable group.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub via_group: Option<ViaGroup>,
}

/// Graph's `unifiedRoleAssignmentSchedule` / `unifiedRoleEligibilitySchedule`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSchedule {
    #[serde(flatten)]
    pub common: ScheduleCommon,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    #[schema(required = true)]
    pub app_scope_id: Option<String>,
}

/// Graph's `privilegedAccessGroupAssignmentSchedule` / `...EligibilitySchedule`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupSchedule {
    #[serde(flatten)]
    pub common: ScheduleCommon,
    pub group_id: Uuid,
    pub access_id: AccessId,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCommon {
    pub id: Uuid,
    pub principal_id: Uuid,
    #[schema(required = true)]
    pub start_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub end_date_time: Option<DateTime<Utc>>,
    pub member_type: MemberType,
    pub expiring_soon: bool,
    /// Active instances: how the assignment came.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub assignment_type: Option<AssignmentType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role_assignment_origin_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role_assignment_schedule_id: Option<Uuid>,
    /// Active instances: the eligibility an activation came from (null otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_eligible_role_schedule_id: Option<Uuid>,
    /// Eligible instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role_eligibility_schedule_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub via_group: Option<ViaGroup>,
}

/// Graph's `unifiedRoleAssignmentScheduleInstance` / `unifiedRoleEligibilityScheduleInstance`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleInstance {
    #[serde(flatten)]
    pub common: InstanceCommon,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    #[schema(required = true)]
    pub app_scope_id: Option<String>,
}

/// Graph's `privilegedAccessGroupAssignmentScheduleInstance` / `...EligibilityScheduleInstance`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupInstance {
    #[serde(flatten)]
    pub common: InstanceCommon,
    pub group_id: Uuid,
    pub access_id: AccessId,
}

#[derive(Serialize, ToSchema)]
pub enum StepStatus {
    NotStarted,
    InProgress,
    Completed,
}

#[derive(Serialize, ToSchema)]
pub enum ReviewResult {
    NotReviewed,
    Approve,
    Deny,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub reviewed_by: IdOnly,
    pub review_result: ReviewResult,
    #[schema(required = true)]
    pub justification: Option<String>,
    pub reviewed_date_time: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStep {
    pub id: Uuid,
    /// `Stage 1`, `Stage 2`, ...
    pub display_name: String,
    pub status: StepStatus,
    pub review_result: ReviewResult,
    /// The last review's.
    #[schema(required = true)]
    pub reviewed_by: Option<IdOnly>,
    #[schema(required = true)]
    pub reviewed_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub justification: Option<String>,
    /// Whether the caller may decide this stage.
    pub assigned_to_me: bool,
    pub minimum_approvals: i64,
    #[schema(required = true)]
    pub started_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub deadline_date_time: Option<DateTime<Utc>>,
    pub reviews: Vec<Review>,
}

/// Graph's `approval`: its id is the request's.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: Uuid,
    pub request_id: Uuid,
    pub status: RequestStatus,
    pub steps: Vec<ApprovalStep>,
}

/// What an approval is about and its stages, beside the request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingExtras {
    /// `role` or `group` (an access package request is `accessPackage`).
    #[schema(pattern = "^(role|group)$")]
    pub kind: String,
    /// The role's name (for a group access, the name of the access).
    #[schema(required = true)]
    pub role_display_name: Option<String>,
    #[schema(required = true)]
    pub principal_display_name: Option<String>,
    pub approval: Approval,
}

#[derive(Serialize, ToSchema)]
pub struct WaitingRoleRequest {
    #[serde(flatten)]
    pub request: RoleScheduleRequest,
    #[serde(flatten)]
    pub extras: WaitingExtras,
}

#[derive(Serialize, ToSchema)]
pub struct WaitingGroupRequest {
    #[serde(flatten)]
    pub request: GroupScheduleRequest,
    #[serde(flatten)]
    pub extras: WaitingExtras,
}

/// A request waiting on the caller's decision, with its approval.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum WaitingRequest {
    Role(WaitingRoleRequest),
    Group(WaitingGroupRequest),
    Package(WaitingPackageRequest),
}

/// An access package assignment request waiting on the caller, with its approval; the
/// package, requestor and target carry their `displayName`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingPackageRequest {
    /// `accessPackage`.
    #[schema(pattern = "^accessPackage$")]
    pub kind: String,
    #[serde(flatten)]
    pub request: EmAssignmentRequest,
    pub approval: EmApproval,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HoldingKind {
    Eligible,
    Active,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ViaType {
    Direct,
    Group,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Via {
    #[serde(rename = "type")]
    pub kind: ViaType,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub display_name: Option<String>,
}

/// One of the caller's eligible or active roles (or group accesses), and how it comes. A role
/// has `roleDefinitionId`, `roleDisplayName` and `directoryScopeId`; a group access `groupId`,
/// `groupDisplayName` and `accessId`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyRole {
    pub kind: HoldingKind,
    pub schedule_id: Uuid,
    #[schema(required = true)]
    pub start_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub end_date_time: Option<DateTime<Utc>>,
    pub is_current: bool,
    /// Active ones only (null for eligibilities).
    #[schema(required = true)]
    pub assignment_type: Option<AssignmentType>,
    pub member_type: MemberType,
    pub via: Via,
    pub expiring_soon: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub role_definition_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub directory_scope_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub group_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub access_id: Option<AccessId>,
}

/// One request, or (through `filterByCurrentUser`) a collection of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RoleRequestOrMine {
    One(RoleScheduleRequest),
    Mine(Collection<RoleScheduleRequest>),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupRequestOrMine {
    One(GroupScheduleRequest),
    Mine(Collection<GroupScheduleRequest>),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RoleScheduleOrMine {
    One(RoleSchedule),
    Mine(Collection<RoleSchedule>),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupScheduleOrMine {
    One(GroupSchedule),
    Mine(Collection<GroupSchedule>),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RoleInstanceOrMine {
    One(RoleInstance),
    Mine(Collection<RoleInstance>),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupInstanceOrMine {
    One(GroupInstance),
    Mine(Collection<GroupInstance>),
}

/// A path segment that is an id, or Graph's `filterByCurrentUser(on='principal')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrMine {
    Id(Uuid),
    Mine(MineFunction),
}

#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='principal'\)$")]
pub struct MineFunction(String);

/// A request id, or `filterByCurrentUser(on='principal')` / `(on='approver')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrMineOrApprover {
    Id(Uuid),
    Mine(MineOrApproverFunction),
}

#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='(principal|approver)'\)$")]
pub struct MineOrApproverFunction(String);

// ---------------------------------------------------------------------------------------------
// Connectors, outbox, subscriptions, alerts
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    Ldap,
    Scim,
    Webhook,
}

/// A downstream system. Secret settings are never answered: each shows as `{name}Set: bool`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    pub display_name: String,
    #[schema(value_type = Object)]
    pub settings: Value,
    /// The last deliveries' outcome, as the health tracker keeps it.
    #[schema(value_type = Object)]
    pub health: Value,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningMapping {
    pub id: Uuid,
    pub group_id: Uuid,
    pub connector_id: Uuid,
    pub target: String,
    pub created_date_time: DateTime<Utc>,
}

/// What reconciling one mapped group found and did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    pub mapping_id: Uuid,
    pub group_id: Uuid,
    pub target: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub strays: Vec<String>,
    pub unresolved: Vec<String>,
    pub listing_unsupported: bool,
    #[schema(required = true)]
    pub error: Option<String>,
}

/// What one LDAP import read and changed (`POST /v1/connectors/{id}/import`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// `full` or `incremental`.
    pub mode: String,
    pub users_read: u64,
    pub groups_read: u64,
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub groups_created: u64,
    pub groups_updated: u64,
    pub groups_removed: u64,
    pub managers_set: u64,
    pub members_added: u64,
    pub members_removed: u64,
    /// Entries left alone, each with the reason (a name Eligo or another source owns, a bad
    /// value, a change Eligo refused).
    pub skipped: Vec<ImportSkipped>,
    #[schema(required = true)]
    pub high_water_mark: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportSkipped {
    pub dn: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Running,
    Delivered,
    Failed,
}

/// A side effect waiting, delivered or dead-lettered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub status: JobStatus,
    #[schema(required = true)]
    pub subject: Option<String>,
    pub attempts: i64,
    /// Pending and running jobs only.
    #[schema(required = true)]
    pub next_attempt_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    #[schema(required = true)]
    pub delivered_date_time: Option<DateTime<Utc>>,
    /// The server (`ELIGO_SERVER_ID`) that claimed it last; null until a server did.
    #[schema(required = true)]
    pub claimed_by: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// A webhook subscription; its secret is never answered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub secret_set: bool,
    pub created_by: Uuid,
    pub created_date_time: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Active,
    Resolved,
}

/// A security alert: its type and status, and the facts of its type as further fields.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: Uuid,
    pub alert_type: String,
    pub status: AlertStatus,
    pub created_date_time: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Effective-access questions (what the query of `GET /v1/access/check` and each of the
// `checks` of `POST /v1/access/check` say)
// ---------------------------------------------------------------------------------------------

/// Does the principal hold the role at the scope (default `/`)?
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleQuestion {
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    /// Default `/` (so is null, in a body).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = field::directory_scope)]
    pub directory_scope_id: Option<String>,
}

/// Is the principal a member (or an owner) of the group?
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupQuestion {
    pub principal_id: Uuid,
    pub group_id: Uuid,
    #[schema(schema_with = field::group_access)]
    pub access_id: String,
}

/// One question: about a role or about a group access, never both.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Question {
    Role(RoleQuestion),
    Group(GroupQuestion),
}

// ---------------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------------

/// A user's password, with the authenticator's code when the account has one.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordSignIn {
    pub username: String,
    pub password: String,
    /// Six digits; empty or null: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^([0-9]{6})?$")]
    pub otp: Option<String>,
    /// Accepted and ignored (OAuth clients send it).
    #[serde(rename = "grant_type", skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
}

/// A user's Temporary Access Pass, in place of the password and code.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessPassSignIn {
    pub username: String,
    pub temporary_access_pass: String,
    #[serde(rename = "grant_type", skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
}

/// A service principal's client credentials.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientSignIn {
    pub client_id: String,
    pub client_secret: String,
    #[serde(rename = "grant_type", skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
}

/// One way of signing in.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SignIn {
    Password(PasswordSignIn),
    AccessPass(AccessPassSignIn),
    Client(ClientSignIn),
}

// ---------------------------------------------------------------------------------------------
// Path segments with a grammar of their own
// ---------------------------------------------------------------------------------------------

/// The id of a role management policy (see [`POLICY_ID`]).
pub struct PolicyId;

impl utoipa::PartialSchema for PolicyId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        json_schema(serde_json::json!({"type": "string", "pattern": POLICY_ID})).into()
    }
}

impl ToSchema for PolicyId {}

/// The id of one rule of a policy.
pub struct RuleId;

impl utoipa::PartialSchema for RuleId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        let ids: Vec<&str> = eligo_core::policy::RULE_IDS
            .iter()
            .chain(eligo_core::policy::NOTIFICATION_RULE_IDS.iter())
            .copied()
            .collect();
        json_schema(serde_json::json!({"type": "string", "enum": ids})).into()
    }
}

impl ToSchema for RuleId {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every schema written as JSON reads as one.
    #[test]
    fn field_schemas_are_schemas() {
        let all = [
            field::display_name(),
            field::display_name_or_null(),
            field::description_or_null(),
            field::upn(),
            field::mail_or_null(),
            field::mail_nickname_or_null(),
            field::password(),
            field::password_or_null(),
            field::directory_scope(),
            field::directory_scope_or_null(),
            field::duration_or_null(),
            field::otp(),
            field::uuid(),
            field::uuid_or_null(),
            field::date_time_or_null(),
            field::resource_actions(),
            field::group_access(),
            field::event_types(),
            field::http_url(),
            field::null_only(),
            field::root_scope_or_null(),
            field::request_action(),
        ];
        assert_eq!(all.len(), 22);
        let _ = <PolicyId as utoipa::PartialSchema>::schema();
        let _ = <RuleId as utoipa::PartialSchema>::schema();
    }
}

// ---------------------------------------------------------------------------------------------
// Entitlement management
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum EmCatalogState {
    Published,
    Unpublished,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmCatalog {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// `userManaged`.
    pub catalog_type: String,
    pub state: EmCatalogState,
    pub is_externally_visible: bool,
    pub created_date_time: DateTime<Utc>,
    pub modified_date_time: DateTime<Utc>,
}

/// A new catalog. Enum values are read in any case.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmCatalogBody {
    #[schema(schema_with = field::display_name)]
    pub display_name: String,
    #[schema(schema_with = field::description_or_null)]
    pub description: Option<String>,
    #[schema(nullable = false, pattern = "^[Uu]ser[Mm]anaged$")]
    pub catalog_type: Option<String>,
    #[schema(nullable = false, pattern = "^([Pp]ublished|[Uu]npublished)$")]
    pub state: Option<String>,
    #[schema(nullable = false)]
    pub is_externally_visible: Option<bool>,
}

/// The fields to change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmCatalogPatch {
    #[schema(schema_with = field::display_name)]
    pub display_name: Option<String>,
    #[schema(schema_with = field::description_or_null)]
    pub description: Option<String>,
    #[schema(nullable = false, pattern = "^([Pp]ublished|[Uu]npublished)$")]
    pub state: Option<String>,
    #[schema(nullable = false)]
    pub is_externally_visible: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub enum EmOriginSystem {
    AadGroup,
    DirectoryRole,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmResource {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub origin_id: String,
    pub origin_system: EmOriginSystem,
    pub created_date_time: DateTime<Utc>,
}

/// `Member`/`Owner` of a group, `Eligible`/`Active` of a directory role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmResourceRole {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// `{displayName}_{resource originId}`.
    pub origin_id: String,
    pub origin_system: EmOriginSystem,
    /// In a package's resource role scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resource: Option<EmResource>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmResourceScope {
    pub id: Uuid,
    #[schema(required = true)]
    pub display_name: Option<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    pub origin_id: String,
    pub origin_system: EmOriginSystem,
    pub is_root_scope: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmResourceRoleScope {
    /// `{roleId}_{scopeId}`.
    pub id: String,
    pub created_date_time: DateTime<Utc>,
    pub role: EmResourceRole,
    pub scope: EmResourceScope,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmResourceRequest {
    pub id: Uuid,
    /// `adminAdd` or `adminRemove`.
    pub request_type: String,
    /// `delivered`: done at once.
    pub state: String,
    pub created_date_time: DateTime<Utc>,
    pub catalog: IdOnly,
    pub resource: EmResource,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmAccessPackage {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub is_hidden: bool,
    pub created_date_time: DateTime<Utc>,
    pub modified_date_time: DateTime<Utc>,
    pub catalog: IdOnly,
    /// With `$expand=resourceRoleScopes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resource_role_scopes: Option<Vec<EmResourceRoleScope>>,
    /// With `$expand=assignmentPolicies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub assignment_policies: Option<Vec<EmAssignmentPolicy>>,
}

/// A package, or (`filterByCurrentUser`) the packages the caller may request.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmAccessPackageOrMine {
    One(EmAccessPackage),
    Mine(Collection<EmAccessPackage>),
}

/// A path segment that is an id, or `filterByCurrentUser(on='allowedRequestor')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrAllowedRequestor {
    Id(Uuid),
    Mine(AllowedRequestorFunction),
}

#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='allowedRequestor'\)$")]
pub struct AllowedRequestorFunction(String);

#[derive(Serialize, ToSchema)]
pub struct CatalogRef {
    #[schema(schema_with = field::uuid)]
    pub id: String,
}

/// A new access package in an existing catalog (`catalog.id`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmAccessPackageBody {
    #[schema(schema_with = field::display_name)]
    pub display_name: String,
    #[schema(schema_with = field::description_or_null)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub is_hidden: Option<bool>,
    pub catalog: CatalogRef,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmAccessPackagePatch {
    #[schema(schema_with = field::display_name)]
    pub display_name: Option<String>,
    #[schema(schema_with = field::description_or_null)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub is_hidden: Option<bool>,
}

/// An assignment policy as governance.md section 1 lists it: who may be assigned
/// (`allowedTargetScope`, `specificAllowedTargets`), `expiration`, `requestorSettings`,
/// `requestApprovalSettings` (up to 3 stages), `questions`, `reviewSettings`,
/// `notificationSettings`, `customExtensionStageSettings`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmAssignmentPolicy {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub allowed_target_scope: String,
    #[schema(value_type = Vec<Object>)]
    pub specific_allowed_targets: Vec<Value>,
    #[schema(value_type = Object)]
    pub expiration: Value,
    #[schema(value_type = Object)]
    pub requestor_settings: Value,
    #[schema(value_type = Object)]
    pub request_approval_settings: Value,
    #[schema(value_type = Vec<Object>)]
    pub questions: Vec<Value>,
    #[schema(value_type = Option<Object>, required = true)]
    pub review_settings: Option<Value>,
    #[schema(value_type = Object)]
    pub notification_settings: Value,
    #[schema(value_type = Vec<Object>)]
    pub custom_extension_stage_settings: Vec<Value>,
    pub created_date_time: DateTime<Utc>,
    pub modified_date_time: DateTime<Utc>,
    pub access_package: IdOnly,
    pub catalog: IdOnly,
}

#[derive(Serialize, ToSchema)]
pub struct AccessPackageRef {
    #[schema(schema_with = field::uuid)]
    pub id: String,
}

/// A new policy of an existing access package (`accessPackage.id`); the settings are read as
/// Graph writes them (enum values in any case, `@odata.type` on subject sets and questions).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmAssignmentPolicyBody {
    #[schema(schema_with = field::display_name)]
    pub display_name: String,
    #[schema(schema_with = field::description_or_null)]
    pub description: Option<String>,
    pub access_package: AccessPackageRef,
    #[schema(nullable = false)]
    pub allowed_target_scope: Option<String>,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub specific_allowed_targets: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub expiration: Option<Value>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub requestor_settings: Option<Value>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub request_approval_settings: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub questions: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    pub review_settings: Option<Value>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub notification_settings: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub custom_extension_stage_settings: Option<Vec<Value>>,
}

/// The fields to replace; the result is read whole again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmAssignmentPolicyPatch {
    #[schema(schema_with = field::display_name)]
    pub display_name: Option<String>,
    #[schema(schema_with = field::description_or_null)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub allowed_target_scope: Option<String>,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub specific_allowed_targets: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub expiration: Option<Value>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub requestor_settings: Option<Value>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub request_approval_settings: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub questions: Option<Vec<Value>>,
}

/// What a policy asks of a requestor (`accessPackageAssignmentRequestRequirements`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmRequirements {
    pub policy_id: Uuid,
    pub policy_display_name: String,
    #[schema(required = true)]
    pub policy_description: Option<String>,
    pub is_approval_required_for_add: bool,
    pub is_approval_required_for_update: bool,
    pub is_requestor_justification_required: bool,
    pub allow_custom_assignment_schedule: bool,
    #[schema(value_type = Vec<Object>)]
    pub questions: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub existing_answers: Vec<Value>,
    #[schema(value_type = Object)]
    pub schedule: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmGroup {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
}

/// One line of an access package's incompatibility report (Eligo): a person who holds the
/// package and, already, something incompatible with it (granted before the rule).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmIncompatibility {
    pub principal: EmIncompatibilityPrincipal,
    pub access_package: EmNamedRef,
    pub conflicts_with: EmIncompatibilityConflict,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmIncompatibilityPrincipal {
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub user_principal_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmNamedRef {
    pub id: Uuid,
    pub display_name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmIncompatibilityConflict {
    /// `accessPackage` or `group`.
    #[schema(pattern = "^(accessPackage|group)$")]
    pub kind: String,
    pub id: Uuid,
    pub display_name: String,
}

/// An access package assignment request as answered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmAssignmentRequest {
    pub id: Uuid,
    /// userAdd, userUpdate, userRemove, adminAdd, adminUpdate, adminRemove, onBehalfAdd,
    /// systemRemove.
    pub request_type: String,
    /// submitted, pendingApproval, delivering, delivered, deliveryFailed, denied, scheduled,
    /// canceled, partiallyDelivered.
    pub state: String,
    pub status: String,
    #[schema(required = true)]
    pub justification: Option<String>,
    pub created_date_time: DateTime<Utc>,
    #[schema(schema_with = field::date_time_or_null)]
    pub completed_date_time: Option<String>,
    /// `{id}`; with `$expand=requestor` also displayName, email, principalName.
    #[schema(value_type = Object)]
    pub requestor: Value,
    #[schema(value_type = Object)]
    pub target: Value,
    /// `{id}`; the whole package with `$expand=accessPackage`.
    #[schema(value_type = Object)]
    pub access_package: Value,
    #[schema(value_type = Option<Object>, required = true)]
    pub assignment_policy: Option<Value>,
    /// `{id}`; the whole assignment with `$expand=assignment`.
    #[schema(value_type = Option<Object>, required = true)]
    pub assignment: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<Value>,
    #[schema(value_type = Object)]
    pub schedule: Value,
}

/// What Graph SDKs send: `assignment: {targetId, assignmentPolicyId, accessPackageId}` for an
/// add, `assignment: {id}` for an update or removal (or the legacy `accessPackageAssignment`),
/// enum values in any case.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmAssignmentRequestBody {
    pub request_type: String,
    #[schema(nullable = false)]
    pub justification: Option<String>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub assignment: Option<Value>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub access_package_assignment: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub answers: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub schedule: Option<Value>,
}

/// A request, or (`filterByCurrentUser`) the caller's requests.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmAssignmentRequestOrMine {
    One(EmAssignmentRequest),
    Mine(Collection<EmAssignmentRequest>),
}

/// A path segment that is an id, or `filterByCurrentUser(on='target'|'createdBy')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrMyRequests {
    Id(Uuid),
    Mine(MyRequestsFunction),
}

#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='(target|createdBy)'\)$")]
pub struct MyRequestsFunction(String);

/// Who reviewed a stage.
#[derive(Serialize, ToSchema)]
pub struct EmReviewer {
    pub id: Uuid,
}

/// One review of a stage (Eligo: a stage may need several, `minimumApprovals`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmStageReview {
    pub reviewed_by: EmReviewer,
    #[schema(pattern = "^(Approved|Denied|NotReviewed)$")]
    pub review_result: String,
    pub reviewed_date_time: DateTime<Utc>,
    #[schema(required = true)]
    pub justification: Option<String>,
}

/// One stage of an access package assignment approval.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmApprovalStage {
    pub id: Uuid,
    pub display_name: String,
    #[schema(pattern = "^(NotStarted|InProgress|Completed|Expired)$")]
    pub status: String,
    #[schema(pattern = "^(NotReviewed|Approved|Denied)$")]
    pub review_result: String,
    pub assigned_to_me: bool,
    #[schema(required = true)]
    pub reviewed_by: Option<EmReviewer>,
    #[schema(required = true)]
    pub reviewed_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub justification: Option<String>,
    pub reviews: Vec<EmStageReview>,
    pub minimum_approvals: u32,
}

/// An access package assignment approval: its id is the request's.
#[derive(Serialize, ToSchema)]
pub struct EmApproval {
    pub id: Uuid,
    pub stages: Vec<EmApprovalStage>,
}

/// An approval, or (`filterByCurrentUser(on='approver')`) those waiting on the caller.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmApprovalOrMine {
    One(EmApproval),
    Mine(Collection<EmApproval>),
}

/// A path segment that is a request id, or `filterByCurrentUser(on='approver')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrMyApprovals {
    Id(Uuid),
    Mine(MyApprovalsFunction),
}

#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='approver'\)$")]
pub struct MyApprovalsFunction(String);

/// An access package assignment.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmAssignment {
    pub id: Uuid,
    /// delivering, delivered, expired, deliveryFailed, partiallyDelivered.
    pub state: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub schedule: Value,
    #[schema(schema_with = field::date_time_or_null)]
    pub expired_date_time: Option<String>,
    /// `{id, objectId, displayName, principalName}`.
    #[schema(value_type = Object)]
    pub target: Value,
    pub access_package: IdOnly,
    pub assignment_policy: IdOnly,
}

/// An assignment, or (`filterByCurrentUser`) the caller's assignments.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmAssignmentOrMine {
    One(EmAssignment),
    Mine(Collection<EmAssignment>),
}

/// A path segment that is an id, or `filterByCurrentUser(on='target')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrMyAssignments {
    Id(Uuid),
    Mine(MyAssignmentsFunction),
}

#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='target'\)$")]
pub struct MyAssignmentsFunction(String);

// ---------------------------------------------------------------------------------------------
// Passkeys
// ---------------------------------------------------------------------------------------------

/// Graph's fido2AuthenticationMethod.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: Uuid,
    pub display_name: String,
    pub created_date_time: DateTime<Utc>,
    pub aa_guid: Uuid,
    pub last_used_date_time: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyList {
    pub value: Vec<Passkey>,
}

/// WebAuthn options for `navigator.credentials.create` / `.get` (`publicKey`), as
/// webauthn-rs writes them (binary fields in base64url).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyOptions {
    pub public_key: BTreeMap<String, Value>,
}

/// The options of a passkey sign-in and the ceremony to name when answering them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeySignInOptions {
    pub ceremony_id: Uuid,
    pub public_key: BTreeMap<String, Value>,
}
