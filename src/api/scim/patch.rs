//! SCIM PATCH (RFC 7644 section 3.5.2) over a resource's JSON: `add`, `replace` and `remove`
//! on attribute paths, sub-attributes, the extension's URN-prefixed paths and value filters
//! (`members[value eq "..."]`). The patched document is then read again exactly like a PUT body,
//! so a PATCH can produce nothing a PUT could not. Pure: no I/O.

use eligo_core::scim_filter::{self, Value as FilterValue};
use serde_json::{Map, Value};

use super::errors::{ScimError, ScimResult};

/// An attribute of a resource, as PATCH needs to know it.
pub struct Attr {
    pub name: &'static str,
    pub multi: bool,
    pub subs: &'static [&'static str],
    /// Sub-attributes a client may not write (answered only).
    pub read_only_subs: &'static [&'static str],
}

/// The attributes of a resource type: core ones, and one extension's.
pub struct Shape {
    pub core_urn: &'static str,
    pub attrs: &'static [Attr],
    pub extension: Option<(&'static str, &'static [Attr])>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

struct Path<'s> {
    /// None: the core attributes; Some: inside the extension's object.
    extension: Option<&'static str>,
    /// None with an extension: the extension object itself.
    attr: Option<&'s Attr>,
    filter: Option<scim_filter::Filter>,
    sub: Option<&'static str>,
}

fn invalid_path(path: &str, why: &str) -> ScimError {
    ScimError::bad("invalidPath", format!("path \"{path}\": {why}"))
}

fn find<'s>(attrs: &'s [Attr], name: &str) -> Option<&'s Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn parse_path<'s>(shape: &'s Shape, raw: &str) -> ScimResult<Path<'s>> {
    let mut rest = raw.trim();
    let mut attrs = shape.attrs;
    let mut extension = None;
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("urn:") {
        if let Some((urn, ext_attrs)) = shape.extension
            && lower.starts_with(&urn.to_ascii_lowercase())
        {
            extension = Some(urn);
            attrs = ext_attrs;
            rest = &rest[urn.len()..];
            if rest.is_empty() {
                return Ok(Path {
                    extension,
                    attr: None,
                    filter: None,
                    sub: None,
                });
            }
            rest = rest
                .strip_prefix(':')
                .ok_or_else(|| invalid_path(raw, "an attribute must follow the schema URN"))?;
        } else if lower.starts_with(&format!("{}:", shape.core_urn.to_ascii_lowercase())) {
            rest = &rest[shape.core_urn.len() + 1..];
        } else {
            return Err(invalid_path(raw, "unknown schema URN"));
        }
    }
    let end = rest.find(['[', '.']).unwrap_or(rest.len());
    let name = &rest[..end];
    let attr = find(attrs, name).ok_or_else(|| invalid_path(raw, "no such attribute"))?;
    let mut rest = &rest[end..];
    let mut filter = None;
    if let Some(inner) = rest.strip_prefix('[') {
        let close = inner
            .rfind(']')
            .ok_or_else(|| invalid_path(raw, "a value filter is not closed"))?;
        if !attr.multi {
            return Err(invalid_path(
                raw,
                "a value filter needs a multi-valued attribute",
            ));
        }
        filter = Some(
            scim_filter::parse(&inner[..close], attr.subs)
                .map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?,
        );
        rest = &inner[close + 1..];
    }
    let sub = match rest.strip_prefix('.') {
        Some(s) => Some(
            *attr
                .subs
                .iter()
                .find(|x| x.eq_ignore_ascii_case(s))
                .ok_or_else(|| invalid_path(raw, "no such sub-attribute"))?,
        ),
        None if rest.is_empty() => None,
        None => return Err(invalid_path(raw, "unexpected text")),
    };
    if let Some(s) = sub
        && attr.read_only_subs.contains(&s)
    {
        return Err(ScimError::bad(
            "mutability",
            format!("\"{raw}\" is read-only"),
        ));
    }
    Ok(Path {
        extension,
        attr: Some(attr),
        filter,
        sub,
    })
}

fn filter_values(element: &Value, attr: &str) -> Vec<FilterValue> {
    match element.get(attr) {
        Some(Value::String(s)) => vec![FilterValue::Str(s.clone())],
        Some(Value::Bool(b)) => vec![FilterValue::Bool(*b)],
        Some(Value::Null) | None => vec![],
        Some(other) => vec![FilterValue::Str(other.to_string())],
    }
}

/// Applies a PatchOp body's `Operations` to `doc`.
pub fn apply(shape: &Shape, doc: &mut Map<String, Value>, body: &Value) -> ScimResult<()> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "the body must be a PatchOp object"))?;
    let mut operations = None;
    for (k, v) in obj {
        match k.to_ascii_lowercase().as_str() {
            "schemas" => {
                let ok = v.as_array().is_some_and(|a| {
                    a.len() == 1 && a[0].as_str() == Some(super::schema::PATCH_OP)
                });
                if !ok {
                    return Err(ScimError::bad(
                        "invalidSyntax",
                        format!("schemas must be [\"{}\"]", super::schema::PATCH_OP),
                    ));
                }
            }
            "operations" => operations = Some(v),
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("unknown attribute \"{k}\" in a PatchOp"),
                ));
            }
        }
    }
    if !obj.keys().any(|k| k.eq_ignore_ascii_case("schemas")) {
        return Err(ScimError::bad("invalidSyntax", "schemas is required"));
    }
    let ops = operations
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ScimError::bad("invalidSyntax", "Operations must be a non-empty array"))?;
    for op in ops {
        apply_one(shape, doc, op)?;
    }
    Ok(())
}

