//! The finishing touches the generated OpenAPI document needs to be a valid contract for
//! clients and fuzzers: every operation gets an `operationId` of its own (the handlers' names,
//! `list`, `create`, `get_one`, repeat across modules), and every path parameter that names an
//! object (`id`, `...Id`, `..._id`) is declared `format: uuid`, which is what Eligo accepts.

use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document as served at `/openapi.json`.
pub fn polish(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or(Value::Null);
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
                    uuid_format(p);
                }
            }
        }
    }
    doc
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
    {
        schema.insert("format".into(), Value::String("uuid".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
