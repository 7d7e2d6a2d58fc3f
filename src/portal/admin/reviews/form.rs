//! The "New access review" form: every setting of governance.md section 2 as plain fields,
//! built into the Graph body of `POST accessReviews/definitions` and handed to
//! `definitions::create`, so the core reads and checks it exactly as it reads the API's. Only
//! what a form needs is done here: names resolved to ids (a group with the picker, a role or
//! an access package by its name), numbers read, and each refusal put back under its field.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use eligo_store::{RoleQuery, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use super::gate;
use crate::app::{App, AppState};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::directory::{self, Kinds};
use crate::service::reviews::definitions;

/// The stages the form offers (the core's maximum).
const STAGES: [usize; 3] = [1, 2, 3];

/// What was typed, by field name; a repeated field (the stages' decisions) keeps every value.
#[derive(Default)]
pub(super) struct Typed(HashMap<String, Vec<String>>);

impl Typed {
    pub(super) fn of(pairs: Vec<(String, String)>) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_default().push(v);
        }
        Self(map)
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .unwrap_or("")
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|v| v.iter().any(|x| x.trim() == value))
    }

    fn on(&self, name: &str) -> bool {
        !matches!(self.get(name), "" | "off" | "false")
    }

    pub(super) fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), vec![value.to_string()]);
    }

    /// Adds one more value to a repeated field (a stage's decisions that move on).
    pub(super) fn push(&mut self, name: &str, value: &str) {
        self.0
            .entry(name.to_string())
            .or_default()
            .push(value.to_string());
    }
}

#[derive(Template)]
#[template(path = "portal/admin/reviews/new.html")]
pub(super) struct NewPage {
    chrome: Chrome,
    typed: Typed,
    errors: FieldErrors,
    stages: [usize; 3],
    /// Where the form posts, its heading and its button: a new review, or changing one.
    action: String,
    heading: String,
    submit: &'static str,
    /// Changing a review: its scope is fixed (the fields show it, the post ignores them).
    editing: bool,
}

impl NewPage {
    fn v(&self, name: &str) -> &str {
        self.typed.get(name)
    }
    fn checked(&self, name: &str) -> &'static str {
        if self.typed.on(name) { " checked" } else { "" }
    }
    fn selected(&self, name: &str, value: &str) -> &'static str {
        if self.typed.has(name, value) {
            " selected"
        } else {
            ""
        }
    }
    fn ticked(&self, name: &str, value: &str) -> &'static str {
        if self.typed.has(name, value) {
            " checked"
        } else {
            ""
        }
    }
    fn stage(&self, n: &usize, field: &str) -> String {
        format!("stage{n}{field}")
    }
}

fn page(viewer: &Viewer, typed: Typed, errors: FieldErrors) -> NewPage {
    NewPage {
        chrome: viewer.chrome(Section::AccessReviews),
        typed,
        errors,
        stages: STAGES,
        action: "/portal/admin/reviews/new".into(),
        heading: "New access review".into(),
        submit: "Create access review",
        editing: false,
    }
}

/// The same form for changing the review `id` called `name`.
pub(super) fn edit_page(
    viewer: &Viewer,
    typed: Typed,
    errors: FieldErrors,
    id: Uuid,
    name: &str,
) -> NewPage {
    NewPage {
        action: format!("/portal/admin/reviews/{id}/edit"),
        heading: format!("Change {name}"),
        submit: "Save changes",
        editing: true,
        ..page(viewer, typed, errors)
    }
}

pub async fn new_form(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    gate(&viewer)?;
    // Graph's defaults, shown so nothing is left to guess.
    let mut typed = Typed::default();
    for (k, v) in [
        ("scopeKind", "role_eligible"),
        ("reviewers", "manager"),
        ("durationDays", "14"),
        ("recurrence", "none"),
        ("interval", "1"),
        ("rangeEnd", "none"),
        ("recommendations", "on"),
        ("lookBackDays", "30"),
        ("defaultDecision", "Recommendation"),
        ("mail", "on"),
        ("reminders", "on"),
    ] {
        typed.set(k, v);
    }
    typed.set(
        "startDate",
        &app.clock.now().date_naive().format("%Y-%m-%d").to_string(),
    );
    Ok(render(&page(&viewer, typed, FieldErrors::new())))
}

