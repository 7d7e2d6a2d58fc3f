use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use super::decide::{self, UsageKind};
use super::query::{Reviewed, ReviewerQuery, parse_reviewer, parse_scope, pick_reviewers};
use super::*;
use crate::directory::PrincipalKind;

fn t(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, d, 9, 0, 0).unwrap()
}

fn party() -> Party {
    Party {
        id: Uuid::from_u128(1),
        display_name: "Ada".into(),
        user_principal_name: Some("ada@example.com".into()),
        kind: PrincipalKind::User,
    }
}

#[test]
fn scopes_graph_clients_send_are_read_into_their_meaning() {
    let g = "0f3c3a51-5f5b-4a4e-9d5c-0a6f1b2c3d4e";
    let id = Uuid::parse_str(g).unwrap();
    assert_eq!(
        parse_scope(&format!("/groups/{g}/transitiveMembers"))
            .unwrap()
            .reviewed,
        Reviewed::GroupMembers {
            group_id: id,
            transitive: true
        }
    );
    let users = parse_scope(&format!("/v1.0/groups/{g}/members/microsoft.graph.user/")).unwrap();
    assert!(users.users_only);
    assert_eq!(
        users.reviewed,
        Reviewed::GroupMembers {
            group_id: id,
            transitive: false
        }
    );
    let long = format!(
        "/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal&$filter=(isof(principal,'microsoft.graph.user') and roleDefinitionId eq '{g}')"
    );
    assert_eq!(
        parse_scope(&long).unwrap().reviewed,
        Reviewed::Role {
            role_id: id,
            eligible: true,
            active: false
        }
    );
    let active = format!(
        "/roleManagement/directory/roleAssignmentScheduleInstances?$filter=assignmentType eq 'Assigned' and roleDefinitionId eq '{g}'"
    );
    assert_eq!(
        parse_scope(&active).unwrap().reviewed,
        Reviewed::Role {
            role_id: id,
            eligible: false,
            active: true
        }
    );
    // Activations are not reviewed on their own: without the Assigned filter it is refused.
    assert!(parse_scope(&format!("/roleManagement/directory/roleAssignmentScheduleInstances?$filter=roleDefinitionId eq '{g}'")).is_none());
    assert_eq!(
        parse_scope(&format!("/identityGovernance/entitlementManagement/assignments?$filter=accessPackage/id eq '{g}'")).unwrap().reviewed,
        Reviewed::PackageAssignments { package_id: id }
    );
    assert_eq!(
        parse_scope(&format!("/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?$filter=groupId eq '{g}'")).unwrap().reviewed,
        Reviewed::GroupEligibility { group_id: id }
    );
    for bad in [
        "/groups",
        "/users",
        "/groups/not-a-guid/members",
        "/applications/x/owners",
        "",
    ] {
        assert!(parse_scope(bad).is_none(), "{bad}");
    }
    assert_eq!(
        parse_reviewer("./manager", Some("decisions")),
        Some(ReviewerQuery::Manager)
    );
    assert_eq!(parse_reviewer("./manager", Some("resource")), None);
    assert_eq!(
        parse_reviewer(&format!("/groups/{g}/owners"), None),
        Some(ReviewerQuery::GroupOwners { group_id: id })
    );
    assert_eq!(
        parse_reviewer(&format!("/users?$filter=id eq '{g}'"), None),
        None
    );
}

#[test]
fn the_reviewed_principal_never_reviews_themselves_except_in_a_self_review() {
    let (p, a, b) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    assert_eq!(pick_reviewers(p, &[], false, vec![p, a, a], vec![b]), [a]);
    // The manager query resolved to nobody but the principal: the fallback reviews.
    assert_eq!(pick_reviewers(p, &[], false, vec![p], vec![b, p]), [b]);
    assert_eq!(
        pick_reviewers(p, &[], false, vec![], vec![]),
        Vec::<Uuid>::new()
    );
    assert_eq!(pick_reviewers(p, &[], true, vec![a], vec![b]), [p]);
}

#[test]
fn those_who_hold_the_access_through_a_reviewed_group_never_review_it() {
    let (g, a, b, c) = (
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::from_u128(3),
        Uuid::from_u128(4),
    );
    // a is in the reviewed group g: of the group's members as reviewers, only c remains.
    assert_eq!(pick_reviewers(g, &[a, b], false, vec![a, c], vec![]), [c]);
    // When every primary reviewer is in it, the fallback reviews.
    assert_eq!(
        pick_reviewers(g, &[a, b], false, vec![a, b], vec![c, a]),
        [c]
    );
}

