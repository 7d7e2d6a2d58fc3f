//! Entitlement-management records as Graph shows them.

use eligo_core::directory::Group;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::resource::{Resource, ResourceRole, ResourceScope};
use serde_json::{Value, json};

use eligo_core::entitlement::request::AssignmentRequest;

use uuid::Uuid;

use crate::service::entitlement::assignments::{AssignmentView, RequestView, callouts};
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

fn expiration_of(end: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    match end {
        Some(e) => json!({ "type": "afterDateTime", "endDateTime": e, "duration": null }),
        None => json!({ "type": "noExpiration", "endDateTime": null, "duration": null }),
    }
}

pub fn assignment(v: &AssignmentView) -> Value {
    let a = &v.assignment;
    json!({
        "id": a.id, "state": a.state, "status": a.status,
        "schedule": { "startDateTime": a.start_date_time, "expiration": expiration_of(a.end_date_time) },
        "expiredDateTime": a.expired_date_time,
        "target": {
            "id": a.target_id, "objectId": a.target_id,
            "displayName": v.target.as_ref().map(|t| t.display_name.clone()),
            "principalName": v.target.as_ref().and_then(|t| t.upn.clone()),
        },
        "accessPackage": { "id": a.access_package_id },
        "assignmentPolicy": { "id": a.assignment_policy_id },
    })
}

/// A request as everyone entitled to read it sees it, the callout's stage instance id
/// included (approvers' lists; the entitlement reads use [`request_seen_by`]).
pub fn request(r: &AssignmentRequest) -> Value {
    shaped_request(r, true)
}

/// A request as `viewer` sees it: its requestor and target are not shown the stage instance
/// id of the callout it waits on (the endpoint's, for `resume`).
pub fn request_seen_by(r: &AssignmentRequest, viewer: Uuid) -> Value {
    shaped_request(r, callouts::shows_instance_to(viewer, r))
}

fn shaped_request(r: &AssignmentRequest, show_instance: bool) -> Value {
    let answers: Vec<Value> = r
        .answers
        .iter()
        .map(|a| {
            json!({
                "@odata.type": "#microsoft.graph.accessPackageAnswerString",
                "value": a.value, "displayValue": a.display_value,
                "answeredQuestion": { "id": a.question_id },
            })
        })
        .collect();
    json!({
        "id": r.id, "requestType": r.request_type, "state": r.state, "status": r.status,
        "justification": r.justification,
        "createdDateTime": r.created_date_time, "completedDateTime": r.completed_date_time,
        "requestor": { "id": r.requestor_id },
        "target": { "id": r.target_id, "objectId": r.target_id },
        "accessPackage": { "id": r.access_package_id },
        "assignmentPolicy": r.assignment_policy_id.map(|p| json!({ "id": p })),
        "assignment": r.assignment_id.map(|a| json!({ "id": a })),
        "answers": answers,
        "schedule": { "startDateTime": r.schedule.start_date_time, "expiration": r.schedule.expiration },
        "customExtensionCalloutInstances": r.callout.iter().map(|c| callout(c, show_instance)).collect::<Vec<_>>(),
    })
}

/// A custom extension call a request waited on, as Graph's `customExtensionCalloutInstance`.
fn callout(c: &eligo_core::entitlement::extension::Callout, show_instance: bool) -> Value {
    let status = match c.outcome.as_deref() {
        None => "waitingForCallback",
        Some("timedOut") => "callbackTimedOut",
        Some(_) => "callbackReceived",
    };
    json!({
        "id": show_instance.then_some(c.instance_id), "customExtensionId": c.extension_id, "status": status,
        "detail": c.detail,
    })
}

/// A request with what `$expand` asked for.
pub fn request_expanded(
    v: &RequestView,
    viewer: Uuid,
    requestor: bool,
    package_: bool,
    assignment_: bool,
) -> Value {
    let mut out = request_seen_by(&v.request, viewer);
    if requestor && let Some(p) = &v.requestor {
        out["requestor"] = json!({
            "id": v.request.requestor_id, "displayName": p.display_name, "email": p.upn,
            "principalName": p.upn,
        });
    }
    if package_ && let Some(p) = &v.package {
        out["accessPackage"] = package(p);
    }
    if assignment_ && let Some(a) = &v.assignment {
        out["assignment"] = assignment(&AssignmentView {
            assignment: a.clone(),
            target: None,
        });
    }
    out
}
