//! Assignment policies in a form: a new policy for a package, a stored one to change, delete.
//! `policy_form` turns the values into the API's JSON and back; `layout` below says which
//! inputs the page shows, in fieldsets, so that one template renders them all.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::entitlement::package::AccessPackage;
use serde_json::json;
use uuid::Uuid;

use super::packages::back;
use super::policy_form::{
    self, APPROVERS, MAX_QUESTIONS, Reading, STAGES, Values, on, question_count, val,
};
use super::{absorb, reader};
use crate::app::{App, AppState};
use crate::portal::admin::directory::path_id;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::session::Viewer;
use crate::service::entitlement::{self, policies};

/// One input of the form.
pub struct Input {
    /// text, textarea, check, select, duration, date, number
    pub kind: &'static str,
    pub name: String,
    pub label: String,
    pub value: String,
    pub checked: bool,
    pub options: Vec<(&'static str, &'static str)>,
    pub unit: String,
    pub hint: &'static str,
    pub error: Option<String>,
}

pub struct Fieldset {
    pub legend: String,
    pub hint: &'static str,
    pub inputs: Vec<Input>,
}

#[derive(Template)]
#[template(path = "portal/admin/entitlement/policy.html")]
struct PolicyPage {
    chrome: Chrome,
    package: AccessPackage,
    /// None: a new policy.
    policy: Option<Uuid>,
    action: String,
    q_count: usize,
    sets: Vec<Fieldset>,
    may_manage: bool,
    errors: FieldErrors,
}

const SCOPES: [(&str, &str); 6] = [
    ("notSpecified", "Nobody: administrators assign"),
    ("allMemberUsers", "All member users"),
    ("allDirectoryUsers", "All users, guests included"),
    ("specificDirectoryUsers", "Specific users and groups"),
    ("allDirectoryServicePrincipals", "All service principals"),
    (
        "specificDirectoryServicePrincipals",
        "Specific service principals",
    ),
];
const EXPIRATIONS: [(&str, &str); 3] = [
    ("noExpiration", "Never"),
    ("afterDateTime", "On a date"),
    ("afterDuration", "After a time"),
];
const STAGE_COUNTS: [(&str, &str); 4] = [
    ("0", "No approval stage"),
    ("1", "1 stage"),
    ("2", "2 stages"),
    ("3", "3 stages"),
];
const KINDS: [(&str, &str); 2] = [("text", "Text"), ("choice", "Multiple choice")];
const BEHAVIORS: [(&str, &str); 3] = [
    ("keepAccess", "Keep access"),
    ("removeAccess", "Remove access"),
    ("acceptAccessRecommendation", "Follow the recommendation"),
];
const PATTERNS: [(&str, &str); 4] = [
    ("weekly", "Weeks"),
    ("absoluteMonthly", "Months"),
    ("absoluteYearly", "Years"),
    ("daily", "Days"),
];
const WHO_HINT: &str = "One a line: a user name (name@contoso.example), a group's name (its members), an object id, or “manager” / “manager 2” for the requestor's manager one or two levels up.";

struct Layout<'a> {
    v: &'a Values,
    e: &'a FieldErrors,
}

