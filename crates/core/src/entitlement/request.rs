//! Assignment requests (Graph's `accessPackageAssignmentRequest`): what a client sends, read
//! with every broken rule reported, and the decision on it before anything is granted: the
//! policy applies and lets this requestor ask, the justification and answers, the schedule
//! against the policy's expiration and the server minimum (never clamped), no duplicate, and
//! separation of duties. Facts (who the target is, what they hold, which groups they are in)
//! come from the server at the moment of the decision.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::expiration::{Expiration, ExpirationType};
use super::incompatible::{Conflict, Rules};
use super::policy::AssignmentPolicy;
use super::question::{Answer, validate_answers, validate_given_answers};
use super::read::{Fields, graph_enum};
use super::requestor::{PrincipalFacts, PrincipalSort, is_allowed_target};
use crate::invalid::Invalid;

graph_enum! {
    pub enum RequestType {
        UserAdd = "userAdd",
        UserUpdate = "userUpdate",
        UserRemove = "userRemove",
        AdminAdd = "adminAdd",
        AdminUpdate = "adminUpdate",
        AdminRemove = "adminRemove",
        OnBehalfAdd = "onBehalfAdd",
        /// Eligo's own removals (expiry); never accepted from a client.
        SystemRemove = "systemRemove",
    }
}

impl RequestType {
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            RequestType::AdminAdd | RequestType::AdminUpdate | RequestType::AdminRemove
        )
    }

    pub fn is_add(self) -> bool {
        matches!(
            self,
            RequestType::UserAdd | RequestType::AdminAdd | RequestType::OnBehalfAdd
        )
    }

    pub fn is_update(self) -> bool {
        matches!(self, RequestType::UserUpdate | RequestType::AdminUpdate)
    }

    pub fn is_remove(self) -> bool {
        matches!(
            self,
            RequestType::UserRemove | RequestType::AdminRemove | RequestType::SystemRemove
        )
    }
}

graph_enum! {
    /// Graph's `accessPackageRequestState`.
    pub enum RequestState {
        Submitted = "submitted",
        PendingApproval = "pendingApproval",
        Delivering = "delivering",
        Delivered = "delivered",
        DeliveryFailed = "deliveryFailed",
        Denied = "denied",
        Scheduled = "scheduled",
        Canceled = "canceled",
        PartiallyDelivered = "partiallyDelivered",
    }
}

/// The schedule a request asks for (`schedule: {startDateTime, expiration}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AskedSchedule {
    pub start_date_time: Option<DateTime<Utc>>,
    /// None: the request asked nothing (the policy's expiration applies).
    pub expiration: Option<Expiration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentRequest {
    pub id: Uuid,
    pub request_type: RequestType,
    pub state: RequestState,
    /// Graph's free-text status (`Accepted`, `PendingApproval`, `Delivered`, `Expired`, ...).
    pub status: String,
    pub justification: Option<String>,
    pub requestor_id: Uuid,
    pub target_id: Uuid,
    pub access_package_id: Uuid,
    pub assignment_policy_id: Option<Uuid>,
    pub assignment_id: Option<Uuid>,
    pub answers: Vec<Answer>,
    pub schedule: AskedSchedule,
    pub created_date_time: DateTime<Utc>,
    pub completed_date_time: Option<DateTime<Utc>>,
    /// The approval stages of a request that needed approval, copied from its policy when it
    /// was made, with their progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<super::approval::RequestApproval>,
    /// The custom extension call at `assignmentRequestCreated` that the request waits on (or
    /// waited on: its outcome), when the extension takes a callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callout: Option<super::extension::Callout>,
}

impl AssignmentRequest {
    /// When the scheduler owes this request something: the current stage's deadline while it
    /// waits for approval (its timeout), its start while it is `scheduled` (its delivery).
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        match self.state {
            RequestState::PendingApproval => match &self.callout {
                Some(c) if c.outcome.is_none() => Some(c.deadline),
                _ => self.approval.as_ref().and_then(|a| a.progress.deadline()),
            },
            RequestState::Scheduled => self.schedule.start_date_time,
            _ => None,
        }
    }

    /// Whether the request waits for its custom extension's callback (`resume`).
    pub fn waits_for_callback(&self) -> bool {
        self.state == RequestState::PendingApproval
            && self.callout.as_ref().is_some_and(|c| c.outcome.is_none())
    }

    /// Whether the request still waits for something (approval, or its start): it may be
    /// canceled, and no other request for the same target and package may be made meanwhile.
    pub fn is_waiting(&self) -> bool {
        matches!(
            self.state,
            RequestState::Submitted | RequestState::PendingApproval | RequestState::Scheduled
        )
    }
}

