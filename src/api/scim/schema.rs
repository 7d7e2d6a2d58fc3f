//! What Eligo's SCIM server publishes about itself (RFC 7643 sections 5 to 7): the
//! ServiceProviderConfig, the two ResourceTypes and their Schemas. The schemas list exactly the
//! attributes Eligo keeps, so a client (and a conformance tester) never sends one that would be
//! dropped; anything else is refused (`invalidSyntax`).

use serde_json::{Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Largest page a list answers (`count` above it is cut to it).
pub const MAX_RESULTS: usize = 1000;

struct A {
    name: &'static str,
    ty: &'static str,
    multi: bool,
    required: bool,
    mutability: &'static str,
    unique: bool,
    case_exact: bool,
    subs: Vec<A>,
    refs: &'static [&'static str],
}

fn a(name: &'static str, ty: &'static str) -> A {
    A {
        name,
        ty,
        multi: false,
        required: false,
        mutability: "readWrite",
        unique: false,
        case_exact: false,
        subs: Vec::new(),
        refs: &[],
    }
}

impl A {
    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn mutability(mut self, m: &'static str) -> Self {
        self.mutability = m;
        self
    }
    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    fn subs(mut self, subs: Vec<A>) -> Self {
        self.subs = subs;
        self
    }
    fn refs(mut self, refs: &'static [&'static str]) -> Self {
        self.refs = refs;
        self
    }
    fn json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.ty,
            "multiValued": self.multi,
            "description": self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": if self.mutability == "writeOnly" { "never" } else { "default" },
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.subs.is_empty() {
            v["subAttributes"] = Value::Array(self.subs.iter().map(A::json).collect());
        }
        if !self.refs.is_empty() {
            v["referenceTypes"] = json!(self.refs);
        }
        v
    }
}

fn user_attributes() -> Vec<A> {
    vec![
        a("userName", "string").required().unique(),
        a("name", "complex").subs(vec![
            a("formatted", "string"),
            a("familyName", "string"),
            a("givenName", "string"),
        ]),
        // Eligo's own record needs a display name: one is always there (the userName when
        // none is sent), so it cannot be removed.
        a("displayName", "string").required(),
        a("emails", "complex").multi().subs(vec![
            a("value", "string").required(),
            a("type", "string"),
            a("primary", "boolean"),
        ]),
        // Always answered (an account is enabled or not), so it cannot be removed.
        a("active", "boolean").required(),
        a("password", "string").mutability("writeOnly"),
    ]
}

fn enterprise_attributes() -> Vec<A> {
    vec![a("manager", "complex").subs(vec![
        a("value", "string"),
        a("$ref", "reference").refs(&["User"]),
        a("displayName", "string").mutability("readOnly"),
    ])]
}

fn group_attributes() -> Vec<A> {
    vec![
        a("displayName", "string").required(),
        a("members", "complex").multi().subs(vec![
            a("value", "string").mutability("immutable"),
            a("$ref", "reference")
                .refs(&["User", "Group"])
                .mutability("immutable"),
            // Answered from what the member is, never taken from the client.
            a("type", "string").mutability("readOnly"),
            a("display", "string").mutability("readOnly"),
        ]),
    ]
}

fn schema(id: &str, name: &str, attributes: Vec<A>, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": name,
        "attributes": attributes.iter().map(A::json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema(USER, "User", user_attributes(), base),
        schema(GROUP, "Group", group_attributes(), base),
        schema(ENTERPRISE, "EnterpriseUser", enterprise_attributes(), base),
    ]
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User accounts",
            "schema": USER,
            "schemaExtensions": [{"schema": ENTERPRISE, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Groups",
            "schema": GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC],
        "documentationUri": "https://github.com/eligo/eligo#scim-provisioning",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The token of a provisioning client (POST /v1/scim/clients)",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

/// The attributes a filter may name, per resource type.
pub const USER_FILTERS: [&str; 9] = [
    "id",
    "userName",
    "externalId",
    "displayName",
    "active",
    "emails",
    "emails.value",
    "name.givenName",
    "name.familyName",
];
pub const GROUP_FILTERS: [&str; 5] = [
    "id",
    "displayName",
    "externalId",
    "members",
    "members.value",
];
/// Compared case-sensitively (RFC 7643: `caseExact`).
pub const CASE_EXACT: [&str; 4] = ["id", "externalId", "members", "members.value"];