/// A whole number typed into `field`, or its error; None when left empty.
fn number(typed: &Typed, field: &str, errors: &mut FieldErrors) -> Option<u64> {
    let raw = typed.get(field);
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "Enter a whole number of days.");
            None
        }
    }
}

fn set(query: String) -> Value {
    json!({ "query": query, "queryType": "MicrosoftGraph" })
}

/// What the review is about: (kind of scope query, the target's id).
async fn target(
    app: &App,
    viewer: &Viewer,
    tx: &mut dyn Tx,
    typed: &Typed,
    errors: &mut FieldErrors,
) -> PageResult<Option<(String, Uuid)>> {
    let kind = typed.get("scopeKind").to_string();
    let name = typed.get("target");
    if name.is_empty() {
        errors.add(
            "target",
            "Enter the group, role or access package to review.",
        );
        return Ok(None);
    }
    let found = match kind.as_str() {
        "group_members" | "group_eligibility" => {
            let listable = directory::listable(app, &viewer.caller, Kinds::GROUPS);
            match picker::resolve(tx, name, Kinds::GROUPS, listable).await? {
                Ok(c) => Some(c.id),
                Err(message) => {
                    errors.add("target", message);
                    return Ok(None);
                }
            }
        }
        "role_eligible" | "role_active" | "role_both" => tx
            .list_role_definitions(&RoleQuery::default())
            .await?
            .into_iter()
            .find(|r| r.display_name.eq_ignore_ascii_case(name) || r.id.to_string() == name)
            .map(|r| r.id),
        "package" => tx
            .list_packages(None)
            .await?
            .into_iter()
            .find(|p| p.display_name.eq_ignore_ascii_case(name) || p.id.to_string() == name)
            .map(|p| p.id),
        _ => {
            errors.add("scopeKind", "Choose what the review is about.");
            return Ok(None);
        }
    };
    match found {
        Some(id) => Ok(Some((kind, id))),
        None => {
            errors.add(
                "target",
                format!("Nothing of that kind is called “{name}”: enter its exact name."),
            );
            Ok(None)
        }
    }
}

fn scope_query(kind: &str, id: Uuid) -> String {
    match kind {
        "group_members" => format!("/groups/{id}/transitiveMembers"),
        "group_eligibility" => format!(
            "/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?$filter=groupId eq '{id}'"
        ),
        "role_eligible" => format!(
            "/roleManagement/directory/roleEligibilityScheduleInstances?$filter=roleDefinitionId eq '{id}'"
        ),
        "role_active" => format!(
            "/roleManagement/directory/roleAssignmentScheduleInstances?$filter=assignmentType eq 'Assigned' and roleDefinitionId eq '{id}'"
        ),
        "role_both" => format!("/roleManagement/directory/roleDefinitions/{id}"),
        _ => format!(
            "/identityGovernance/entitlementManagement/assignments?$filter=accessPackage/id eq '{id}'"
        ),
    }
}

/// Users typed one per line, as reviewer sets.
async fn users(
    app: &App,
    viewer: &Viewer,
    tx: &mut dyn Tx,
    text: &str,
    field: &str,
    errors: &mut FieldErrors,
) -> PageResult<Vec<Value>> {
    let listable = directory::listable(app, &viewer.caller, Kinds::USERS);
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match picker::resolve(tx, line, Kinds::USERS, listable).await? {
            Ok(c) => out.push(set(format!("/users/{}", c.id))),
            Err(message) => errors.add(field, message),
        }
    }
    Ok(out)
}