fn apply_one(shape: &Shape, doc: &mut Map<String, Value>, op: &Value) -> ScimResult<()> {
    let o = op
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "an operation must be an object"))?;
    let mut kind = None;
    let mut path = None;
    let mut value = None;
    for (k, v) in o {
        match k.to_ascii_lowercase().as_str() {
            "op" => {
                kind = Some(match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("add") => Op::Add,
                    Some("replace") => Op::Replace,
                    Some("remove") => Op::Remove,
                    _ => {
                        return Err(ScimError::bad(
                            "invalidSyntax",
                            "op must be add, replace or remove",
                        ));
                    }
                })
            }
            "path" => {
                path = Some(
                    v.as_str()
                        .ok_or_else(|| ScimError::bad("invalidPath", "path must be a string"))?,
                )
            }
            "value" => value = Some(v.clone()),
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("unknown member \"{k}\" of an operation"),
                ));
            }
        }
    }
    let kind = kind.ok_or_else(|| ScimError::bad("invalidSyntax", "op is required"))?;
    match (kind, path) {
        (Op::Remove, None) => Err(ScimError::bad("noTarget", "remove needs a path")),
        (Op::Remove, Some(p)) => {
            let path = parse_path(shape, p)?;
            remove(doc, &path, p)
        }
        (_, None) => {
            let value = value.ok_or_else(|| ScimError::bad("invalidValue", "value is required"))?;
            let map = value.as_object().ok_or_else(|| {
                ScimError::bad("invalidValue", "without a path, value must be an object")
            })?;
            for (k, v) in map {
                if let Some((urn, _)) = shape.extension
                    && k.eq_ignore_ascii_case(urn)
                {
                    let inner = v.as_object().ok_or_else(|| {
                        ScimError::bad("invalidValue", "an extension's value must be an object")
                    })?;
                    for (k2, v2) in inner
                        .iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                    {
                        let p = format!("{urn}:{k2}");
                        let path = parse_path(shape, &p)?;
                        set(doc, &path, kind, v2.clone(), &p)?;
                    }
                    continue;
                }
                if k.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let path = parse_path(shape, k)?;
                set(doc, &path, kind, v.clone(), k)?;
            }
            Ok(())
        }
        (_, Some(p)) => {
            let value = value.ok_or_else(|| ScimError::bad("invalidValue", "value is required"))?;
            let path = parse_path(shape, p)?;
            set(doc, &path, kind, value, p)
        }
    }
}