impl Layout<'_> {
    fn input(&self, kind: &'static str, name: &str, label: &str) -> Input {
        Input {
            kind,
            name: name.to_string(),
            label: label.to_string(),
            value: val(self.v, name),
            checked: on(self.v, name),
            options: Vec::new(),
            unit: val(self.v, &format!("{name}_unit")),
            hint: "",
            error: self.e.of(name).map(String::from),
        }
    }

    fn select(&self, name: &str, label: &str, options: &[(&'static str, &'static str)]) -> Input {
        Input {
            options: options.to_vec(),
            ..self.input("select", name, label)
        }
    }

    fn hinted(mut i: Input, hint: &'static str) -> Input {
        i.hint = hint;
        i
    }

    fn sets(&self) -> Vec<Fieldset> {
        let set = |legend: &str, hint: &'static str, inputs: Vec<Input>| Fieldset {
            legend: legend.to_string(),
            hint,
            inputs,
        };
        let mut out = vec![
            set(
                "Policy",
                "",
                vec![
                    self.input("text", "display_name", "Name"),
                    self.input("text", "description", "Description (optional)"),
                ],
            ),
            set(
                "Who may request",
                "",
                vec![
                    self.select("target_scope", "Who may request", &SCOPES),
                    Self::hinted(
                        self.input("textarea", "targets", "Specific requestors"),
                        WHO_HINT,
                    ),
                    self.input("check", "self_add", "They may request it for themselves"),
                    self.input("check", "self_update", "They may ask to extend it"),
                    self.input("check", "self_remove", "They may remove it themselves"),
                    self.input(
                        "check",
                        "custom_schedule",
                        "They may choose when it starts and ends",
                    ),
                    Self::hinted(
                        self.input("textarea", "on_behalf", "On-behalf requestors"),
                        WHO_HINT,
                    ),
                    self.input("check", "obo_add", "On-behalf requestors may request it"),
                    self.input("check", "obo_update", "On-behalf requestors may extend it"),
                    self.input("check", "obo_remove", "On-behalf requestors may remove it"),
                ],
            ),
            set(
                "Expiration",
                "",
                vec![
                    self.select("exp_type", "Assignments end", &EXPIRATIONS),
                    Self::hinted(
                        self.input("date", "exp_date", "End date"),
                        "For “On a date”: year-month-day.",
                    ),
                    Self::hinted(
                        self.input("duration", "exp_n", "Duration"),
                        "For “After a time”.",
                    ),
                ],
            ),
            set(
                "Approval",
                "",
                vec![
                    self.input("check", "appr_add", "Requests need approval"),
                    self.input("check", "appr_update", "Extensions need approval"),
                    self.input("check", "appr_justification", "Requestors give a reason"),
                    self.select("stages", "Approval stages", &STAGE_COUNTS),
                ],
            ),
        ];
        for (i, p) in STAGES.iter().enumerate() {
            let mut inputs = vec![
                self.input(
                    "duration",
                    &format!("{p}_deny"),
                    "Denied automatically after",
                ),
                self.input(
                    "check",
                    &format!("{p}_justification"),
                    "Approvers give a reason",
                ),
                self.input("number", &format!("{p}_min"), "Approvals needed (1 to 5)"),
            ];
            for (suffix, _, label) in APPROVERS.iter().take(2) {
                inputs.push(Self::hinted(
                    self.input("textarea", &format!("{p}_{suffix}"), label),
                    WHO_HINT,
                ));
            }
            inputs.push(self.input("check", &format!("{p}_escalation"), "Escalate"));
            inputs.push(self.input("duration", &format!("{p}_esc"), "Escalate after"));
            for (suffix, _, label) in APPROVERS.iter().skip(2) {
                inputs.push(Self::hinted(
                    self.input("textarea", &format!("{p}_{suffix}"), label),
                    WHO_HINT,
                ));
            }
            out.push(set(
                &format!("Approval stage {}", i + 1),
                "Used when the number of stages above includes it.",
                inputs,
            ));
        }
        for j in 0..question_count(self.v) {
            let p = format!("q{j}");
            let mut id = self.input("hidden", &format!("{p}_id"), "");
            id.kind = "hidden";
            out.push(set(
                &format!("Question {}", j + 1),
                "Leave the text empty for no question.",
                vec![
                    id,
                    self.select(&format!("{p}_kind"), "Kind", &KINDS),
                    self.input("text", &format!("{p}_text"), "Question"),
                    self.input("check", &format!("{p}_required"), "An answer is required"),
                    self.input("check", &format!("{p}_single"), "Text: a single line"),
                    Self::hinted(
                        self.input(
                            "text",
                            &format!("{p}_regex"),
                            "Text: pattern the answer matches",
                        ),
                        "A regular expression, like ^IRM-[0-9]+$ (optional).",
                    ),
                    Self::hinted(
                        self.input(
                            "textarea",
                            &format!("{p}_choices"),
                            "Multiple choice: choices",
                        ),
                        "One a line: value = text shown.",
                    ),
                    self.input(
                        "check",
                        &format!("{p}_multi"),
                        "Multiple choice: several may be chosen",
                    ),
                    self.input("check", &format!("{p}_remove"), "Remove this question"),
                ],
            ));
        }
        out.push(set(
            "Access reviews",
            "",
            vec![
                self.input("check", "rv_enabled", "Review assignments regularly"),
                self.input("date", "rv_start", "First review (year-month-day)"),
                self.input("duration", "rv_duration", "Each review lasts"),
                self.select("rv_pattern", "Repeat every", &PATTERNS),
                self.input("number", "rv_interval", "Interval (1 to 99)"),
                Self::hinted(self.input("textarea", "rv_primary", "Reviewers"), WHO_HINT),
                Self::hinted(
                    self.input("textarea", "rv_fallback", "Fallback reviewers"),
                    WHO_HINT,
                ),
                self.input("check", "rv_self", "Holders review themselves"),
                self.input("check", "rv_recommend", "Show recommendations"),
                self.input("check", "rv_justification", "Reviewers give a reason"),
                self.select("rv_behavior", "If nobody reviews", &BEHAVIORS),
            ],
        ));
        out.push(set(
            "Notifications",
            "",
            vec![self.input(
                "check",
                "notif_disabled",
                "Do not notify people of their assignments",
            )],
        ));
        out
    }
}