/// A request body as read: the ids it names, before any of them is looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub request_type: RequestType,
    pub justification: Option<String>,
    pub target_id: Option<Uuid>,
    pub assignment_policy_id: Option<Uuid>,
    pub access_package_id: Option<Uuid>,
    /// `assignment: {id}` of an update or removal.
    pub assignment_id: Option<Uuid>,
    pub answers: Vec<Answer>,
    pub schedule: AskedSchedule,
}

/// The longest justification kept.
const MAX_JUSTIFICATION: usize = 1000;

const FIELDS: &[&str] = &[
    "@odata.type",
    "requestType",
    "justification",
    "assignment",
    "accessPackageAssignment",
    "answers",
    "schedule",
    // Read-only fields a client may send back.
    "id",
    "state",
    "status",
    "createdDateTime",
    "completedDateTime",
];

fn uuid_at(f: &mut Fields, field: &str) -> Option<Uuid> {
    let raw: String = f.opt(field)?;
    match Uuid::parse_str(&raw) {
        Ok(id) => Some(id),
        Err(_) => {
            f.push("InvalidValue", field, "must be a GUID");
            None
        }
    }
}

impl Submission {
    /// Reads a POST body: every problem reported at once, under its path. `now` judges an
    /// `afterDateTime` end.
    pub fn read(body: &Value, now: DateTime<Utc>) -> Result<Submission, Vec<Invalid>> {
        let mut f = Fields::of(body, "");
        f.only(FIELDS);
        let request_type: Option<RequestType> = f.required("requestType");
        if request_type == Some(RequestType::SystemRemove) {
            f.push(
                "InvalidRequestType",
                "requestType",
                "systemRemove is Eligo's own; ask for userRemove or adminRemove",
            );
        }
        let justification: Option<String> = f
            .opt::<String>("justification")
            .map(|j| j.trim().to_string())
            .filter(|j| !j.is_empty());
        if justification
            .as_ref()
            .is_some_and(|j| j.chars().count() > MAX_JUSTIFICATION)
        {
            f.push(
                "InvalidValue",
                "justification",
                format!("must be at most {MAX_JUSTIFICATION} characters"),
            );
        }
        // The SDKs send `assignment`; older ones `accessPackageAssignment`.
        let key = if f.has("assignment") {
            "assignment"
        } else {
            "accessPackageAssignment"
        };
        let (mut target_id, mut policy_id, mut package_id, mut assignment_id) =
            (None, None, None, None);
        match f.sub(key) {
            Some(mut a) => {
                a.only(&[
                    "@odata.type",
                    "id",
                    "targetId",
                    "assignmentPolicyId",
                    "accessPackageId",
                    "target",
                    "schedule",
                    "state",
                    "status",
                ]);
                assignment_id = uuid_at(&mut a, "id");
                target_id = uuid_at(&mut a, "targetId");
                policy_id = uuid_at(&mut a, "assignmentPolicyId");
                package_id = uuid_at(&mut a, "accessPackageId");
                f.absorb(a);
            }
            None => f.push("MissingField", "assignment", "is required"),
        }
        if let Some(t) = request_type {
            if (t.is_update() || t.is_remove()) && assignment_id.is_none() {
                f.push(
                    "MissingField",
                    &format!("{key}.id"),
                    "an update or removal names the assignment",
                );
            }
            if t.is_add() {
                if policy_id.is_none() {
                    f.push(
                        "MissingField",
                        &format!("{key}.assignmentPolicyId"),
                        "is required",
                    );
                }
                if package_id.is_none() {
                    f.push(
                        "MissingField",
                        &format!("{key}.accessPackageId"),
                        "is required",
                    );
                }
                if t != RequestType::UserAdd && target_id.is_none() {
                    f.push(
                        "MissingField",
                        &format!("{key}.targetId"),
                        "an administrator's or on-behalf request names its target",
                    );
                }
            }
        }
        let mut answers = Vec::new();
        for (i, a) in f.items("answers").into_iter().enumerate() {
            match Answer::read(a, &format!("answers[{i}]")) {
                Ok(a) => answers.push(a),
                Err(e) => f.problems.push(e),
            }
        }
        let mut schedule = AskedSchedule::default();
        if let Some(mut s) = f.sub("schedule") {
            s.only(&["startDateTime", "expiration", "recurrence"]);
            if s.raw("recurrence").is_some_and(|r| !r.is_null()) {
                s.push("RecurrenceNotSupported", "recurrence", "is not supported");
            }
            schedule.start_date_time = s.opt("startDateTime");
            if s.raw("expiration").is_some_and(|e| !e.is_null()) {
                schedule.expiration = Some(Expiration::read(&mut s, now));
            }
            f.absorb(s);
        }
        match request_type {
            Some(request_type) if f.problems.is_empty() => Ok(Submission {
                request_type,
                justification,
                target_id,
                assignment_policy_id: policy_id,
                access_package_id: package_id,
                assignment_id,
                answers,
                schedule,
            }),
            _ => Err(f.problems),
        }
    }
}