fn container<'d>(doc: &'d mut Map<String, Value>, path: &Path) -> &'d mut Map<String, Value> {
    match path.extension {
        None => doc,
        Some(urn) => {
            let slot = doc
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            slot.as_object_mut().expect("an object")
        }
    }
}

fn matches(filter: &scim_filter::Filter, element: &Value) -> bool {
    filter.matches(&|a| filter_values(element, a), &super::schema::CASE_EXACT)
}

fn set(
    doc: &mut Map<String, Value>,
    path: &Path,
    kind: Op,
    value: Value,
    raw: &str,
) -> ScimResult<()> {
    let Some(attr) = path.attr else {
        // The extension object itself: merge its attributes.
        let map = value.as_object().cloned().ok_or_else(|| {
            ScimError::bad("invalidValue", "an extension's value must be an object")
        })?;
        let target = container(doc, path);
        for (k, v) in map {
            if !k.eq_ignore_ascii_case("schemas") {
                target.insert(k, v);
            }
        }
        return Ok(());
    };
    let target = container(doc, path);
    let name = attr.name.to_string();
    match (&path.filter, path.sub) {
        (Some(filter), sub) => {
            let list = target
                .get_mut(&name)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| ScimError::bad("noTarget", format!("\"{raw}\" matches nothing")))?;
            let mut hit = false;
            for element in list.iter_mut().filter(|e| matches(filter, e)) {
                hit = true;
                match sub {
                    Some(s) => {
                        if let Some(m) = element.as_object_mut() {
                            m.insert(s.to_string(), value.clone());
                        }
                    }
                    None => merge_or_replace(element, value.clone(), kind),
                }
            }
            if !hit {
                return Err(ScimError::bad(
                    "noTarget",
                    format!("\"{raw}\" matches nothing"),
                ));
            }
            Ok(())
        }
        (None, Some(sub)) if attr.multi => {
            // Every value's sub-attribute.
            if let Some(list) = target.get_mut(&name).and_then(Value::as_array_mut) {
                for element in list.iter_mut() {
                    if let Some(m) = element.as_object_mut() {
                        m.insert(sub.to_string(), value.clone());
                    }
                }
            }
            Ok(())
        }
        (None, Some(sub)) => {
            let slot = target
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            slot.as_object_mut()
                .expect("an object")
                .insert(sub.to_string(), value);
            Ok(())
        }
        (None, None) if attr.multi => {
            let items = match value {
                Value::Array(a) => a,
                other => vec![other],
            };
            if kind == Op::Add {
                let list = target.entry(name).or_insert_with(|| Value::Array(vec![]));
                if !list.is_array() {
                    *list = Value::Array(vec![]);
                }
                let list = list.as_array_mut().expect("an array");
                for item in items {
                    if !list.contains(&item) {
                        list.push(item);
                    }
                }
            } else {
                target.insert(name, Value::Array(items));
            }
            Ok(())
        }
        (None, None) => {
            match target.get_mut(&name) {
                Some(existing) if !attr.subs.is_empty() && existing.is_object() => {
                    merge_or_replace(existing, value, kind)
                }
                _ => {
                    target.insert(name, value);
                }
            }
            Ok(())
        }
    }
}

/// A complex value: `add` and `replace` both set the sub-attributes given (RFC 7644
/// 3.5.2.1 and 3.5.2.3), keeping the others.
fn merge_or_replace(existing: &mut Value, value: Value, _kind: Op) {
    match (existing.as_object_mut(), value) {
        (Some(e), Value::Object(v)) => {
            for (k, x) in v {
                e.insert(k, x);
            }
        }
        (_, v) => *existing = v,
    }
}

