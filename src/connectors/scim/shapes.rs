//! Reading SCIM answers (RFC 7643/7644): ListResponses and group members, with a message that
//! says what was wrong when a body is not shaped as promised.

use serde_json::{Map, Value};

use crate::connectors::DownstreamMember;

/// The `Resources` of a ListResponse (absent when there are none).
pub(super) fn resources(list: &Map<String, Value>) -> Result<&[Value], String> {
    match list.get("Resources") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err("\"Resources\" of the ListResponse is not an array".into()),
    }
}

/// The ids of the listed resources whose `attribute` equals `value`: case-insensitively (SCIM's
/// userName and displayName are not case-exact), preferring exact matches when there are any.
/// Comparing here, not only in the filter, keeps a server that ignores filters from handing us
/// someone else.
pub(super) fn matching(
    list: &Map<String, Value>,
    attribute: &str,
    value: &str,
) -> Result<Vec<String>, String> {
    let mut exact = Vec::new();
    let mut folded = Vec::new();
    for item in resources(list)? {
        let Some(obj) = item.as_object() else {
            return Err("a listed resource is not a JSON object".into());
        };
        let Some(id) = obj.get("id").and_then(Value::as_str) else {
            return Err("a listed resource has no string \"id\"".into());
        };
        match obj.get(attribute).and_then(Value::as_str) {
            Some(v) if v == value => exact.push(id.to_string()),
            Some(v) if v.to_lowercase() == value.to_lowercase() => folded.push(id.to_string()),
            _ => {}
        }
    }
    Ok(if exact.is_empty() { folded } else { exact })
}

/// `members[].value` with `display` (the value when absent), leaving out nested groups.
pub(super) fn members_of(group: &Map<String, Value>) -> Result<Vec<DownstreamMember>, String> {
    let items = match group.get("members") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("\"members\" is not an array".into()),
    };
    let mut members = Vec::with_capacity(items.len());
    for item in items {
        let Some(value) = item.get("value").and_then(Value::as_str) else {
            return Err("a member has no string \"value\"".into());
        };
        let is_group = item
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("Group"));
        if is_group {
            continue;
        }
        let display = item.get("display").and_then(Value::as_str).unwrap_or(value);
        members.push(DownstreamMember {
            reference: value.to_string(),
            display: display.to_string(),
        });
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn exact_matches_win_over_case_folded_ones() {
        let list = object(json!({ "Resources": [
            { "id": "1", "userName": "Alice" },
            { "id": "2", "userName": "alice" },
            { "id": "3", "userName": "bob" },
        ]}));
        assert_eq!(matching(&list, "userName", "alice"), Ok(vec!["2".into()]));
        assert_eq!(
            matching(&list, "userName", "ALICE"),
            Ok(vec!["1".into(), "2".into()])
        );
        assert_eq!(matching(&list, "userName", "carol"), Ok(vec![]));
        assert_eq!(matching(&object(json!({})), "userName", "x"), Ok(vec![]));
        assert!(matching(&object(json!({ "Resources": [{}] })), "userName", "x").is_err());
    }

    #[test]
    fn members_are_users_with_a_display() {
        let group = object(json!({ "members": [
            { "value": "u1", "display": "Alice" },
            { "value": "u2" },
            { "value": "g1", "type": "Group" },
        ]}));
        let members = members_of(&group).unwrap();
        let pairs: Vec<_> = members
            .iter()
            .map(|m| (m.reference.as_str(), m.display.as_str()))
            .collect();
        assert_eq!(pairs, vec![("u1", "Alice"), ("u2", "u2")]);
        assert_eq!(members_of(&object(json!({}))), Ok(vec![]));
        assert!(members_of(&object(json!({ "members": {} }))).is_err());
    }
}