/// Everything the decision on an add or update needs, resolved by the server.
pub struct Facts<'a> {
    pub request_type: RequestType,
    pub package_id: Uuid,
    pub policy: &'a AssignmentPolicy,
    pub requestor: &'a PrincipalFacts,
    pub target: &'a PrincipalFacts,
    pub justification: Option<&'a str>,
    pub answers: &'a [Answer],
    pub schedule: &'a AskedSchedule,
    /// The target's live assignment of this package, if any (an add is refused, an update
    /// changes it).
    pub existing: Option<Uuid>,
    /// Separation of duties: the rules, the packages the target holds now (live assignments),
    /// and names to say which conflict.
    pub rules: &'a Rules,
    pub held: &'a BTreeSet<Uuid>,
    /// The groups the package hands out membership of.
    pub gives: &'a BTreeSet<Uuid>,
    pub names: &'a BTreeMap<Uuid, String>,
    pub now: DateTime<Utc>,
    pub min_duration: TimeDelta,
}

/// What an accepted add or update grants: from `start` to `end` (None: no end), and whether
/// it waits for approval first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub needs_approval: bool,
}

/// The decision on an add or update: one `Invalid` per broken rule.
pub fn decide(f: &Facts) -> Result<Decision, Vec<Invalid>> {
    let mut problems = Vec::new();
    let t = f.request_type;
    let p = f.policy;
    let s = &p.requestor_settings;
    if p.access_package_id != f.package_id {
        problems.push(Invalid::new(
            "PolicyNotOfPackage",
            "assignment.assignmentPolicyId",
            "this policy belongs to another access package",
        ));
    }
    // Who may ask: an administrator assigns anyone the directory allows (users and service
    // principals); a person asks for themselves, or on behalf as the policy says.
    let allowed = match t {
        RequestType::AdminAdd | RequestType::AdminUpdate => f.target.sort != PrincipalSort::Group,
        RequestType::UserAdd => {
            f.requestor.id == f.target.id
                && s.enable_targets_to_self_add_access
                && is_allowed_target(p, f.target)
        }
        RequestType::UserUpdate => {
            f.requestor.id == f.target.id
                && s.enable_targets_to_self_update_access
                && is_allowed_target(p, f.target)
        }
        RequestType::OnBehalfAdd => {
            super::requestor::may_request_on_behalf(p, f.requestor, f.target)
        }
        _ => false,
    };
    if !allowed {
        problems.push(Invalid::new(
            "NotAllowedRequestor",
            "requestType",
            format!(
                "this policy does not let this requestor make a {} request for this target",
                t.as_str()
            ),
        ));
    }
    if !t.is_admin() {
        if p.request_approval_settings
            .is_requestor_justification_required
            && f.justification.is_none()
        {
            problems.push(Invalid::new(
                "JustificationRequired",
                "justification",
                "this policy requires a justification",
            ));
        }
        problems.extend(validate_answers(&p.questions, f.answers));
    } else {
        problems.extend(validate_given_answers(&p.questions, f.answers));
    }
    match (t.is_add(), f.existing) {
        (true, Some(_)) => problems.push(Invalid::new(
            "AssignmentExists",
            "assignment.targetId",
            "the target already has an assignment of this access package",
        )),
        (false, None) => problems.push(Invalid::new(
            "NoAssignment",
            "assignment.id",
            "the target has no live assignment of this access package to update",
        )),
        _ => {}
    }
    let custom = t.is_admin() || s.allow_custom_assignment_schedule;
    if !t.is_add() && f.schedule.start_date_time.is_some_and(|s| s > f.now) {
        problems.push(Invalid::new(
            "FutureStartNotSupported",
            "schedule.startDateTime",
            "an update applies when it is delivered; leave startDateTime out or in the past",
        ));
    }
    let window = schedule(&p.expiration, f.schedule, custom, f.now, f.min_duration);
    if let Err(e) = &window {
        problems.extend(e.iter().cloned());
    }
    if t.is_add() {
        let mut all = f.rules.conflicts(f.package_id, f.held, &f.target.groups);
        all.extend(f.rules.conflicts_of_groups(f.held, f.gives));
        for c in all {
            problems.push(conflict(&c, f.names));
        }
    }
    let (start, end) = match window {
        Ok(w) if problems.is_empty() => w,
        _ => return Err(problems),
    };
    let a = &p.request_approval_settings;
    let needs_approval = match t {
        RequestType::UserAdd | RequestType::OnBehalfAdd => a.is_approval_required_for_add,
        RequestType::UserUpdate => a.is_approval_required_for_update,
        _ => false,
    };
    Ok(Decision {
        start,
        end,
        needs_approval,
    })
}

