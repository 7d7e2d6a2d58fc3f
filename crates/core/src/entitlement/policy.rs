//! Assignment policies: who may be assigned a package and who may ask for it, who approves,
//! what the requestor is asked, how long an assignment lasts, how it is reviewed. A policy is
//! read whole from what an administrator sends (POST, PUT; a PATCH is merged onto the stored
//! policy first), with every broken rule reported and nothing changed on any.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::approval::ApprovalSettings;
use super::expiration::Expiration;
use super::question::Question;
use super::read::{Fields, check_description, check_display_name, graph_enum};
use super::review::ReviewSettings;
use super::subject_set::{SubjectSet, Use, check_all};
use crate::invalid::Invalid;

graph_enum! {
    /// Who can be assigned the package through the policy.
    pub enum AllowedTargetScope {
        /// Nobody requests: administrators assign.
        NotSpecified = "notSpecified",
        SpecificDirectoryUsers = "specificDirectoryUsers",
        SpecificDirectoryServicePrincipals = "specificDirectoryServicePrincipals",
        AllMemberUsers = "allMemberUsers",
        AllDirectoryUsers = "allDirectoryUsers",
        AllDirectoryServicePrincipals = "allDirectoryServicePrincipals",
    }
}

impl AllowedTargetScope {
    fn is_specific(self) -> bool {
        matches!(
            self,
            AllowedTargetScope::SpecificDirectoryUsers
                | AllowedTargetScope::SpecificDirectoryServicePrincipals
        )
    }
}