/// Who reviews, from a choice and its list of users: `[]` is a self-review.
#[allow(clippy::too_many_arguments)]
async fn reviewers(
    app: &App,
    viewer: &Viewer,
    tx: &mut dyn Tx,
    choice: &str,
    named: &str,
    field: &str,
    target: Option<&(String, Uuid)>,
    errors: &mut FieldErrors,
) -> PageResult<Vec<Value>> {
    Ok(match choice {
        "self" => Vec::new(),
        "manager" => {
            vec![
                json!({ "query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions" }),
            ]
        }
        "owners" => match target {
            Some((kind, id)) if kind.starts_with("group") => {
                vec![set(format!("/groups/{id}/owners"))]
            }
            Some(_) => {
                errors.add(field, "Group owners review a group's access: choose a group to review, or other reviewers.");
                Vec::new()
            }
            None => Vec::new(),
        },
        "users" => {
            let found = users(app, viewer, tx, named, field, errors).await?;
            if found.is_empty() && errors.of(field).is_none() {
                errors.add(
                    field,
                    "Enter at least one reviewer, one user name per line.",
                );
            }
            found
        }
        _ => {
            errors.add(field, "Choose who reviews.");
            Vec::new()
        }
    })
}

/// The Graph body the form describes, or None with the form's errors.
pub(super) async fn body(
    app: &App,
    viewer: &Viewer,
    typed: &Typed,
    errors: &mut FieldErrors,
) -> PageResult<Option<Value>> {
    let mut tx = app.store.read().await?;
    let target = target(app, viewer, &mut *tx, typed, errors).await?;
    let inactive = number(typed, "inactiveDays", errors);
    let duration = number(typed, "durationDays", errors);
    let look_back = number(typed, "lookBackDays", errors);
    let mut scope = json!({
        "@odata.type": "#microsoft.graph.accessReviewQueryScope",
        "queryType": "MicrosoftGraph",
        "query": target.as_ref().map(|(k, id)| scope_query(k, *id)).unwrap_or_default(),
    });
    if let Some(days) = inactive {
        scope["@odata.type"] = json!("#microsoft.graph.accessReviewInactiveUsersQueryScope");
        scope["inactiveDuration"] = json!(format!("P{days}D"));
    }
    let fallback = users(
        app,
        viewer,
        &mut *tx,
        typed.get("fallback"),
        "fallback",
        errors,
    )
    .await?;
    let mut stages = Vec::new();
    for n in STAGES {
        let choice = typed.get(&format!("stage{n}Reviewers"));
        if choice.is_empty() {
            continue;
        }
        let field = format!("stage{n}");
        if stages.len() + 1 != n {
            errors.add(&field, "Fill the stages in order: stage 1 first.");
            continue;
        }
        let sets = reviewers(
            app,
            viewer,
            &mut *tx,
            choice,
            typed.get(&format!("stage{n}Users")),
            &field,
            target.as_ref(),
            errors,
        )
        .await?;
        let days = number(typed, &format!("stage{n}Days"), errors);
        let moves: Vec<&str> = ["Approve", "Deny", "DontKnow", "NotReviewed"]
            .into_iter()
            .filter(|d| typed.has(&format!("stage{n}Move"), d))
            .collect();
        let mut stage = json!({
            "stageId": n.to_string(),
            "dependsOn": if n == 1 { json!([]) } else { json!([(n - 1).to_string()]) },
            "durationInDays": days.unwrap_or(0),
            "reviewers": sets,
            "fallbackReviewers": fallback,
        });
        if n < 3 || !moves.is_empty() {
            stage["decisionsThatWillMoveToNextStage"] = json!(moves);
        }
        stages.push(stage);
    }
    let top_reviewers = if stages.is_empty() {
        reviewers(
            app,
            viewer,
            &mut *tx,
            typed.get("reviewers"),
            typed.get("reviewerUsers"),
            "reviewers",
            target.as_ref(),
            errors,
        )
        .await?
    } else {
        Vec::new()
    };
    drop(tx);
    let mut settings = json!({
        "mailNotificationsEnabled": typed.on("mail"),
        "reminderNotificationsEnabled": typed.on("reminders"),
        "recommendationsEnabled": typed.on("recommendations"),
        "defaultDecisionEnabled": typed.on("defaultDecisionEnabled"),
        "autoApplyDecisionsEnabled": typed.on("autoApply"),
        "justificationRequiredOnApproval": typed.on("justificationRequired"),
    });
    if !typed.get("defaultDecision").is_empty() {
        settings["defaultDecision"] = json!(typed.get("defaultDecision"));
    }
    if let Some(days) = look_back {
        settings["recommendationLookBackDuration"] = json!(format!("P{days}D"));
    }
    if stages.is_empty()
        && let Some(days) = duration
    {
        settings["instanceDurationInDays"] = json!(days);
    }
    let pattern = match typed.get("recurrence") {
        "weekly" => Some("weekly"),
        "monthly" => Some("absoluteMonthly"),
        _ => None,
    };
    if let Some(pattern) = pattern {
        let interval = number(typed, "interval", errors).unwrap_or(1);
        let mut range = json!({ "startDate": typed.get("startDate") });
        match typed.get("rangeEnd") {
            "date" => {
                range["type"] = json!("endDate");
                range["endDate"] = json!(typed.get("endDate"));
            }
            "count" => {
                range["type"] = json!("numbered");
                range["numberOfOccurrences"] = json!(number(typed, "occurrences", errors));
            }
            _ => range["type"] = json!("noEnd"),
        }
        settings["recurrence"] = json!({
            "pattern": { "type": pattern, "interval": interval },
            "range": range,
        });
    }
    if !errors.is_empty() {
        return Ok(None);
    }
    let mut body = json!({
        "displayName": typed.get("displayName"),
        "descriptionForAdmins": typed.get("descriptionForAdmins"),
        "descriptionForReviewers": typed.get("descriptionForReviewers"),
        "scope": scope,
        "fallbackReviewers": fallback,
        "settings": settings,
    });
    if stages.is_empty() {
        body["reviewers"] = json!(top_reviewers);
    } else {
        body["stageSettings"] = json!(stages);
    }
    Ok(Some(body))
}

