//! `GET /portal/admin`: the Administration home, a card per section the viewer may use with a
//! count, and the open security alerts for those who may read them.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use eligo_store::{Page, RoleQuery};

use super::Shown;
use crate::app::AppState;
use crate::portal::page::{Chrome, PageResult, Section, render};
use crate::portal::session::Viewer;
use crate::service::authorize;

pub struct Card {
    pub title: &'static str,
    pub href: &'static str,
    pub count: Option<usize>,
    /// What the count counts ("users").
    pub unit: &'static str,
    pub text: &'static str,
}

pub struct AlertLine {
    pub title: String,
    pub severity: String,
    pub created: Shown,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/home.html")]
struct HomePage {
    chrome: Chrome,
    cards: Vec<Card>,
    /// None: the viewer may not read alerts.
    alerts: Option<Vec<AlertLine>>,
}

const ALERTS_SHOWN: i64 = 20;

pub async fn page(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    authorize::may_administer(&app, &viewer.caller)?;
    let can = &viewer.can;
    let (users, groups, sps) = app.access.principal_counts();
    let mut tx = app.store.read().await?;
    let mut cards = Vec::new();
    if can.read_users {
        cards.push(Card {
            title: "Users",
            href: "/portal/admin/users",
            count: Some(users),
            unit: "users",
            text: "Create, find, edit, disable and delete accounts.",
        });
    }
    if can.read_groups {
        cards.push(Card {
            title: "Groups",
            href: "/portal/admin/groups",
            count: Some(groups),
            unit: "groups",
            text: "Security groups, their members, owners and nesting.",
        });
    }
    if can.read_service_principals {
        cards.push(Card {
            title: "Service principals",
            href: "/portal/admin/service-principals",
            count: Some(sps),
            unit: "service principals",
            text: "Workload identities that call Eligo's API.",
        });
    }
    if can.read_role_assignments || can.read_policies || can.read_role_definitions {
        let roles = if can.read_role_definitions {
            Some(tx.list_role_definitions(&RoleQuery::default()).await?.len())
        } else {
            None
        };
        cards.push(Card {
            title: "Roles and role settings",
            href: "/portal/admin/roles",
            count: roles,
            unit: "roles",
            text: "Who holds or may activate each role, and the rules for activating it.",
        });
    }
    if can.read_provisioning {
        cards.push(Card {
            title: "Connectors",
            href: "/portal/admin/connectors",
            count: Some(tx.list_connectors().await?.len()),
            unit: "connectors",
            text: "Downstream systems (LDAP, SCIM, webhooks) that group memberships are pushed to, and their health.",
        });
    }
    if can.administer_reviews {
        cards.push(Card {
            title: "Access reviews",
            href: "/portal/admin/reviews",
            count: None,
            unit: "",
            text: "Reviews of who holds a role, a group or an access package: create them, follow their progress, apply the results.",
        });
    }
    let alerts = if can.read_alerts {
        let rows = tx
            .list_alerts(
                Some("active"),
                Page {
                    top: ALERTS_SHOWN,
                    skip: 0,
                },
            )
            .await?;
        Some(
            rows.into_iter()
                .map(|a| AlertLine {
                    title: a.data["title"]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| a.kind.clone()),
                    severity: a.data["severity"].as_str().unwrap_or("").to_string(),
                    created: Shown::of(a.created_at),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(render(&HomePage {
        chrome: viewer.chrome(Section::Administration),
        cards,
        alerts,
    }))
}
