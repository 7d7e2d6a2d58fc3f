//! Custom extensions (Graph's `accessPackageAssignmentRequestWorkflowExtension`): an endpoint
//! in a catalog that Eligo calls, with a signed event, when an assignment request reaches a
//! stage its policy names (`customExtensionStageSettings`). With a `callbackConfiguration`, a
//! call at `assignmentRequestCreated` makes the request wait (`pendingApproval`, status
//! `WaitingForCallback`) until the endpoint resumes it, or its `timeoutDuration` passes.
//!
//! Read here: the body (every broken rule under its path), a PATCH merged onto the stored
//! extension, and the callout a request waits on. The URL's reachability (the outbound rules)
//! is the server's to check.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::policy::CustomExtensionStage;
use super::read::{
    Fields, check_description, check_display_name, duration, graph_enum, odata_type,
};
use crate::invalid::Invalid;

graph_enum! {
    /// Where the endpoint is: a Logic App's trigger URL, or any HTTP endpoint.
    pub enum EndpointKind {
        LogicAppTriggerEndpointConfiguration = "logicAppTriggerEndpointConfiguration",
        HttpRequestEndpoint = "httpRequestEndpoint",
    }
}

/// Where Eligo posts the events (`endpointConfiguration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub kind: EndpointKind,
    pub url: String,
    /// A Logic App's coordinates, kept as sent (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logic_app_workflow_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomExtension {
    pub id: Uuid,
    pub catalog_id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub endpoint: Endpoint,
    /// With a callback: how long a request waits for it before it is denied (`TimedOut`).
    #[serde(default, with = "crate::policy::iso_duration_opt")]
    pub callback_timeout: Option<TimeDelta>,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
}

/// The longest a request may wait for a callback (Graph allows 5 minutes to 14 days).
pub const MAX_CALLBACK_TIMEOUT: TimeDelta = TimeDelta::days(14);
const MIN_CALLBACK_TIMEOUT: TimeDelta = TimeDelta::minutes(5);
const MAX_URL: usize = 2048;
const ODATA_TYPE: &str = "accessPackageAssignmentRequestWorkflowExtension";

const FIELDS: &[&str] = &[
    "@odata.type",
    "id",
    "displayName",
    "description",
    "endpointConfiguration",
    "callbackConfiguration",
    "authenticationConfiguration",
    "clientConfiguration",
    "createdDateTime",
    "lastModifiedDateTime",
    "createdBy",
    "lastModifiedBy",
];

