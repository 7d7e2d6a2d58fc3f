//! Who may request a package, and under which of its policies: the decisions
//! `filterByCurrentUser(on='allowedRequestor')` and `getApplicablePolicyRequirements` answer,
//! and that a request will be held to. The facts (groups now, the manager chain, the kind of
//! principal) are resolved by the server at the moment of the decision and passed in.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::policy::{AllowedTargetScope, AssignmentPolicy};
use super::question::Question;

/// What kind of principal someone is, as allowedTargetScope tells them apart. Eligo has no
/// guests: every user is a member user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalSort {
    User,
    ServicePrincipal,
    /// A group never requests and is never a target.
    Group,
}

/// One principal as a decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalFacts {
    pub id: Uuid,
    pub sort: PrincipalSort,
    /// Every group it belongs to now (direct, nested or activated).
    pub groups: BTreeSet<Uuid>,
    /// Its manager first, then the manager's manager (as far as the caller looked: at least
    /// `subject_set::MAX_MANAGER_LEVEL`).
    pub managers: Vec<Uuid>,
    /// Its sponsors (Eligo keeps none yet: empty).
    pub sponsors: Vec<Uuid>,
}

impl PrincipalFacts {
    pub fn new(id: Uuid, sort: PrincipalSort) -> Self {
        Self {
            id,
            sort,
            groups: BTreeSet::new(),
            managers: Vec::new(),
            sponsors: Vec::new(),
        }
    }
}

/// The caller, and the people they could request for: those whose manager chain names them
/// (on-behalf requests by a manager, `requestorManager` in `onBehalfRequestors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestorFacts {
    pub me: PrincipalFacts,
    pub reports: Vec<PrincipalFacts>,
}

/// May `target` be assigned the package through `policy` (allowedTargetScope and
/// specificAllowedTargets)?
pub fn is_allowed_target(policy: &AssignmentPolicy, target: &PrincipalFacts) -> bool {
    use AllowedTargetScope::*;
    let user = target.sort == PrincipalSort::User;
    let sp = target.sort == PrincipalSort::ServicePrincipal;
    let named = || {
        policy
            .specific_allowed_targets
            .iter()
            .any(|s| s.contains(target, target))
    };
    match policy.allowed_target_scope {
        NotSpecified => false,
        AllMemberUsers | AllDirectoryUsers => user,
        AllDirectoryServicePrincipals => sp,
        SpecificDirectoryUsers => user && named(),
        SpecificDirectoryServicePrincipals => sp && named(),
    }
}

/// May `me` request the package for themselves through `policy`?
pub fn may_request_for_self(policy: &AssignmentPolicy, me: &PrincipalFacts) -> bool {
    policy.requestor_settings.enable_targets_to_self_add_access && is_allowed_target(policy, me)
}

/// May `requestor` request the package for `target` through `policy` (an on-behalf request)?
/// `requestorManager` in `onBehalfRequestors` names the target's manager.
pub fn may_request_on_behalf(
    policy: &AssignmentPolicy,
    requestor: &PrincipalFacts,
    target: &PrincipalFacts,
) -> bool {
    let s = &policy.requestor_settings;
    requestor.id != target.id
        && s.enable_on_behalf_requestors_to_add_access
        && is_allowed_target(policy, target)
        && s.on_behalf_requestors
            .iter()
            .any(|set| set.contains(requestor, target))
}

/// Is the caller an allowed requestor of `policy`: for themselves, or on behalf of someone
/// they could request for?
pub fn may_request(policy: &AssignmentPolicy, facts: &RequestorFacts) -> bool {
    may_request_for_self(policy, &facts.me)
        || facts
            .reports
            .iter()
            .any(|t| may_request_on_behalf(policy, &facts.me, t))
}

/// The policies of a package under which `me` may request it for themselves (or, with
/// `target`, for that person), in the order given.
pub fn applicable_policies<'a>(
    policies: &'a [AssignmentPolicy],
    me: &PrincipalFacts,
    target: Option<&PrincipalFacts>,
) -> Vec<&'a AssignmentPolicy> {
    policies
        .iter()
        .filter(|p| match target {
            Some(t) if t.id != me.id => may_request_on_behalf(p, me, t),
            _ => may_request_for_self(p, me),
        })
        .collect()
}

/// What a requestor must provide under a policy (Graph's
/// `accessPackageAssignmentRequestRequirements`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirements {
    pub policy_id: Uuid,
    pub policy_display_name: String,
    pub policy_description: Option<String>,
    pub is_approval_required_for_add: bool,
    pub is_approval_required_for_update: bool,
    pub is_requestor_justification_required: bool,
    pub allow_custom_assignment_schedule: bool,
    pub questions: Vec<Question>,
    pub existing_answers: Vec<Value>,
    pub schedule: Value,
}