#[test]
fn recommendations_turn_at_the_edge_of_the_look_back_window() {
    let now = t(31);
    let window = TimeDelta::days(30);
    let rec = |last: Option<DateTime<Utc>>, granted: Option<DateTime<Utc>>| {
        decide::recommend(UsageKind::Activation, last, granted, true, window, now).0
    };
    // Exactly 30 days ago is within; a second more is not.
    assert_eq!(rec(Some(now - window), None), Recommendation::Approve);
    assert_eq!(
        rec(Some(now - window - TimeDelta::seconds(1)), None),
        Recommendation::Deny
    );
    assert_eq!(
        rec(None, Some(now - TimeDelta::days(90))),
        Recommendation::Deny
    );
    // Access younger than the window is not judged.
    assert_eq!(
        rec(None, Some(now - TimeDelta::days(3))),
        Recommendation::NoInfoAvailable
    );
    let (_, why) = decide::recommend(UsageKind::SignIn, None, None, true, window, now);
    assert_eq!(why, "no sign-in in the last 30 days (never)");
    let (r, _) = decide::recommend(UsageKind::SignIn, None, None, false, window, now);
    assert_eq!(r, Recommendation::NoInfoAvailable);
    assert!(decide::is_inactive(None, window, now));
    assert!(!decide::is_inactive(Some(now - window), window, now));
}

fn definition(body: serde_json::Value) -> Result<Definition, Vec<String>> {
    Definition::read(&body, Uuid::from_u128(99), party(), t(1)).map_err(|ps| {
        ps.into_iter()
            .map(|p| format!("{} {}", p.code, p.target))
            .collect()
    })
}

fn base() -> serde_json::Value {
    json!({
        "displayName": "Quarterly GA review",
        "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope", "queryType": "MicrosoftGraph",
                  "query": "/roleManagement/directory/roleDefinitions/62e90394-69f5-4237-9190-012177145e10"},
        "reviewers": [{"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}],
        "settings": {"instanceDurationInDays": 14, "recommendationsEnabled": true,
                     "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 3},
                                    "range": {"type": "numbered", "numberOfOccurrences": 2, "startDate": "2027-01-31"}}}
    })
}

#[test]
fn a_definition_is_read_with_its_recurrence_and_refused_with_every_problem() {
    let d = definition(base()).unwrap();
    let r = d.settings.recurrence.unwrap();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    assert_eq!(
        r.occurrence(0, nine),
        Some(Utc.with_ymd_and_hms(2027, 1, 31, 9, 0, 0).unwrap())
    );
    // A month without the 31st: its last day.
    assert_eq!(
        r.occurrence(1, nine),
        Some(Utc.with_ymd_and_hms(2027, 4, 30, 9, 0, 0).unwrap())
    );
    assert_eq!(r.occurrence(2, nine), None);
    assert_eq!(d.stages().len(), 1);

    let mut bad = base();
    bad["scope"]["query"] = json!("/users");
    bad["reviewers"] = json!([{"query": "/applications/1/owners"}]);
    bad["settings"]["recurrence"]["pattern"]["type"] = json!("relativeYearly");
    bad["settings"]["defaultDecision"] = json!("Maybe");
    bad["colour"] = json!("blue");
    let problems = definition(bad).unwrap_err();
    for expected in [
        "UnknownProperty colour",
        "UnsupportedScope scope.query",
        "UnsupportedReviewerQuery reviewers[0]",
        "UnsupportedRecurrence settings.recurrence.pattern.type",
        "InvalidValue settings.defaultDecision",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "{expected} in {problems:?}"
        );
    }
    let mut disable = base();
    disable["settings"]["applyActions"] = json!([
        {"@odata.type": "#microsoft.graph.removeAccessApplyAction"},
        {"@odata.type": "#microsoft.graph.disableAndDeleteUserApplyAction"}
    ]);
    assert_eq!(
        definition(disable).unwrap_err(),
        ["UnsupportedApplyAction settings.applyActions[1]"]
    );
    let mut long = base();
    long["settings"]["recurrence"]["pattern"] = json!({"type": "weekly", "interval": 1});
    assert_eq!(
        definition(long).unwrap_err(),
        ["UnsupportedRecurrence settings.instanceDurationInDays"]
    );
}