impl CustomExtension {
    /// A new extension from a POST body.
    pub fn create(
        id: Uuid,
        catalog_id: Uuid,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Self, Vec<Invalid>> {
        let mut e = CustomExtension {
            id,
            catalog_id,
            display_name: String::new(),
            description: None,
            endpoint: Endpoint {
                kind: EndpointKind::HttpRequestEndpoint,
                url: String::new(),
                subscription_id: None,
                resource_group_name: None,
                logic_app_workflow_name: None,
            },
            callback_timeout: None,
            created_date_time: now,
            last_modified_date_time: now,
        };
        e.apply(body, true, now)?;
        Ok(e)
    }

    /// A PATCH: only the fields present change; on any problem nothing does.
    pub fn update(&mut self, body: &Value, now: DateTime<Utc>) -> Result<(), Vec<Invalid>> {
        let mut next = self.clone();
        next.apply(body, false, now)?;
        *self = next;
        Ok(())
    }

    fn apply(
        &mut self,
        body: &Value,
        creating: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Vec<Invalid>> {
        let mut f = Fields::of(body, "");
        f.only(FIELDS);
        if let Some(t) = odata_type(body)
            && !t.eq_ignore_ascii_case(ODATA_TYPE)
        {
            f.push(
                "InvalidODataType",
                "@odata.type",
                format!("must be #microsoft.graph.{ODATA_TYPE}"),
            );
        }
        if (creating || f.has("displayName"))
            && let Some(name) = f.required::<String>("displayName")
        {
            check_display_name(&name, "displayName", &mut f.problems);
            self.display_name = name;
        }
        if f.has("description") {
            self.description = f.opt::<String>("description");
            if let Some(d) = &self.description {
                check_description(d, "description", &mut f.problems);
            }
        }
        match f.sub("endpointConfiguration") {
            Some(mut e) => {
                if let Some(endpoint) = read_endpoint(&mut e) {
                    self.endpoint = endpoint;
                }
                f.absorb(e);
            }
            None if creating => f.push("MissingField", "endpointConfiguration", "is required"),
            None => {}
        }
        if f.has("callbackConfiguration") {
            self.callback_timeout = None;
            if let Some(mut c) = f.sub("callbackConfiguration") {
                c.only(&["@odata.type", "timeoutDuration", "authorizedApps"]);
                self.callback_timeout =
                    match duration(&mut c, "timeoutDuration", MAX_CALLBACK_TIMEOUT) {
                        Some(d) if d < MIN_CALLBACK_TIMEOUT => {
                            c.push(
                                "InvalidDuration",
                                "timeoutDuration",
                                "must be at least PT5M",
                            );
                            None
                        }
                        Some(d) => Some(d),
                        None if c.has("timeoutDuration") => None,
                        None => {
                            c.push("MissingField", "timeoutDuration", "is required");
                            None
                        }
                    };
                f.absorb(c);
            }
        }
        self.last_modified_date_time = now;
        if f.problems.is_empty() {
            Ok(())
        } else {
            Err(f.problems)
        }
    }

    /// The extension as Graph shows it.
    pub fn to_graph(&self) -> Value {
        let mut endpoint = serde_json::json!({
            "@odata.type": format!("#microsoft.graph.{}", self.endpoint.kind.as_str()),
        });
        let url_field = match self.endpoint.kind {
            EndpointKind::LogicAppTriggerEndpointConfiguration => "url",
            EndpointKind::HttpRequestEndpoint => "targetUrl",
        };
        endpoint[url_field] = self.endpoint.url.clone().into();
        for (k, v) in [
            ("subscriptionId", &self.endpoint.subscription_id),
            ("resourceGroupName", &self.endpoint.resource_group_name),
            (
                "logicAppWorkflowName",
                &self.endpoint.logic_app_workflow_name,
            ),
        ] {
            if let Some(v) = v {
                endpoint[k] = v.clone().into();
            }
        }
        serde_json::json!({
            "@odata.type": format!("#microsoft.graph.{ODATA_TYPE}"),
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "endpointConfiguration": endpoint,
            "callbackConfiguration": self.callback_timeout.map(|d| serde_json::json!({
                "@odata.type": "#microsoft.graph.customExtensionCallbackConfiguration",
                "timeoutDuration": crate::duration::format_duration(d),
            })),
            "createdDateTime": self.created_date_time,
            "lastModifiedDateTime": self.last_modified_date_time,
        })
    }
}

fn read_endpoint(e: &mut Fields) -> Option<Endpoint> {
    e.only(&[
        "@odata.type",
        "url",
        "targetUrl",
        "subscriptionId",
        "resourceGroupName",
        "logicAppWorkflowName",
    ]);
    let t: Option<String> = e.required("@odata.type");
    let t = t.map(|t| {
        let t = t.strip_prefix('#').unwrap_or(&t);
        t.strip_prefix("microsoft.graph.").unwrap_or(t).to_string()
    });
    let kind = t.as_deref().and_then(EndpointKind::parse);
    if t.is_some() && kind.is_none() {
        e.push(
            "InvalidEndpoint",
            "@odata.type",
            "must be #microsoft.graph.logicAppTriggerEndpointConfiguration or #microsoft.graph.httpRequestEndpoint",
        );
    }
    let field = if e.has("targetUrl") {
        "targetUrl"
    } else {
        "url"
    };
    let url: Option<String> = e.required(field);
    if let Some(u) = &url
        && let Err(m) = check_url(u)
    {
        e.push("InvalidUrl", field, m);
    }
    let endpoint = Endpoint {
        kind: kind?,
        url: url?,
        subscription_id: e.opt("subscriptionId"),
        resource_group_name: e.opt("resourceGroupName"),
        logic_app_workflow_name: e.opt("logicAppWorkflowName"),
    };
    e.problems.is_empty().then_some(endpoint)
}

/// The shape of a URL events are posted to: absolute http(s), a host, no user info, no
/// fragment. Where it points is checked by the server against the outbound rules.
fn check_url(u: &str) -> Result<(), &'static str> {
    if u.len() > MAX_URL || u.trim() != u {
        return Err("must be an absolute http or https URL of at most 2048 characters");
    }
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or("must be an absolute http or https URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err("must name a host");
    }
    if authority.contains('@') {
        return Err("must not carry user info (user:password@); events are signed");
    }
    if u.contains('#') {
        return Err("must not have a fragment");
    }
    Ok(())
}

/// A call made to an extension at a stage, that a request waits on when the extension takes
/// a callback (`assignmentRequestCreated` only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callout {
    /// `customExtensionStageInstanceId`: sent to the endpoint only, and required back.
    pub instance_id: Uuid,
    pub extension_id: Uuid,
    pub stage: CustomExtensionStage,
    pub sent_date_time: DateTime<Utc>,
    /// When the request stops waiting (denied, `TimedOut`).
    pub deadline: DateTime<Utc>,
    /// The policy's approval stages, copied when the request was made, that start once the
    /// callback lets the request go on (None: no approval, it is delivered then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_stages: Option<Vec<super::approval::ApprovalStage>>,
    /// None while waiting; then `resumed`, `denied`, `canceled` or `timedOut`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What the callback said (`customExtensionStageInstanceDetail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

graph_enum! {
    /// What a callback may decide at `assignmentRequestCreated`: nothing (go on), or end it.
    pub enum CallbackState {
        Denied = "denied",
        Canceled = "canceled",
    }
}

/// A `resume` body as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    pub source: Option<String>,
    pub stage: CustomExtensionStage,
    pub instance_id: Uuid,
    pub detail: Option<String>,
    pub state: Option<CallbackState>,
}