/// A separation-of-duties conflict as a refusal naming what conflicts.
pub fn conflict(c: &Conflict, names: &BTreeMap<Uuid, String>) -> Invalid {
    let name = |id: &Uuid| match names.get(id) {
        Some(n) => format!("'{n}' ({id})"),
        None => id.to_string(),
    };
    match c {
        Conflict::Package { other } => Invalid::new(
            c.code(),
            "assignment.accessPackageId",
            format!(
                "the target holds access package {}, which is incompatible with this one",
                name(other)
            ),
        ),
        Conflict::Group { group } => Invalid::new(
            c.code(),
            "assignment.accessPackageId",
            format!(
                "the target is a member of group {}, which is incompatible with this access package",
                name(group)
            ),
        ),
        Conflict::GivenGroup { group, held } => Invalid::new(
            c.code(),
            "assignment.accessPackageId",
            format!(
                "this access package gives membership of group {}, which access package {} that the target holds is incompatible with",
                name(group),
                name(held)
            ),
        ),
    }
}

/// A granted window: its start, and its end (None: no end).
pub type Window = (DateTime<Utc>, Option<DateTime<Utc>>);

/// The window granted: it starts now, or at the asked start when that is later and the
/// requestor may choose their schedule (the request then waits as `scheduled`); it ends as
/// asked or as the policy says, counted from the start, and is refused (never shortened) when
/// it is longer than the policy allows or shorter than the server minimum.
pub fn schedule(
    policy: &Expiration,
    asked: &AskedSchedule,
    custom_allowed: bool,
    now: DateTime<Utc>,
    min: TimeDelta,
) -> Result<Window, Vec<Invalid>> {
    let mut problems = Vec::new();
    let start = match asked.start_date_time {
        Some(s) if s > now && !custom_allowed => {
            problems.push(Invalid::new(
                "CustomScheduleNotAllowed",
                "schedule.startDateTime",
                "this policy does not let requestors choose when access starts; leave startDateTime out",
            ));
            now
        }
        Some(s) if s > now => s,
        _ => now,
    };
    let longest = match policy.kind {
        ExpirationType::AfterDateTime => policy.end_date_time,
        ExpirationType::AfterDuration => policy.duration.map(|d| start + d),
        _ => None,
    };
    let asked_end = match &asked.expiration {
        None => None,
        Some(_) if !custom_allowed => {
            problems.push(Invalid::new(
                "CustomScheduleNotAllowed",
                "schedule.expiration",
                "this policy does not let requestors choose their schedule; leave it out",
            ));
            None
        }
        Some(e) => match e.kind {
            ExpirationType::AfterDateTime => e.end_date_time.map(Some),
            ExpirationType::AfterDuration => e.duration.map(|d| Some(start + d)),
            ExpirationType::NoExpiration => Some(None),
            ExpirationType::NotSpecified => None,
        },
    };
    let end = match asked_end {
        Some(end) => end,
        None => longest,
    };
    match (end, longest) {
        (None, Some(l)) => problems.push(Invalid::new(
            "ExpirationRule",
            "schedule.expiration",
            format!("this policy's assignments end by {l}; ask for an end no later than that"),
        )),
        (Some(e), Some(l)) if e > l => problems.push(Invalid::new(
            "ExpirationRule",
            "schedule.expiration",
            format!("that ends after the longest this policy allows ({l}); ask for less"),
        )),
        _ => {}
    }
    if let Some(e) = end
        && e - start < min
    {
        problems.push(Invalid::new(
            "AssignmentDurationTooShort",
            "schedule.expiration",
            format!(
                "an assignment lasts at least {}",
                crate::duration::format_duration(min)
            ),
        ));
    }
    if problems.is_empty() {
        Ok((start, end))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::policy::Placement;
    use serde_json::json;

    const NOW: i64 = 1_900_000_000;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    fn policy(body: Value) -> AssignmentPolicy {
        let at = Placement {
            id: Uuid::from_u128(1),
            access_package_id: Uuid::from_u128(2),
            catalog_id: Uuid::from_u128(3),
            created: now(),
            now: now(),
        };
        let mut body = body;
        body["displayName"] = json!("p");
        AssignmentPolicy::read(at, &body, || "q".into()).unwrap()
    }

    fn codes(r: Result<Decision, Vec<Invalid>>) -> Vec<&'static str> {
        r.err().unwrap_or_default().iter().map(|i| i.code).collect()
    }

    #[test]
    fn reads_what_sdks_send() {
        let p = Uuid::from_u128(2);
        let body = json!({"requestType": "UserAdd", "justification": " because ",
            "accessPackageAssignment": {"assignmentPolicyId": Uuid::from_u128(1), "accessPackageId": p},
            "schedule": {"startDateTime": null, "expiration": {"type": "AfterDuration", "duration": "PT2H"}}});
        let s = Submission::read(&body, now()).unwrap();
        assert_eq!(s.request_type, RequestType::UserAdd);
        assert_eq!(s.justification.as_deref(), Some("because"));
        assert_eq!(s.access_package_id, Some(p));
        assert_eq!(
            s.schedule.expiration.unwrap().duration,
            Some(TimeDelta::hours(2))
        );
        let bad = Submission::read(
            &json!({"requestType": "adminAdd", "assignment": {"accessPackageId": "x"}, "answers": [{}]}),
            now(),
        )
        .unwrap_err();
        let codes: Vec<_> = bad.iter().map(|i| (i.code, i.target.as_str())).collect();
        assert!(
            codes.contains(&("InvalidValue", "assignment.accessPackageId")),
            "{codes:?}"
        );
        assert!(codes.contains(&("MissingField", "assignment.assignmentPolicyId")));
        assert!(codes.contains(&("MissingField", "assignment.targetId")));
        assert!(codes.contains(&("MissingField", "answers[0].answeredQuestion.id")));
        assert!(
            Submission::read(
                &json!({"requestType": "systemRemove", "assignment": {"id": p}}),
                now()
            )
            .is_err()
        );
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let p = policy(json!({"allowedTargetScope": "allMemberUsers",
            "requestorSettings": {"enableTargetsToSelfAddAccess": true},
            "expiration": {"type": "afterDuration", "duration": "P1D"},
            "requestApprovalSettings": {"isRequestorJustificationRequired": true},
            "questions": [{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "case",
                "text": "Case", "isRequired": true, "regexPattern": "^C-[0-9]+$"}]}));
        let me = PrincipalFacts::new(Uuid::from_u128(10), PrincipalSort::User);
        let mut other = PrincipalFacts::new(Uuid::from_u128(11), PrincipalSort::User);
        let incompatible = Uuid::from_u128(40);
        other.groups.insert(Uuid::from_u128(50));
        let rules = Rules {
            packages: vec![(incompatible, Uuid::from_u128(2))],
            groups: vec![(Uuid::from_u128(2), Uuid::from_u128(50))],
        };
        let held = BTreeSet::from([incompatible]);
        let names = BTreeMap::from([(incompatible, "Help Desk".to_string())]);
        let asked = AskedSchedule {
            start_date_time: None,
            expiration: Some(Expiration {
                kind: ExpirationType::AfterDuration,
                end_date_time: None,
                duration: Some(TimeDelta::days(2)),
            }),
        };
        let base = Facts {
            request_type: RequestType::UserAdd,
            package_id: Uuid::from_u128(2),
            policy: &p,
            requestor: &me,
            target: &me,
            justification: Some("why"),
            answers: &[Answer {
                question_id: "case".into(),
                value: "C-1".into(),
                display_value: None,
            }],
            schedule: &AskedSchedule::default(),
            existing: None,
            rules: &Rules::default(),
            held: &BTreeSet::new(),
            gives: &BTreeSet::new(),
            names: &names,
            now: now(),
            min_duration: TimeDelta::minutes(5),
        };
        let ok = decide(&base).unwrap();
        assert_eq!(ok.end, Some(now() + TimeDelta::days(1)));
        assert!(!ok.needs_approval);
        let bad = Facts {
            target: &other,
            justification: None,
            answers: &[],
            schedule: &asked,
            existing: Some(Uuid::nil()),
            rules: &rules,
            held: &held,
            package_id: Uuid::from_u128(9),
            ..base
        };
        assert_eq!(
            codes(decide(&bad)),
            [
                "PolicyNotOfPackage",
                "NotAllowedRequestor",
                "JustificationRequired",
                "RequiredQuestionUnanswered",
                "AssignmentExists",
                "CustomScheduleNotAllowed",
            ]
        );
        // Separation of duties names the conflict, for the package being asked.
        let sod = Facts {
            target: &other,
            request_type: RequestType::AdminAdd,
            rules: &rules,
            held: &held,
            ..base
        };
        let refused = decide(&sod).unwrap_err();
        assert_eq!(
            refused.iter().map(|i| i.code).collect::<Vec<_>>(),
            ["IncompatibleAccessPackage", "IncompatibleGroup"]
        );
        assert!(refused[0].message.contains("'Help Desk'"));
        // An administrator is asked no questions, but what they answer must fit the question.
        let admin = Facts {
            request_type: RequestType::AdminAdd,
            justification: None,
            answers: &[],
            ..base
        };
        assert!(decide(&admin).is_ok());
        let wrong = [Answer {
            question_id: "case".into(),
            value: "not a case".into(),
            display_value: None,
        }];
        let admin = Facts {
            answers: &wrong,
            ..admin
        };
        assert_eq!(codes(decide(&admin)), ["AnswerDoesNotMatchPattern"]);
    }

    #[test]
    fn schedules_are_refused_never_clamped() {
        let day = Expiration {
            kind: ExpirationType::AfterDuration,
            end_date_time: None,
            duration: Some(TimeDelta::days(1)),
        };
        let ask = |kind, duration: Option<TimeDelta>| AskedSchedule {
            start_date_time: None,
            expiration: Some(Expiration {
                kind,
                end_date_time: None,
                duration,
            }),
        };
        let min = TimeDelta::minutes(5);
        let long = ask(ExpirationType::AfterDuration, Some(TimeDelta::days(2)));
        let err = schedule(&day, &long, true, now(), min).unwrap_err();
        assert_eq!(err[0].code, "ExpirationRule");
        let forever = ask(ExpirationType::NoExpiration, None);
        assert_eq!(
            schedule(&day, &forever, true, now(), min).unwrap_err()[0].code,
            "ExpirationRule"
        );
        let short = ask(ExpirationType::AfterDuration, Some(TimeDelta::minutes(1)));
        assert_eq!(
            schedule(&day, &short, true, now(), min).unwrap_err()[0].code,
            "AssignmentDurationTooShort"
        );
        let hour = ask(ExpirationType::AfterDuration, Some(TimeDelta::hours(1)));
        assert_eq!(
            schedule(&day, &hour, true, now(), min).unwrap(),
            (now(), Some(now() + TimeDelta::hours(1)))
        );
        assert_eq!(
            schedule(
                &Expiration::default(),
                &AskedSchedule::default(),
                false,
                now(),
                min
            )
            .unwrap(),
            (now(), None)
        );
        // A later start is kept when the requestor may choose; the end counts from it.
        let later = AskedSchedule {
            start_date_time: Some(now() + TimeDelta::hours(1)),
            expiration: Some(Expiration {
                kind: ExpirationType::AfterDuration,
                end_date_time: None,
                duration: Some(TimeDelta::hours(2)),
            }),
        };
        assert_eq!(
            schedule(&day, &later, true, now(), min).unwrap(),
            (
                now() + TimeDelta::hours(1),
                Some(now() + TimeDelta::hours(3))
            )
        );
        assert_eq!(
            schedule(&day, &later, false, now(), min).unwrap_err()[0].code,
            "CustomScheduleNotAllowed"
        );
        // The policy's longest also counts from the start.
        let late = AskedSchedule {
            start_date_time: Some(now() + TimeDelta::days(3)),
            expiration: None,
        };
        assert_eq!(
            schedule(&day, &late, true, now(), min).unwrap(),
            (now() + TimeDelta::days(3), Some(now() + TimeDelta::days(4)))
        );
    }
}