#[test]
fn stages_chain_and_only_the_first_may_be_a_self_review() {
    let mut body = base();
    body["settings"]["instanceDurationInDays"] = json!(null);
    body["stageSettings"] = json!([
        {"stageId": "1", "dependsOn": [], "durationInDays": 3, "decisionsThatWillMoveToNextStage": ["Approve", "NotReviewed"],
         "reviewers": []},
        {"stageId": "2", "dependsOn": ["1"], "durationInDays": 4,
         "reviewers": [{"query": "/users/00000000-0000-0000-0000-000000000009"}]}
    ]);
    let d = definition(body.clone()).unwrap();
    assert_eq!(d.settings.instance_duration_in_days, 7);
    assert_eq!(d.stages().len(), 2);
    body["stageSettings"][1]["reviewers"] = json!([]);
    body["stageSettings"][1]["dependsOn"] = json!(["9"]);
    assert_eq!(
        definition(body).unwrap_err(),
        [
            "InvalidStages stageSettings[1].dependsOn",
            "InvalidStages stageSettings[1].reviewers"
        ]
    );
}

fn item(stage: usize) -> DecisionItem {
    DecisionItem {
        id: Uuid::from_u128(7),
        instance_id: Uuid::from_u128(8),
        definition_id: Uuid::from_u128(9),
        stage,
        principal: party(),
        resource: ResourceRef {
            id: Uuid::from_u128(5),
            display_name: "GA".into(),
            kind: "directoryRole".into(),
        },
        access: Access::RoleEligible {
            role_id: Uuid::from_u128(5),
            scope: "/".into(),
        },
        decision: Decision::NotReviewed,
        recommendation: Recommendation::Deny,
        recommendation_reason: "no activation".into(),
        justification: None,
        reviewed_by: None,
        reviewed_date_time: None,
        applied_by: None,
        applied_date_time: None,
        apply_result: ApplyResult::New,
        reviewers: vec![Uuid::from_u128(2)],
        is_final: true,
        granted_at: None,
        last_used_at: None,
    }
}

fn instance(status: InstanceStatus, current_stage: usize) -> Instance {
    Instance {
        id: Uuid::from_u128(8),
        definition_id: Uuid::from_u128(9),
        start_date_time: t(1),
        end_date_time: t(15),
        status,
        stages: Vec::new(),
        current_stage,
        remind_at: None,
    }
}

#[test]
fn only_a_reviewer_of_the_decision_decides_and_only_while_its_stage_runs() {
    let reviewer = Uuid::from_u128(2);
    let running = instance(InstanceStatus::InProgress, 0);
    assert_eq!(decide::may_decide(&running, &item(0), reviewer), Ok(()));
    assert_eq!(
        decide::may_decide(&running, &item(0), Uuid::from_u128(1)),
        Err(Refusal::NotReviewer)
    );
    let done = instance(InstanceStatus::Completed, 0);
    assert_eq!(
        decide::may_decide(&done, &item(0), reviewer),
        Err(Refusal::NotInProgress)
    );
    let later = instance(InstanceStatus::InProgress, 1);
    assert_eq!(
        decide::may_decide(&later, &item(0), reviewer),
        Err(Refusal::MovedOn)
    );

    let mut settings = Settings::defaults();
    settings.justification_required_on_approval = true;
    let mut it = item(0);
    assert_eq!(
        decide::record(
            &mut it,
            &settings,
            Decision::Approve,
            Some("  ".into()),
            party(),
            t(2)
        ),
        Err(Refusal::JustificationRequired)
    );
    assert_eq!(
        decide::record(
            &mut it,
            &settings,
            Decision::NotReviewed,
            None,
            party(),
            t(2)
        ),
        Err(Refusal::InvalidDecision)
    );
    decide::record(&mut it, &settings, Decision::Deny, None, party(), t(2)).unwrap();
    assert!(decide::needs_removal(&it));
    it.apply_result = ApplyResult::AppliedSuccessfully;
    assert!(!decide::needs_removal(&it));
}

#[test]
fn an_unreviewed_decision_takes_the_default_only_when_enabled() {
    let mut settings = Settings::defaults();
    let mut it = item(0);
    decide::settle(&mut it, &settings, t(15));
    assert_eq!(it.decision, Decision::NotReviewed);
    settings.default_decision_enabled = true;
    settings.default_decision = settings::DefaultDecision::Recommendation;
    decide::settle(&mut it, &settings, t(15));
    assert_eq!(it.decision, Decision::Deny);
    let mut unknown = item(0);
    unknown.recommendation = Recommendation::NoInfoAvailable;
    decide::settle(&mut unknown, &settings, t(15));
    assert_eq!(unknown.decision, Decision::NotReviewed);
    // A reviewer's decision is never overwritten.
    let mut kept = item(0);
    kept.decision = Decision::Approve;
    settings.default_decision = settings::DefaultDecision::Deny;
    decide::settle(&mut kept, &settings, t(15));
    assert_eq!(kept.decision, Decision::Approve);
}
