//! JSON shapes of PIM resources, as Graph's `unifiedRoleAssignmentScheduleRequest`,
//! `...Schedule`, `...ScheduleInstance` and `approval` show them.

use chrono::{DateTime, Utc};
use eligo_core::approval::Step;
use eligo_core::duration::format_duration;
use eligo_core::request::{ExpirationType, ScheduleInfo, ScheduleRequest};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_core::target::Target;
use serde_json::{Value, json};

use crate::service::pim::views::Holding;

pub fn schedule_info(info: &ScheduleInfo) -> Value {
    let kind = match info.expiration.kind {
        ExpirationType::NoExpiration => "noExpiration",
        ExpirationType::AfterDateTime => "afterDateTime",
        ExpirationType::AfterDuration => "afterDuration",
    };
    json!({
        "startDateTime": info.start_date_time,
        "recurrence": null,
        "expiration": {
            "type": kind,
            "endDateTime": info.expiration.end_date_time,
            "duration": info.expiration.duration.map(format_duration),
        },
    })
}

/// PIM for Groups names its target `groupId` and `accessId` where roles say
/// `roleDefinitionId` and `directoryScopeId`: rewrites a shaped role resource accordingly.
fn for_target(mut v: Value, target: Target) -> Value {
    if let Target::Group { group, access } = target
        && let Some(o) = v.as_object_mut()
    {
        for key in ["roleDefinitionId", "directoryScopeId", "appScopeId"] {
            o.remove(key);
        }
        o.insert("groupId".into(), json!(group));
        o.insert("accessId".into(), json!(access.as_str()));
        if let Some(Value::String(t)) = o.get_mut("@odata.type") {
            *t = t.replace("unifiedRole", "privilegedAccessGroup");
        }
    }
    v
}

pub fn request(r: &ScheduleRequest) -> Value {
    let kind = match r.kind {
        eligo_core::request::RequestKind::Eligibility => "unifiedRoleEligibilityScheduleRequest",
        eligo_core::request::RequestKind::Assignment => "unifiedRoleAssignmentScheduleRequest",
    };
    let v = json!({
        "@odata.type": format!("#microsoft.graph.{kind}"),
        "id": r.id,
        "status": r.status.as_str(),
        "statusDetail": r.status_detail,
        "action": r.action.as_str(),
        "principalId": r.principal_id,
        "roleDefinitionId": r.role_definition_id,
        "directoryScopeId": r.directory_scope_id,
        "appScopeId": null,
        "isValidationOnly": false,
        "targetScheduleId": r.target_schedule_id,
        "justification": r.justification,
        "ticketInfo": r.ticket_info.as_ref().map(|t| json!({
            "ticketNumber": t.number, "ticketSystem": t.system,
        })),
        "scheduleInfo": schedule_info(r.granted_schedule.as_ref().unwrap_or(&r.schedule_info)),
        "requestedScheduleInfo": schedule_info(&r.schedule_info),
        "createdBy": { "user": { "id": r.created_by } },
        "createdDateTime": r.created_date_time,
        "completedDateTime": r.completed_date_time,
        "approvalId": r.approval_id(),
    });
    for_target(v, r.target())
}

fn end_of(h: &Holding) -> Option<DateTime<Utc>> {
    h.schedule.end_date_time
}

pub fn schedule(h: &Holding) -> Value {
    let s = &h.schedule;
    let mut v = json!({
        "id": s.id,
        "principalId": h.principal_id,
        "roleDefinitionId": s.role_definition_id,
        "directoryScopeId": s.directory_scope_id,
        "appScopeId": null,
        "createdUsing": s.created_using,
        "createdDateTime": s.created_date_time,
        "modifiedDateTime": null,
        "status": "Provisioned",
        "memberType": h.member_type(),
        "scheduleInfo": schedule_info(&ScheduleInfo::effective(s.start_date_time, end_of(h))),
    });
    if s.kind == ScheduleKind::Active {
        v["assignmentType"] = json!(assignment_type(s.assignment_type));
    }
    via(&mut v, h);
    for_target(v, s.target())
}

pub fn instance(h: &Holding, now: DateTime<Utc>) -> Value {
    let s = &h.schedule;
    let mut v = json!({
        "id": s.id,
        "principalId": h.principal_id,
        "roleDefinitionId": s.role_definition_id,
        "directoryScopeId": s.directory_scope_id,
        "appScopeId": null,
        "startDateTime": s.start_date_time,
        "endDateTime": end_of(h),
        "memberType": h.member_type(),
        "expiringSoon": h.expiring_soon(now),
    });
    match s.kind {
        ScheduleKind::Active => {
            v["assignmentType"] = json!(assignment_type(s.assignment_type));
            v["roleAssignmentOriginId"] = json!(s.id);
            v["roleAssignmentScheduleId"] = json!(s.id);
            v["linkedEligibleRoleScheduleId"] = json!(s.linked_eligibility_id);
        }
        ScheduleKind::Eligible => {
            v["roleEligibilityScheduleId"] = json!(s.id);
        }
    }
    via(&mut v, h);
    for_target(v, s.target())
}

fn via(v: &mut Value, h: &Holding) {
    if let Some((id, name)) = &h.via_group {
        v["viaGroup"] = json!({ "id": id, "displayName": name });
    }
}

pub fn assignment_type(t: AssignmentType) -> &'static str {
    match t {
        AssignmentType::Assigned => "Assigned",
        AssignmentType::Activated => "Activated",
    }
}

pub fn approval(r: &ScheduleRequest, steps: &[(Step, bool)]) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, (step, assigned_to_me))| {
            let last = step.reviews.last();
            json!({
                "id": step.id,
                "displayName": format!("Stage {}", i + 1),
                "status": format!("{:?}", step.status),
                "reviewResult": format!("{:?}", step.result()),
                "reviewedBy": last.map(|l| json!({ "id": l.reviewed_by })),
                "reviewedDateTime": last.map(|l| l.reviewed_date_time),
                "justification": last.and_then(|l| l.justification.clone()),
                "assignedToMe": assigned_to_me,
                "minimumApprovals": step.settings.minimum_approvals.max(1),
                "startedDateTime": step.started_date_time,
                "deadlineDateTime": step.deadline(),
                "reviews": step.reviews.iter().map(|r| json!({
                    "reviewedBy": { "id": r.reviewed_by },
                    "reviewResult": format!("{:?}", r.review_result),
                    "justification": r.justification,
                    "reviewedDateTime": r.reviewed_date_time,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "id": r.id,
        "requestId": r.id,
        "status": r.status.as_str(),
        "steps": steps,
    })
}