graph_enum! {
    /// When a policy's custom extension is called.
    pub enum CustomExtensionStage {
        AssignmentRequestCreated = "assignmentRequestCreated",
        AssignmentRequestApproved = "assignmentRequestApproved",
        AssignmentRequestGranted = "assignmentRequestGranted",
        AssignmentRequestRemoved = "assignmentRequestRemoved",
        AssignmentFourteenDaysBeforeExpiration = "assignmentFourteenDaysBeforeExpiration",
        AssignmentOneDayBeforeExpiration = "assignmentOneDayBeforeExpiration",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestorSettings {
    pub enable_targets_to_self_add_access: bool,
    pub enable_targets_to_self_update_access: bool,
    pub enable_targets_to_self_remove_access: bool,
    pub allow_custom_assignment_schedule: bool,
    pub enable_on_behalf_requestors_to_add_access: bool,
    pub enable_on_behalf_requestors_to_update_access: bool,
    pub enable_on_behalf_requestors_to_remove_access: bool,
    pub on_behalf_requestors: Vec<SubjectSet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettings {
    pub is_assignment_notification_disabled: bool,
}

/// A custom extension called at a stage (`check_custom_extensions` holds it to the catalog).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomExtensionStageSetting {
    pub id: Option<String>,
    pub stage: CustomExtensionStage,
    pub custom_extension: ExtensionRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionRef {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentPolicy {
    pub id: Uuid,
    pub access_package_id: Uuid,
    pub catalog_id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub allowed_target_scope: AllowedTargetScope,
    pub specific_allowed_targets: Vec<SubjectSet>,
    pub expiration: Expiration,
    pub requestor_settings: RequestorSettings,
    pub request_approval_settings: ApprovalSettings,
    pub questions: Vec<Question>,
    pub review_settings: Option<ReviewSettings>,
    pub notification_settings: NotificationSettings,
    pub custom_extension_stage_settings: Vec<CustomExtensionStageSetting>,
    pub created_date_time: DateTime<Utc>,
    pub modified_date_time: DateTime<Utc>,
}

const FIELDS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "accessPackage",
    "accessPackageId",
    "catalog",
    "allowedTargetScope",
    "specificAllowedTargets",
    "expiration",
    "requestorSettings",
    "requestApprovalSettings",
    "questions",
    "reviewSettings",
    "notificationSettings",
    "customExtensionStageSettings",
    "createdDateTime",
    "modifiedDateTime",
    // Read-only or not offered by Eligo; accepted when a client sends back what it read.
    "automaticRequestSettings",
];

/// The package a POST body names: `accessPackage: {id}` (v1.0) or `accessPackageId` (beta).
pub fn package_of(body: &Value) -> Result<Uuid, Invalid> {
    let raw = body
        .pointer("/accessPackage/id")
        .or_else(|| body.get("accessPackageId"))
        .ok_or_else(|| Invalid::new("MissingField", "accessPackage.id", "is required"))?;
    raw.as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Invalid::new("InvalidValue", "accessPackage.id", "must be a GUID"))
}

/// Where a policy sits and when: what the server knows beside the body.
pub struct Placement {
    pub id: Uuid,
    pub access_package_id: Uuid,
    pub catalog_id: Uuid,
    pub created: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

impl AssignmentPolicy {
    /// Reads a whole policy from `body`. `fresh_id` names questions sent without an id.
    pub fn read(
        at: Placement,
        body: &Value,
        fresh_id: impl FnMut() -> String,
    ) -> Result<AssignmentPolicy, Vec<Invalid>> {
        let mut f = Fields::of(body, "");
        f.only(FIELDS);
        let display_name: Option<String> = f.required("displayName");
        if let Some(n) = &display_name {
            check_display_name(n, "displayName", &mut f.problems);
        }
        let description: Option<String> = f.opt("description");
        if let Some(d) = &description {
            check_description(d, "description", &mut f.problems);
        }
        if body.get("accessPackage").is_some() || body.get("accessPackageId").is_some() {
            match package_of(body) {
                Ok(p) if p == at.access_package_id => {}
                Ok(_) => f.push(
                    "PackageChangeNotSupported",
                    "accessPackage.id",
                    "a policy stays with its access package",
                ),
                Err(e) => f.problems.push(e),
            }
        }
        let scope = f
            .opt::<AllowedTargetScope>("allowedTargetScope")
            .unwrap_or(AllowedTargetScope::NotSpecified);
        let targets: Vec<SubjectSet> = f.list("specificAllowedTargets");
        check_all(
            &targets,
            Use::AllowedTargets,
            "specificAllowedTargets",
            &mut f.problems,
        );
        let expiration = Expiration::read(&mut f, at.now);
        let requestor_settings = f
            .sub("requestorSettings")
            .map(|mut r| {
                r.only(&[
                    "enableTargetsToSelfAddAccess",
                    "enableTargetsToSelfUpdateAccess",
                    "enableTargetsToSelfRemoveAccess",
                    "allowCustomAssignmentSchedule",
                    "enableOnBehalfRequestorsToAddAccess",
                    "enableOnBehalfRequestorsToUpdateAccess",
                    "enableOnBehalfRequestorsToRemoveAccess",
                    "onBehalfRequestors",
                ]);
                let flag = |r: &mut Fields, k: &str| r.opt::<bool>(k).unwrap_or(false);
                let s = RequestorSettings {
                    enable_targets_to_self_add_access: flag(&mut r, "enableTargetsToSelfAddAccess"),
                    enable_targets_to_self_update_access: flag(
                        &mut r,
                        "enableTargetsToSelfUpdateAccess",
                    ),
                    enable_targets_to_self_remove_access: flag(
                        &mut r,
                        "enableTargetsToSelfRemoveAccess",
                    ),
                    allow_custom_assignment_schedule: flag(&mut r, "allowCustomAssignmentSchedule"),
                    enable_on_behalf_requestors_to_add_access: flag(
                        &mut r,
                        "enableOnBehalfRequestorsToAddAccess",
                    ),
                    enable_on_behalf_requestors_to_update_access: flag(
                        &mut r,
                        "enableOnBehalfRequestorsToUpdateAccess",
                    ),
                    enable_on_behalf_requestors_to_remove_access: flag(
                        &mut r,
                        "enableOnBehalfRequestorsToRemoveAccess",
                    ),
                    on_behalf_requestors: r.list("onBehalfRequestors"),
                };
                let at = r.at("onBehalfRequestors");
                check_all(&s.on_behalf_requestors, Use::Relative, &at, &mut r.problems);
                f.absorb(r);
                s
            })
            .unwrap_or_default();
        let request_approval_settings = ApprovalSettings::read(&mut f);
        let questions = Question::read_all(&mut f, fresh_id);
        let review_settings = ReviewSettings::read(&mut f, at.now);
        let notification_settings = f
            .sub("notificationSettings")
            .map(|mut n| {
                n.only(&["isAssignmentNotificationDisabled"]);
                let s = NotificationSettings {
                    is_assignment_notification_disabled: n
                        .opt("isAssignmentNotificationDisabled")
                        .unwrap_or(false),
                };
                f.absorb(n);
                s
            })
            .unwrap_or_default();
        let custom_extension_stage_settings: Vec<CustomExtensionStageSetting> =
            f.list("customExtensionStageSettings");

        // Rules between fields.
        let rs = &requestor_settings;
        if scope.is_specific()
            && targets.is_empty()
            && !f.has_problem_under("specificAllowedTargets")
        {
            f.push(
                "MissingAllowedTargets",
                "specificAllowedTargets",
                format!("{} needs at least one subject set", scope.as_str()),
            );
        }
        if !scope.is_specific() && !targets.is_empty() {
            f.push(
                "UnexpectedAllowedTargets",
                "specificAllowedTargets",
                "only read with specificDirectoryUsers or specificDirectoryServicePrincipals; leave it empty",
            );
        }
        let self_service = rs.enable_targets_to_self_add_access
            || rs.enable_targets_to_self_update_access
            || rs.enable_on_behalf_requestors_to_add_access;
        if scope == AllowedTargetScope::NotSpecified
            && self_service
            && !f.has_problem_under("allowedTargetScope")
        {
            f.push(
                "InvalidAllowedTargetScope",
                "allowedTargetScope",
                "requests need someone to be allowed: notSpecified means administrators assign only",
            );
        }
        let on_behalf = rs.enable_on_behalf_requestors_to_add_access
            || rs.enable_on_behalf_requestors_to_update_access
            || rs.enable_on_behalf_requestors_to_remove_access;
        if on_behalf
            && rs.on_behalf_requestors.is_empty()
            && !f.has_problem_under("requestorSettings")
        {
            f.push(
                "MissingOnBehalfRequestors",
                "requestorSettings.onBehalfRequestors",
                "requests on behalf of others need onBehalfRequestors",
            );
        }
        if custom_extension_stage_settings.len() > 10 {
            f.push(
                "TooManyCustomExtensions",
                "customExtensionStageSettings",
                "at most 10",
            );
        }
        if !f.problems.is_empty() {
            return Err(f.problems);
        }
        Ok(AssignmentPolicy {
            id: at.id,
            access_package_id: at.access_package_id,
            catalog_id: at.catalog_id,
            display_name: display_name.unwrap_or_default(),
            description,
            allowed_target_scope: scope,
            specific_allowed_targets: targets,
            expiration,
            requestor_settings,
            request_approval_settings,
            questions,
            review_settings,
            notification_settings,
            custom_extension_stage_settings,
            created_date_time: at.created,
            modified_date_time: at.now,
        })
    }

    /// The reader's rule that needs the catalog: every `customExtensionStageSettings` entry
    /// names, by its GUID, a custom extension of the package's catalog (`known`), and each
    /// stage is named once (one call per stage). Called with every read, POST and PATCH alike.
    pub fn check_custom_extensions(
        &self,
        known: &std::collections::BTreeSet<Uuid>,
    ) -> Result<(), Vec<Invalid>> {
        let mut problems = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in self.custom_extension_stage_settings.iter().enumerate() {
            let at = format!("customExtensionStageSettings[{i}]");
            match Uuid::parse_str(&s.custom_extension.id) {
                Ok(id) if known.contains(&id) => {}
                _ => problems.push(Invalid::new(
                    "UnknownCustomExtension",
                    format!("{at}.customExtension.id"),
                    "no custom extension of this access package's catalog has this id",
                )),
            }
            if !seen.insert(s.stage.as_str()) {
                problems.push(Invalid::new(
                    "DuplicateStage",
                    format!("{at}.stage"),
                    format!("{} is named more than once", s.stage.as_str()),
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The custom extension this policy calls at `stage`.
    pub fn extension_at(&self, stage: CustomExtensionStage) -> Option<Uuid> {
        self.custom_extension_stage_settings
            .iter()
            .find(|s| s.stage == stage)
            .and_then(|s| Uuid::parse_str(&s.custom_extension.id).ok())
    }

    /// The policy as Graph shows it (without the server's relations `accessPackage` and
    /// `catalog`, which the API adds).
    pub fn to_graph(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("accessPackageId");
            o.remove("catalogId");
        }
        v
    }

    /// A PATCH: `body`'s top-level fields replace the stored ones, then the whole is read again.
    pub fn merged(&self, body: &Value) -> Result<Value, Vec<Invalid>> {
        let Some(patch) = body.as_object() else {
            return Err(vec![Invalid::new(
                "InvalidValue",
                "body",
                "must be a JSON object",
            )]);
        };
        let mut base: Map<String, Value> = self.to_graph().as_object().cloned().unwrap_or_default();
        for (k, v) in patch {
            base.insert(k.clone(), v.clone());
        }
        Ok(Value::Object(base))
    }

    /// Every subject set of the policy with its path (to check that what each names exists).
    pub fn subject_sets(&self) -> Vec<(String, &SubjectSet)> {
        let mut lists: Vec<(String, &[SubjectSet])> = vec![
            (
                "specificAllowedTargets".into(),
                &self.specific_allowed_targets,
            ),
            (
                "requestorSettings.onBehalfRequestors".into(),
                &self.requestor_settings.on_behalf_requestors,
            ),
        ];
        for (i, s) in self.request_approval_settings.stages.iter().enumerate() {
            let at = |f: &str| format!("requestApprovalSettings.stages[{i}].{f}");
            lists.push((at("primaryApprovers"), &s.primary_approvers));
            lists.push((
                at("fallbackPrimaryApprovers"),
                &s.fallback_primary_approvers,
            ));
            lists.push((at("escalationApprovers"), &s.escalation_approvers));
            lists.push((
                at("fallbackEscalationApprovers"),
                &s.fallback_escalation_approvers,
            ));
        }
        if let Some(r) = &self.review_settings {
            lists.push((
                "reviewSettings.primaryReviewers".into(),
                &r.primary_reviewers,
            ));
            lists.push((
                "reviewSettings.fallbackReviewers".into(),
                &r.fallback_reviewers,
            ));
        }
        lists
            .into_iter()
            .flat_map(|(at, sets)| {
                sets.iter()
                    .enumerate()
                    .map(move |(i, s)| (format!("{at}[{i}]"), s))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn place() -> Placement {
        Placement {
            id: Uuid::from_u128(1),
            access_package_id: Uuid::from_u128(2),
            catalog_id: Uuid::from_u128(3),
            created: DateTime::<Utc>::UNIX_EPOCH,
            now: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn read(body: Value) -> Result<AssignmentPolicy, Vec<String>> {
        AssignmentPolicy::read(place(), &body, || "fresh".into()).map_err(|p| {
            p.iter()
                .map(|p| format!("{} {}", p.code, p.target))
                .collect()
        })
    }

    /// The scenario's policy: members of the directory request with a justification, the
    /// manager approves in one stage, 30 days, a quarterly review.
    pub fn insider_risk() -> Value {
        json!({
            "displayName": "Employees, manager approval",
            "accessPackage": {"id": Uuid::from_u128(2)},
            "allowedTargetScope": "AllMemberUsers",
            "specificAllowedTargets": [],
            "expiration": {"type": "afterDuration", "duration": "P30D"},
            "requestorSettings": {"enableTargetsToSelfAddAccess": true, "enableTargetsToSelfRemoveAccess": true,
                                  "enableTargetsToSelfUpdateAccess": true, "onBehalfRequestors": []},
            "requestApprovalSettings": {"isApprovalRequiredForAdd": true, "isApprovalRequiredForUpdate": true,
                "isRequestorJustificationRequired": true,
                "stages": [{"durationBeforeAutomaticDenial": "P2D", "isApproverJustificationRequired": false,
                    "isEscalationEnabled": false, "durationBeforeEscalation": "PT0S",
                    "primaryApprovers": [{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}],
                    "fallbackPrimaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": Uuid::from_u128(9)}]}]},
            "questions": [{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "text": "Case number",
                           "isRequired": true, "regexPattern": "^IRM-[0-9]+$"}],
            "reviewSettings": {"isEnabled": true, "expirationBehavior": "removeAccess", "isSelfReview": false,
                "primaryReviewers": [{"@odata.type": "#microsoft.graph.requestorManager"}],
                "schedule": {"startDateTime": "2030-01-01T00:00:00Z", "expiration": {"type": "afterDuration", "duration": "P14D"},
                             "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 3}, "range": {"type": "noEnd"}}}},
            "notificationSettings": {"isAssignmentNotificationDisabled": false},
            "customExtensionStageSettings": [{"stage": "assignmentRequestCreated", "customExtension": {"id": "ext-1"}}],
        })
    }

    #[test]
    fn the_scenario_policy_reads_and_round_trips() {
        let p = read(insider_risk()).unwrap();
        assert_eq!(p.allowed_target_scope, AllowedTargetScope::AllMemberUsers);
        assert_eq!(p.questions[0].id, "fresh");
        let graph = p.to_graph();
        assert_eq!(graph["allowedTargetScope"], "allMemberUsers");
        assert_eq!(graph["expiration"]["duration"], "P30D");
        assert!(graph.get("accessPackageId").is_none());
        let again = AssignmentPolicy::read(place(), &graph, || unreachable!()).unwrap();
        assert_eq!(again, p);
        let back: AssignmentPolicy =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert_eq!(p.subject_sets().len(), 3, "manager, fallback, reviewer");
    }

    #[test]
    fn every_broken_rule_once() {
        let mut body = insider_risk();
        body["allowedTargetScope"] = json!("specificDirectoryUsers");
        body["expiration"] = json!({"type": "afterDuration", "duration": "-P5D"});
        body["questions"][0]["regexPattern"] = json!("(unclosed");
        body["requestApprovalSettings"]["stages"] = json!([{}, {}, {}, {}]);
        body["requestorSettings"]["enableOnBehalfRequestorsToAddAccess"] = json!(true);
        body["colour"] = json!("blue");
        assert_eq!(
            read(body).unwrap_err(),
            [
                "UnknownProperty colour",
                "InvalidDuration expiration.duration",
                "TooManyApprovalStages requestApprovalSettings.stages",
                "MissingApprovers requestApprovalSettings.stages[0].primaryApprovers",
                "MissingApprovers requestApprovalSettings.stages[1].primaryApprovers",
                "MissingApprovers requestApprovalSettings.stages[2].primaryApprovers",
                "MissingApprovers requestApprovalSettings.stages[3].primaryApprovers",
                "InvalidRegexPattern questions[0].regexPattern",
                "MissingAllowedTargets specificAllowedTargets",
                "MissingOnBehalfRequestors requestorSettings.onBehalfRequestors",
            ]
        );
        assert_eq!(
            read(json!({"displayName": "x", "allowedTargetScope": "everyone",
                        "requestorSettings": {"enableTargetsToSelfAddAccess": true}}))
            .unwrap_err(),
            ["InvalidValue allowedTargetScope"],
            "a scope that does not read is reported once"
        );
        assert_eq!(
            read(
                json!({"displayName": "x", "allowedTargetScope": "notSpecified",
                        "requestorSettings": {"enableTargetsToSelfAddAccess": true}})
            )
            .unwrap_err(),
            ["InvalidAllowedTargetScope allowedTargetScope"]
        );
    }

    #[test]
    fn a_patch_merges_then_reads_again() {
        let p = read(insider_risk()).unwrap();
        let merged = p.merged(&json!({"displayName": "Renamed"})).unwrap();
        let q = AssignmentPolicy::read(place(), &merged, || unreachable!()).unwrap();
        assert_eq!(q.display_name, "Renamed");
        assert_eq!(q.questions, p.questions);
    }

    #[test]
    fn custom_extensions_are_the_catalogs_and_each_stage_is_named_once() {
        let ext = Uuid::from_u128(77);
        let mut body = insider_risk();
        body["customExtensionStageSettings"] = json!([
            {"stage": "assignmentRequestCreated", "customExtension": {"id": ext}},
            {"stage": "assignmentRequestGranted", "customExtension": {"id": ext}},
        ]);
        let p = read(body.clone()).unwrap();
        let known = std::collections::BTreeSet::from([ext]);
        assert!(p.check_custom_extensions(&known).is_ok());
        assert_eq!(
            p.extension_at(CustomExtensionStage::AssignmentRequestGranted),
            Some(ext)
        );
        assert_eq!(
            p.extension_at(CustomExtensionStage::AssignmentRequestRemoved),
            None
        );
        // Another catalog's (unknown here), a non-GUID, a stage twice.
        body["customExtensionStageSettings"] = json!([
            {"stage": "assignmentRequestCreated", "customExtension": {"id": Uuid::from_u128(78)}},
            {"stage": "assignmentRequestCreated", "customExtension": {"id": "ext-1"}},
        ]);
        let err = read(body)
            .unwrap()
            .check_custom_extensions(&known)
            .unwrap_err();
        let got: Vec<_> = err.iter().map(|i| (i.code, i.target.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    "UnknownCustomExtension",
                    "customExtensionStageSettings[0].customExtension.id"
                ),
                (
                    "UnknownCustomExtension",
                    "customExtensionStageSettings[1].customExtension.id"
                ),
                ("DuplicateStage", "customExtensionStageSettings[1].stage"),
            ]
        );
    }
}