fn defaults() -> Values {
    let mut v = Values::new();
    for (k, x) in [
        ("target_scope", "allMemberUsers"),
        ("self_add", "on"),
        ("self_remove", "on"),
        ("exp_type", "noExpiration"),
        ("stages", "0"),
        ("q_count", "1"),
        ("rv_behavior", "keepAccess"),
        ("rv_pattern", "absoluteMonthly"),
        ("rv_interval", "3"),
    ] {
        v.insert(k.to_string(), x.to_string());
    }
    for p in STAGES {
        v.insert(format!("{p}_min"), "1".into());
        v.insert(format!("{p}_deny"), "7".into());
        v.insert(format!("{p}_deny_unit"), "days".into());
    }
    v
}

fn page(
    viewer: &Viewer,
    package: AccessPackage,
    policy: Option<Uuid>,
    v: &Values,
    errors: FieldErrors,
) -> PolicyPage {
    let sets = Layout { v, e: &errors }.sets();
    PolicyPage {
        chrome: viewer.chrome(Section::AccessPackages),
        action: match policy {
            Some(id) => format!("/portal/admin/entitlement/policies/{id}"),
            None => format!("/portal/admin/entitlement/packages/{}/policies", package.id),
        },
        package,
        policy,
        q_count: question_count(v),
        sets,
        may_manage: viewer.can.manage_entitlement,
        errors,
    }
}

pub async fn new_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = path_id(&id, "access package")?;
    let package = reader(&app, &viewer)?.package(id).await?;
    Ok(render(&page(
        &viewer,
        package,
        None,
        &defaults(),
        FieldErrors::new(),
    )))
}

pub async fn edit(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = path_id(&id, "assignment policy")?;
    let r = reader(&app, &viewer)?;
    let policy = r.policy(id).await?;
    let package = r.package(policy.access_package_id).await?;
    let v = policy_form::from_graph(&app, &policy.to_graph()).await?;
    Ok(render(&page(
        &viewer,
        package,
        Some(id),
        &v,
        FieldErrors::new(),
    )))
}

fn values(pairs: Vec<(String, String)>) -> Values {
    let mut v = Values::new();
    for (k, x) in pairs {
        // A checkbox and its hidden twin never both come; the first value of a name wins.
        v.entry(k).or_insert(x);
    }
    v
}

/// Saves the posted form through the use case (`policy`: None creates one for `package`), or
/// answers the form again: with one more question slot, or with what was refused. `kept`: the
/// stored policy's custom extension settings, which the form does not show and a save must
/// not drop.
async fn submit(
    app: &App,
    viewer: Viewer,
    package: AccessPackage,
    policy: Option<Uuid>,
    mut v: Values,
    kept: Option<serde_json::Value>,
) -> PageResult<Response> {
    let caller = &viewer.caller;
    if val(&v, "op") == "add_question" {
        entitlement::reader(app, caller)?;
        let n = (question_count(&v) + 1).min(MAX_QUESTIONS);
        v.insert("q_count".into(), n.to_string());
        return Ok(render(&page(
            &viewer,
            package,
            policy,
            &v,
            FieldErrors::new(),
        )));
    }
    let mut errors = FieldErrors::new();
    let mut body = Reading {
        app,
        caller,
        v: &v,
        errors: &mut errors,
    }
    .body()
    .await?;
    if let Some(kept) = kept {
        body["customExtensionStageSettings"] = kept;
    }
    if !errors.is_empty() {
        // What the form could not read is not sent; the refusal still needs the right to save.
        entitlement::may_manage(app, caller)?;
    } else {
        let saved = match policy {
            None => {
                body["accessPackage"] = json!({ "id": package.id });
                policies::create(app, caller, body).await
            }
            Some(id) => policies::update(app, caller, Ok(id), body, false).await,
        };
        match saved {
            Ok(p) => {
                return Ok(redirect_with(
                    app,
                    &back(package.id),
                    Flash::success(format!("The policy {} was saved.", p.display_name)),
                ));
            }
            Err(e) => absorb(e, &mut errors, |t| policy_form::field_of(&v, t))?,
        }
    }
    Ok(render_status(
        StatusCode::BAD_REQUEST,
        &page(&viewer, package, policy, &v, errors),
    ))
}

pub async fn create(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let package = reader(&app, &viewer)?.package(id).await?;
    submit(&app, viewer, package, None, values(form), None).await
}

pub async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "assignment policy")?;
    let r = reader(&app, &viewer)?;
    let policy = r.policy(id).await?;
    let package = r.package(policy.access_package_id).await?;
    let kept = policy.to_graph()["customExtensionStageSettings"].clone();
    submit(&app, viewer, package, Some(id), values(form), Some(kept)).await
}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    let id = path_id(&id, "assignment policy")?;
    let policy = reader(&app, &viewer)?.policy(id).await?;
    policies::delete(&app, &viewer.caller, Ok(id)).await?;
    Ok(redirect_with(
        &app,
        &back(policy.access_package_id),
        Flash::success(format!("The policy {} was deleted.", policy.display_name)),
    ))
}
