//! The finishing touches the generated OpenAPI document needs to be a valid contract for
//! clients and fuzzers (Schemathesis holds the server to it: `tests/it/process/schemathesis.rs`):
//! - every operation gets an `operationId` of its own (the handlers' names, `list`, `create`,
//!   `get_one`, repeat across modules);
//! - every path parameter that names an object (`id`, `...Id`, `..._id`) and has no schema of
//!   its own is declared `format: uuid`, which is what Eligo accepts; parameter schemas are
//!   written out in place (no `$ref`);
//! - `$top` is bounded as `api::odata` bounds it, `$skiptoken` shaped as `@odata.nextLink`
//!   writes it;
//! - every operation declares the error answers every route can give, each with Graph's error
//!   body (`components/schemas/Error`), so that the annotations on the handlers need only name
//!   what is particular to them;
//! - rules between the fields of a body that the derive cannot state are added to its schema.
//!
//! The shapes themselves are in `api::schemas` and on the handlers' annotations.

use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::api::odata;
use crate::api::schemas::{self, ErrorResponse};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document as served at `/openapi.json`.
pub fn polish(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    add_component_schemas(&mut doc);
    cross_field_rules(&mut doc);
    let components = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            op.insert(
                "operationId".into(),
                Value::String(operation_id(method, path)),
            );
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                for p in params.iter_mut() {
                    if let Some(schema) = p.get_mut("schema") {
                        inline_refs(schema, &components, 0);
                    }
                    uuid_format(p);
                    paging(p);
                    blank_filter(p);
                }
            }
            error_responses(method, path, op);
            admin_actions_only(method, path, op);
        }
    }
    doc
}

/// A parameter's schema written out in place of its references (they are small), as tools
/// that bind values to parameters read them best.
fn inline_refs(schema: &mut Value, components: &Value, depth: usize) {
    if depth > 8 {
        return;
    }
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|name| components.get(name))
    {
        *schema = target.clone();
    }
    match schema {
        Value::Object(m) => m
            .values_mut()
            .for_each(|v| inline_refs(v, components, depth + 1)),
        Value::Array(a) => a
            .iter_mut()
            .for_each(|v| inline_refs(v, components, depth + 1)),
        _ => {}
    }
}

/// `get` + `/v1/users/{id}/transitiveMemberOf` → `getV1UsersByIdTransitiveMemberOf`.
fn operation_id(method: &str, path: &str) -> String {
    let mut out = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (prefix, word) = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => ("By", param),
            None => ("", segment),
        };
        out.push_str(prefix);
        let mut upper = true;
        for c in word.chars() {
            if !c.is_ascii_alphanumeric() {
                upper = true;
                continue;
            }
            if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
    }
    out
}

fn uuid_format(param: &mut Value) {
    let is_path = param.get("in").and_then(Value::as_str) == Some("path");
    let names_object = param
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n == "id" || n.ends_with("Id") || n.ends_with("_id"));
    if !(is_path && names_object) {
        return;
    }
    if let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut)
        && schema.get("type").and_then(Value::as_str) == Some("string")
        && !schema.contains_key("pattern")
        && !schema.contains_key("format")
        && !schema.contains_key("enum")
    {
        schema.insert("format".into(), Value::String("uuid".into()));
    }
}