/// The form field an API refusal's target belongs to.
pub(super) fn field_of(target: &str) -> Option<&'static str> {
    let t = target;
    Some(match t {
        _ if t.starts_with("displayName") => "displayName",
        _ if t.starts_with("descriptionForAdmins") => "descriptionForAdmins",
        _ if t.starts_with("descriptionForReviewers") => "descriptionForReviewers",
        _ if t.starts_with("scope.inactiveDuration") => "inactiveDays",
        _ if t.starts_with("scope") => "target",
        _ if t.starts_with("fallbackReviewers") || t.starts_with("backupReviewers") => "fallback",
        _ if t.starts_with("reviewers") => "reviewers",
        _ if t.starts_with("settings.recurrence") => "recurrence",
        _ if t.starts_with("settings.instanceDurationInDays") => "durationDays",
        _ if t.starts_with("settings.recommendationLookBackDuration") => "lookBackDays",
        _ if t.starts_with("settings.defaultDecision") => "defaultDecision",
        _ if t.starts_with("stageSettings[0]") => "stage1",
        _ if t.starts_with("stageSettings[1]") => "stage2",
        _ if t.starts_with("stageSettings[2]") => "stage3",
        _ if t.starts_with("stageSettings") => "stage1",
        _ => return None,
    })
}

pub async fn create(
    State(app): State<AppState>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    gate(&viewer)?;
    let typed = Typed::of(form);
    let mut errors = FieldErrors::new();
    if let Some(body) = body(&app, &viewer, &typed, &mut errors).await? {
        match definitions::create(&app, &viewer.caller, body).await {
            Ok(def) => {
                return Ok(redirect_with(
                    &app,
                    &format!("/portal/admin/reviews/{}", def.id),
                    Flash::success(format!("The access review “{}” was created.", def.display_name)),
                ));
            }
            Err(e) if e.details.iter().any(|d| d.code == "MfaRequired") => errors.add_general(
                "Creating a review needs a recent second factor: verify it is you under Security info (/portal/step-up), then create it again.",
            ),
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                errors.absorb(&e, field_of)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render_status(
        StatusCode::BAD_REQUEST,
        &page(&viewer, typed, errors),
    ))
}