fn remove(doc: &mut Map<String, Value>, path: &Path, raw: &str) -> ScimResult<()> {
    let Some(attr) = path.attr else {
        if let Some(urn) = path.extension {
            doc.remove(urn);
        }
        return Ok(());
    };
    let target = container(doc, path);
    let name = attr.name;
    match (&path.filter, path.sub) {
        (Some(filter), None) => {
            if let Some(list) = target.get_mut(name).and_then(Value::as_array_mut) {
                list.retain(|e| !matches(filter, e));
            }
        }
        (Some(filter), Some(sub)) => {
            let list = target
                .get_mut(name)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| ScimError::bad("noTarget", format!("\"{raw}\" matches nothing")))?;
            for e in list.iter_mut().filter(|e| matches(filter, e)) {
                if let Some(m) = e.as_object_mut() {
                    m.remove(sub);
                }
            }
        }
        (None, Some(sub)) => match target.get_mut(name) {
            Some(Value::Object(m)) => {
                m.remove(sub);
            }
            Some(Value::Array(list)) => {
                for e in list.iter_mut() {
                    if let Some(m) = e.as_object_mut() {
                        m.remove(sub);
                    }
                }
            }
            _ => {}
        },
        (None, None) => {
            target.remove(name);
        }
    }
    Ok(())
}

/// `attributes` / `excludedAttributes` (RFC 7644 section 3.9): keeps only the named attributes
/// (with `id` and `schemas`, always returned), or drops the excluded ones. Unknown names are
/// ignored, as the RFC allows.
pub fn project(
    shape: &Shape,
    doc: &mut Map<String, Value>,
    attributes: Option<&str>,
    excluded: Option<&str>,
) {
    let names = |list: &str| -> Vec<String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    if let Some(list) = attributes.filter(|l| !l.trim().is_empty()) {
        let mut kept = Map::new();
        for key in ["schemas", "id"] {
            if let Some(v) = doc.get(key) {
                kept.insert(key.into(), v.clone());
            }
        }
        for name in names(list) {
            let Ok(path) = parse_path(shape, &name) else {
                continue;
            };
            copy(doc, &mut kept, &path);
        }
        *doc = kept;
    }
    if let Some(list) = excluded {
        for name in names(list) {
            if let Ok(path) = parse_path(shape, &name)
                && path.attr.is_none_or(|a| a.name != "id")
            {
                let _ = remove(doc, &path, &name);
                if let Some(urn) = path.extension
                    && doc
                        .get(urn)
                        .and_then(Value::as_object)
                        .is_some_and(Map::is_empty)
                {
                    doc.remove(urn);
                }
            }
        }
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &Path) {
    let (source, target) = match path.extension {
        None => (Some(from), to),
        Some(urn) => {
            let source = from.get(urn).and_then(Value::as_object);
            if source.is_none() {
                return;
            }
            let slot = to
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            (source, slot.as_object_mut().expect("an object"))
        }
    };
    let Some(source) = source else { return };
    let Some(attr) = path.attr else {
        for (k, v) in source {
            target.insert(k.clone(), v.clone());
        }
        return;
    };
    let Some(value) = source.get(attr.name) else {
        return;
    };
    match (path.sub, value) {
        (Some(sub), Value::Object(m)) => {
            if let Some(v) = m.get(sub) {
                let slot = target
                    .entry(attr.name.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(o) = slot.as_object_mut() {
                    o.insert(sub.to_string(), v.clone());
                }
            }
        }
        (Some(sub), Value::Array(list)) => {
            let picked: Vec<Value> = list
                .iter()
                .filter_map(|e| e.get(sub).map(|v| serde_json::json!({ sub: v })))
                .collect();
            target.insert(attr.name.to_string(), Value::Array(picked));
        }
        _ => {
            target.insert(attr.name.to_string(), value.clone());
        }
    }
}