/// Rules between the fields of a request body, which the derive cannot state: added to the
/// named schemas under `components/schemas`.
fn cross_field_rules(doc: &mut Value) {
    let not_both = |a: &str, b: &str| json!({ "not": { "required": [a, b] } });
    let needs = |kind: &str, field: &str| {
        json!({
            "if": { "required": ["type"], "properties": { "type": { "const": kind } } },
            "then": { "required": [field], "properties": { field: { "type": "string" } } },
        })
    };
    let rules = [
        // A password, or passwordProfile.password: not both.
        ("CreateUser", not_both("password", "passwordProfile")),
        ("UpdateUser", not_both("password", "passwordProfile")),
        // The principal as `id` or as `@odata.id`: one of the two.
        (
            "Reference",
            json!({ "oneOf": [{ "required": ["id"] }, { "required": ["@odata.id"] }] }),
        ),
        // The other package or group of a separation-of-duties `$ref`, the same way.
        (
            "RefBody",
            json!({ "oneOf": [{ "required": ["id"] }, { "required": ["@odata.id"] }] }),
        ),
        // A role-assignable group is a security group.
        (
            "CreateGroup",
            json!({ "not": {
                "required": ["isAssignableToRole", "securityEnabled"],
                "properties": {
                    "isAssignableToRole": { "const": true },
                    "securityEnabled": { "const": false },
                },
            } }),
        ),
        // afterDateTime needs endDateTime, afterDuration needs duration; without a type, at
        // most one of the two.
        (
            "ExpirationBody",
            json!({ "allOf": [
                needs("afterDateTime", "endDateTime"),
                needs("afterDuration", "duration"),
                {
                    "if": { "anyOf": [
                        { "not": { "required": ["type"] } },
                        { "properties": { "type": { "type": "null" } } },
                    ] },
                    "then": { "not": {
                        "required": ["endDateTime", "duration"],
                        "properties": {
                            "endDateTime": { "type": "string" },
                            "duration": { "type": "string" },
                        },
                    } },
                },
            ] }),
        ),
    ];
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, rule) in rules {
        if let (Some(Value::Object(schema)), Value::Object(rule)) = (schemas.get_mut(name), rule) {
            schema.extend(rule);
        }
    }
}

/// Eligibility requests take the administrator's actions only (`self*` actions are
/// activations, through the assignment requests): the shared request body, narrowed.
fn admin_actions_only(method: &str, path: &str, op: &mut Map<String, Value>) {
    let eligibility = path.ends_with("/roleEligibilityScheduleRequests")
        || path.ends_with("/group/eligibilityScheduleRequests");
    if !(method == "post" && eligibility) {
        return;
    }
    if let Some(schema) = op
        .get_mut("requestBody")
        .and_then(|b| b.pointer_mut("/content/application~1json/schema"))
    {
        let shared = schema.take();
        *schema = json!({ "allOf": [shared, { "properties": { "action": { "enum": [
            "adminAssign", "adminUpdate", "adminRemove", "adminExtend", "adminRenew",
        ] } } }] });
    }
}

/// `$top` within what `odata` accepts, `$skiptoken` as `@odata.nextLink` writes it.
fn paging(param: &mut Value) {
    let name = param
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let schema = match name.as_str() {
        "$top" => json!({
            "type": "integer", "format": "int64",
            "minimum": 1, "maximum": odata::MAX_TOP, "default": odata::DEFAULT_TOP,
        }),
        "$skiptoken" => json!({ "type": "string", "pattern": schemas::SKIPTOKEN }),
        _ => return,
    };
    if param.get("in").and_then(Value::as_str) == Some("query")
        && let Some(p) = param.as_object_mut()
    {
        p.insert("schema".into(), schema);
        if name == "$skiptoken" && !p.contains_key("description") {
            p.insert(
                "description".into(),
                json!("The next page's token, from `@odata.nextLink`"),
            );
        }
    }
}

/// An optional `$filter` may be blank, which filters nothing (as leaving it out does).
fn blank_filter(param: &mut Value) {
    let optional_filter = param.get("name").and_then(Value::as_str) == Some("$filter")
        && param.get("in").and_then(Value::as_str) == Some("query")
        && param.get("required").and_then(Value::as_bool) != Some(true);
    if !optional_filter {
        return;
    }
    if let Some(schema) = param.get_mut("schema")
        && schema.get("pattern").is_some()
    {
        let conditions = schema.take();
        *schema = json!({ "anyOf": [conditions, { "type": "string", "pattern": "^ *$" }] });
    }
}

/// Schemas the document refers to that no handler's body names, under `components/schemas`:
/// `Error` (Graph's error body) and the types of parameters with a grammar of their own.
fn add_component_schemas(doc: &mut Value) {
    fn with_parts<T: ToSchema>(
        all: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>,
    ) {
        all.push((T::name().into_owned(), T::schema()));
        T::schemas(all);
    }
    let mut all = Vec::new();
    with_parts::<ErrorResponse>(&mut all);
    with_parts::<schemas::Question>(&mut all);
    with_parts::<schemas::IdOrMine>(&mut all);
    with_parts::<schemas::IdOrMineOrApprover>(&mut all);
    with_parts::<schemas::IdOrAllowedRequestor>(&mut all);
    with_parts::<schemas::IdOrMyRequests>(&mut all);
    with_parts::<schemas::IdOrMyApprovals>(&mut all);
    with_parts::<crate::api::reviews::IdOrMyReviews>(&mut all);
    with_parts::<schemas::IdOrMyAssignments>(&mut all);
    with_parts::<schemas::PolicyId>(&mut all);
    with_parts::<schemas::RuleId>(&mut all);
    with_parts::<schemas::JobStatus>(&mut all);
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let schemas = root
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(|c| c.entry("schemas").or_insert_with(|| json!({})));
    let Some(Value::Object(schemas)) = schemas else {
        return;
    };
    for (name, schema) in all {
        let schema = serde_json::to_value(schema).unwrap_or(Value::Null);
        schemas.entry(name).or_insert(schema);
    }
}

