//! Entitlement-management records as Graph shows them.

use eligo_core::directory::Group;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::resource::{Resource, ResourceRole, ResourceScope};
use serde_json::{Value, json};

use crate::service::entitlement::packages::RoleScopeView;

pub fn resource(r: &Resource) -> Value {
    json!({
        "id": r.id, "displayName": r.display_name, "description": r.description,
        "originId": r.origin_id, "originSystem": r.origin_system, "createdDateTime": r.created_date_time,
    })
}

pub fn role(r: &ResourceRole) -> Value {
    json!({
        "id": r.id, "displayName": r.display_name, "description": null,
        "originId": r.origin_id, "originSystem": r.origin_system,
    })
}

pub fn scope(s: &ResourceScope) -> Value {
    json!({
        "id": s.id, "displayName": null, "description": null,
        "originId": s.origin_id, "originSystem": s.origin_system, "isRootScope": s.is_root_scope,
    })
}

pub fn role_scope(v: &RoleScopeView) -> Value {
    let mut role = role(&v.role);
    if let Some(r) = &v.resource {
        role["resource"] = resource(r);
    }
    json!({
        "id": v.role_scope.id(), "createdDateTime": v.role_scope.created_date_time,
        "role": role, "scope": scope(&v.scope),
    })
}

pub fn package(p: &AccessPackage) -> Value {
    json!({
        "id": p.id, "displayName": p.display_name, "description": p.description,
        "isHidden": p.is_hidden, "createdDateTime": p.created_date_time,
        "modifiedDateTime": p.modified_date_time, "catalog": { "id": p.catalog_id },
    })
}

pub fn policy(p: &AssignmentPolicy) -> Value {
    let mut v = p.to_graph();
    v["accessPackage"] = json!({ "id": p.access_package_id });
    v["catalog"] = json!({ "id": p.catalog_id });
    v
}

pub fn group(g: &Group) -> Value {
    json!({ "id": g.id, "displayName": g.display_name, "description": g.description })
}