const CALLBACK_TYPES: &[&str] = &[
    "accessPackageAssignmentRequestCallbackData",
    "assignmentRequestApprovalStageCallbackData",
];

impl Resume {
    pub fn read(body: &Value) -> Result<Resume, Vec<Invalid>> {
        let mut f = Fields::of(body, "");
        f.only(&["source", "type", "data"]);
        let source: Option<String> = f.opt("source");
        let kind: Option<String> = f.required("type");
        let mut stage = None;
        let mut instance_id = None;
        let mut detail = None;
        let mut state = None;
        match f.sub("data") {
            Some(mut d) => {
                d.only(&[
                    "@odata.type",
                    "stage",
                    "customExtensionStageInstanceId",
                    "customExtensionStageInstanceDetail",
                    "state",
                ]);
                let data_type = body.get("data").and_then(odata_type);
                if let Some(t) = data_type
                    && !CALLBACK_TYPES.iter().any(|c| c.eq_ignore_ascii_case(t))
                {
                    d.push(
                        "InvalidODataType",
                        "@odata.type",
                        "must be #microsoft.graph.accessPackageAssignmentRequestCallbackData",
                    );
                }
                stage = d.required::<CustomExtensionStage>("stage");
                let raw: Option<String> = d.required("customExtensionStageInstanceId");
                instance_id = raw.and_then(|r| match Uuid::parse_str(&r) {
                    Ok(id) => Some(id),
                    Err(_) => {
                        d.push(
                            "InvalidValue",
                            "customExtensionStageInstanceId",
                            "must be a GUID",
                        );
                        None
                    }
                });
                detail = d.opt("customExtensionStageInstanceDetail");
                state = d.opt::<CallbackState>("state");
                f.absorb(d);
            }
            None => f.push("MissingField", "data", "is required"),
        }
        if let (Some(k), Some(s)) = (&kind, stage) {
            let expected = format!(
                "microsoft.graph.accessPackageCustomExtensionStage.{}",
                s.as_str()
            );
            if !k.eq_ignore_ascii_case(&expected) {
                f.push("InvalidValue", "type", format!("must be {expected}"));
            }
        }
        if detail
            .as_ref()
            .is_some_and(|d: &String| d.chars().count() > 1000)
        {
            f.push(
                "InvalidValue",
                "data.customExtensionStageInstanceDetail",
                "must be at most 1000 characters",
            );
        }
        match (stage, instance_id) {
            (Some(stage), Some(instance_id)) if f.problems.is_empty() => Ok(Resume {
                source,
                stage,
                instance_id,
                detail,
                state,
            }),
            _ => Err(f.problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000, 0).unwrap()
    }

    #[test]
    fn reads_graph_shapes_and_round_trips() {
        let body = json!({
            "@odata.type": "#microsoft.graph.accessPackageAssignmentRequestWorkflowExtension",
            "displayName": "SoD check", "description": "Asks the risk engine",
            "endpointConfiguration": { "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
                "subscriptionId": "s", "resourceGroupName": "g", "logicAppWorkflowName": "w",
                "url": "https://hooks.example/sod" },
            "callbackConfiguration": { "@odata.type": "#microsoft.graph.customExtensionCallbackConfiguration",
                "timeoutDuration": "PT1H" },
        });
        let e =
            CustomExtension::create(Uuid::from_u128(1), Uuid::from_u128(2), &body, now()).unwrap();
        assert_eq!(e.callback_timeout, Some(TimeDelta::hours(1)));
        assert_eq!(e.endpoint.url, "https://hooks.example/sod");
        let g = e.to_graph();
        assert_eq!(g["callbackConfiguration"]["timeoutDuration"], "PT1H");
        assert_eq!(
            g["endpointConfiguration"]["url"],
            "https://hooks.example/sod"
        );
        let again = CustomExtension::create(e.id, e.catalog_id, &g, now()).unwrap();
        assert_eq!(again, e);
        let http = json!({ "displayName": "x", "endpointConfiguration": {
            "@odata.type": "#microsoft.graph.httpRequestEndpoint", "targetUrl": "http://10.0.0.1/x" } });
        let h = CustomExtension::create(Uuid::nil(), Uuid::nil(), &http, now()).unwrap();
        assert_eq!(h.endpoint.kind, EndpointKind::HttpRequestEndpoint);
        assert_eq!(h.callback_timeout, None);
    }

    #[test]
    fn every_broken_rule_is_reported_and_a_bad_patch_changes_nothing() {
        let bad = json!({ "@odata.type": "#microsoft.graph.somethingElse",
            "endpointConfiguration": { "@odata.type": "#microsoft.graph.other", "url": "ftp://x" },
            "callbackConfiguration": { "timeoutDuration": "PT1M" }, "colour": 1 });
        let err = CustomExtension::create(Uuid::nil(), Uuid::nil(), &bad, now()).unwrap_err();
        let targets: Vec<_> = err.iter().map(|i| i.target.as_str()).collect();
        for t in [
            "colour",
            "@odata.type",
            "displayName",
            "endpointConfiguration.@odata.type",
            "endpointConfiguration.url",
            "callbackConfiguration.timeoutDuration",
        ] {
            assert!(targets.contains(&t), "{t}: {targets:?}");
        }
        let mut e = CustomExtension::create(
            Uuid::nil(),
            Uuid::nil(),
            &json!({ "displayName": "x", "endpointConfiguration": {
                "@odata.type": "#microsoft.graph.httpRequestEndpoint", "url": "https://a.example/" } }),
            now(),
        )
        .unwrap();
        let before = e.clone();
        assert!(e.update(&json!({ "endpointConfiguration": { "@odata.type": "#microsoft.graph.httpRequestEndpoint",
            "url": "https://user:pw@a.example/" } }), now()).is_err());
        assert_eq!(e, before);
    }

    #[test]
    fn a_resume_names_its_stage_and_instance() {
        let id = Uuid::from_u128(7);
        let ok = json!({ "source": "Contoso.SodCheckProcess",
            "type": "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated",
            "data": { "@odata.type": "microsoft.graph.accessPackageAssignmentRequestCallbackData",
                "stage": "assignmentRequestCreated", "customExtensionStageInstanceId": id,
                "customExtensionStageInstanceDetail": "verified", "state": "Denied" } });
        let r = Resume::read(&ok).unwrap();
        assert_eq!(r.instance_id, id);
        assert_eq!(r.state, Some(CallbackState::Denied));
        let mismatched = json!({ "type": "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestGranted",
            "data": { "stage": "assignmentRequestCreated", "customExtensionStageInstanceId": "x" } });
        let err = Resume::read(&mismatched).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
    }
}