impl Requirements {
    pub fn of(policy: &AssignmentPolicy) -> Self {
        let a = &policy.request_approval_settings;
        Self {
            policy_id: policy.id,
            policy_display_name: policy.display_name.clone(),
            policy_description: policy.description.clone(),
            is_approval_required_for_add: a.is_approval_required_for_add,
            is_approval_required_for_update: a.is_approval_required_for_update,
            is_requestor_justification_required: a.is_requestor_justification_required,
            allow_custom_assignment_schedule: policy
                .requestor_settings
                .allow_custom_assignment_schedule,
            questions: policy.questions.clone(),
            existing_answers: Vec::new(),
            schedule: json!({ "startDateTime": null, "expiration": policy.expiration }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::policy::Placement;
    use chrono::{DateTime, Utc};

    fn policy(body: Value) -> AssignmentPolicy {
        let at = Placement {
            id: Uuid::from_u128(1),
            access_package_id: Uuid::from_u128(2),
            catalog_id: Uuid::from_u128(3),
            created: DateTime::<Utc>::UNIX_EPOCH,
            now: DateTime::<Utc>::UNIX_EPOCH,
        };
        let mut body = body;
        body["displayName"] = json!("p");
        AssignmentPolicy::read(at, &body, || "q".into()).unwrap()
    }

    fn person(n: u128) -> PrincipalFacts {
        PrincipalFacts::new(Uuid::from_u128(n), PrincipalSort::User)
    }

    const GROUP: u128 = 50;
    const ALICE: u128 = 10;

    fn check(p: &AssignmentPolicy, facts: &RequestorFacts, expect: bool) {
        assert_eq!(
            may_request(p, facts),
            expect,
            "{:?} for {:?}",
            p.allowed_target_scope,
            facts.me.id
        );
    }

    #[test]
    fn who_may_request() {
        let selfservice = json!({"enableTargetsToSelfAddAccess": true});
        let all = policy(
            json!({"allowedTargetScope": "allMemberUsers", "requestorSettings": selfservice}),
        );
        let admins_only = policy(json!({"allowedTargetScope": "notSpecified"}));
        let no_self = policy(json!({"allowedTargetScope": "allDirectoryUsers"}));
        let alice = policy(
            json!({"allowedTargetScope": "specificDirectoryUsers", "requestorSettings": selfservice,
            "specificAllowedTargets": [{"@odata.type": "#microsoft.graph.singleUser", "userId": Uuid::from_u128(ALICE)}]}),
        );
        let group = policy(
            json!({"allowedTargetScope": "SpecificDirectoryUsers", "requestorSettings": selfservice,
            "specificAllowedTargets": [{"@odata.type": "#microsoft.graph.groupMembers", "groupId": Uuid::from_u128(GROUP)}]}),
        );
        let sps = policy(
            json!({"allowedTargetScope": "allDirectoryServicePrincipals", "requestorSettings": selfservice}),
        );

        let alone = |p: PrincipalFacts| RequestorFacts {
            me: p,
            reports: vec![],
        };
        let mut member = person(11);
        member.groups.insert(Uuid::from_u128(GROUP));
        let sp = PrincipalFacts::new(Uuid::from_u128(12), PrincipalSort::ServicePrincipal);

        for (p, facts, expect) in [
            (&all, alone(person(ALICE)), true),
            (&all, alone(sp.clone()), false),
            (&admins_only, alone(person(ALICE)), false),
            (&no_self, alone(person(ALICE)), false),
            (&alice, alone(person(ALICE)), true),
            (&alice, alone(person(11)), false),
            (&group, alone(member.clone()), true),
            (&group, alone(person(ALICE)), false),
            (&sps, alone(sp.clone()), true),
            (&sps, alone(person(ALICE)), false),
        ] {
            check(p, &facts, expect);
        }
    }

    #[test]
    fn managers_request_for_their_reports() {
        let p = policy(json!({"allowedTargetScope": "allMemberUsers",
            "requestorSettings": {"enableOnBehalfRequestorsToAddAccess": true,
                "onBehalfRequestors": [{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 2}]}}));
        let boss = person(1);
        let manager = person(2);
        let mut report = person(3);
        report.managers = vec![manager.id, boss.id];
        let facts = |me: &PrincipalFacts| RequestorFacts {
            me: me.clone(),
            reports: vec![report.clone()],
        };
        check(&p, &facts(&boss), true);
        check(&p, &facts(&manager), false);
        check(
            &p,
            &RequestorFacts {
                me: boss.clone(),
                reports: vec![],
            },
            false,
        );
        assert!(!may_request_for_self(&p, &boss), "on behalf only");
        assert_eq!(
            applicable_policies(std::slice::from_ref(&p), &boss, Some(&report)).len(),
            1
        );
        assert!(applicable_policies(std::slice::from_ref(&p), &boss, None).is_empty());
    }

    #[test]
    fn requirements_say_what_to_bring() {
        let p = policy(json!({"allowedTargetScope": "allMemberUsers",
            "requestorSettings": {"enableTargetsToSelfAddAccess": true, "allowCustomAssignmentSchedule": true},
            "expiration": {"type": "afterDuration", "duration": "P30D"},
            "requestApprovalSettings": {"isRequestorJustificationRequired": true}}));
        let r = serde_json::to_value(Requirements::of(&p)).unwrap();
        assert_eq!(r["isRequestorJustificationRequired"], true);
        assert_eq!(r["allowCustomAssignmentSchedule"], true);
        assert_eq!(r["schedule"]["expiration"]["duration"], "P30D");
        assert_eq!(r["policyId"], json!(Uuid::from_u128(1)));
    }
}