/// The error answers an operation can give, beside what its annotation names:
/// - 400 everywhere (a malformed id, query option or body; a path that is not UTF-8);
/// - 401 and 403 where a bearer token is needed (none, a bad or expired one; not allowed);
/// - 404 where the request names objects (a path id, ids in the body or query);
/// - 409 on writes (it clashes with the current state: exists already, moved on);
/// - 413 and 415 where there is a body (too large; not `application/json`);
/// - 503 everywhere but `/healthz` (more requests in flight than `ELIGO_MAX_IN_FLIGHT`);
/// - 408 (no body) everywhere: the request took longer than `ELIGO_REQUEST_TIMEOUT`.
///
/// Responses an annotation declared without a body get the error body too.
fn error_responses(method: &str, path: &str, op: &mut Map<String, Value>) {
    let public = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(Map::is_empty)));
    let has_body = op.contains_key("requestBody");
    let names_objects = path.contains('{') || has_body || method != "get";
    // `POST /v1/access/check` asks questions; it changes nothing.
    let write = !matches!(method, "get" | "head" | "options") && path != "/v1/access/check";
    let mut add: Vec<(&str, &str)> = vec![(
        "400",
        "Bad request: a malformed id, query option or body (`Request_BadRequest`, `Request_UnsupportedQuery`, ...)",
    )];
    if !public {
        add.push((
            "401",
            "No bearer token, or an invalid or expired one (`InvalidAuthenticationToken`)",
        ));
        add.push((
            "403",
            "The caller may not do this (`Authorization_RequestDenied`, `MfaRequired`, ...)",
        ));
    }
    if names_objects {
        add.push((
            "404",
            "Something the request names does not exist, or the caller may not know it does (`Request_ResourceNotFound`)",
        ));
    }
    if write && !public {
        add.push((
            "409",
            "It clashes with the current state (`Request_MultipleObjectsWithSameKeyValue`, ...)",
        ));
    }
    if has_body {
        add.push(("413", "The body is too large (`PayloadTooLarge`)"));
        add.push((
            "415",
            "The body is not JSON with `Content-Type: application/json` (`UnsupportedMediaType`)",
        ));
    }
    if path != "/healthz" {
        add.push((
            "503",
            "Too many requests in flight; try again after `Retry-After` (`ServiceUnavailable`)",
        ));
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (status, description) in add {
        responses
            .entry(status)
            .or_insert_with(|| json!({ "description": description }));
    }
    responses.entry("408").or_insert_with(|| {
        json!({ "description": "The request took longer than `ELIGO_REQUEST_TIMEOUT` (no body)" })
    });
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let Some(r) = response.as_object_mut()
            && is_error
            && status != "408"
            && !r.contains_key("content")
        {
            r.insert(
                "content".into(),
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document builds (every schema written as JSON reads), and every operation has its
    /// errors with Graph's error body.
    #[test]
    fn every_operation_declares_its_errors() {
        let (_, doc) = crate::router::routes();
        let doc = polish(&doc);
        assert!(doc.pointer("/components/schemas/Error").is_some());
        // Every reference resolves.
        fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r);
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in all {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("400"), "{method} {path}");
                for (status, r) in responses {
                    if status.starts_with('4') && status != "408" {
                        assert!(
                            r.pointer("/content/application~1json/schema").is_some(),
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn operation_ids_follow_method_and_path() {
        assert_eq!(operation_id("get", "/v1/users"), "getV1Users");
        assert_eq!(
            operation_id("delete", "/v1/groups/{id}/members/{member_id}"),
            "deleteV1GroupsByIdMembersByMemberId"
        );
        assert_eq!(
            operation_id("get", "/v1/me/authenticationMethods/totp"),
            "getV1MeAuthenticationMethodsTotp"
        );
    }
}
