//! Finding people, groups and service principals by what someone types: the search behind
//! every picker in the portal and the words a form answers when a typed name is unknown or
//! ambiguous. Each kind is searched only if the caller may read it, so a picker never shows
//! a name its user could not have listed through the API.

use eligo_core::authz::actions;
use eligo_core::directory::{Group, PrincipalKind, ServicePrincipal, User};
use eligo_store::{GroupQuery, Page, ServicePrincipalQuery, Tx, UserQuery};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// Which kinds of principal a field accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    pub users: bool,
    pub groups: bool,
    pub service_principals: bool,
}

impl Kinds {
    pub const USERS: Kinds = Kinds {
        users: true,
        groups: false,
        service_principals: false,
    };
    pub const GROUPS: Kinds = Kinds {
        users: false,
        groups: true,
        service_principals: false,
    };
    /// Users and groups: approvers, recipients.
    pub const PEOPLE: Kinds = Kinds {
        users: true,
        groups: true,
        service_principals: false,
    };
    pub const ALL: Kinds = Kinds {
        users: true,
        groups: true,
        service_principals: true,
    };

    fn accepts(self, kind: PrincipalKind) -> bool {
        match kind {
            PrincipalKind::User => self.users,
            PrincipalKind::Group => self.groups,
            PrincipalKind::ServicePrincipal => self.service_principals,
        }
    }
}

/// One principal a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub display_name: String,
    /// A user's user name; a service principal's appId.
    pub handle: Option<String>,
}

impl Candidate {
    /// "Ada Lovelace (ada@contoso.example)", "Security Team (group)".
    pub fn describe(&self) -> String {
        match (self.kind, &self.handle) {
            (PrincipalKind::User, Some(upn)) => format!("{} ({upn})", self.display_name),
            (PrincipalKind::Group, _) => format!("{} (group)", self.display_name),
            (PrincipalKind::ServicePrincipal, _) => {
                format!("{} (service principal)", self.display_name)
            }
            (PrincipalKind::User, None) => self.display_name.clone(),
        }
    }
}

/// What a search found: the candidates whose id, user name or display name is exactly what
/// was typed, and those it merely starts (each list at most `limit` long, by name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub exact: Vec<Candidate>,
    pub starting: Vec<Candidate>,
}

/// The kinds among `wanted` the caller may list (through the API's read permissions): a
/// search for them shows names only of those.
pub fn listable(app: &App, caller: &Caller, wanted: Kinds) -> Kinds {
    let may = |want: bool, action: &'static str| {
        want && authorize::act(app, caller, action, false).is_ok()
    };
    Kinds {
        users: may(wanted.users, actions::USERS_READ),
        groups: may(wanted.groups, actions::GROUPS_READ),
        service_principals: may(wanted.service_principals, actions::SERVICE_PRINCIPALS_READ),
    }
}

impl Kinds {
    pub fn is_empty(self) -> bool {
        !(self.users || self.groups || self.service_principals)
    }

    /// The kinds in both.
    pub fn and(self, other: Kinds) -> Kinds {
        Kinds {
            users: self.users && other.users,
            groups: self.groups && other.groups,
            service_principals: self.service_principals && other.service_principals,
        }
    }
}

/// Searches what `typed` names: an object id (or a service principal's appId), a user name,
/// or the beginning of a display name or user name (case-insensitive).
pub async fn find_principals(
    app: &App,
    caller: &Caller,
    typed: &str,
    wanted: Kinds,
    limit: usize,
) -> UseCaseResult<Found> {
    let kinds = listable(app, caller, wanted);
    if kinds.is_empty() {
        return Err(Failure::forbidden(
            "searching the directory needs permission to read it",
        ));
    }
    search(&mut *app.store.read().await?, typed, kinds, limit).await
}

/// [`find_principals`] inside a transaction, for `kinds` the caller may list (see
/// [`listable`]): the caller of this function has made that decision.
pub async fn search(
    tx: &mut dyn Tx,
    typed: &str,
    kinds: Kinds,
    limit: usize,
) -> UseCaseResult<Found> {
    let typed = typed.trim();
    let mut found = Found::default();
    // No name holds a NUL (the inputs refuse it; PostgreSQL cannot even compare one).
    if typed.is_empty() || typed.contains('\0') || kinds.is_empty() {
        return Ok(found);
    }
    if let Ok(id) = Uuid::parse_str(typed) {
        found.exact.extend(by_id(tx, id, kinds).await?);
        return Ok(found);
    }
    let lower = typed.to_lowercase();
    let page = Page {
        top: limit.clamp(1, 50) as i64,
        skip: 0,
    };
    let mut all = Vec::new();
    if kinds.users {
        let query = UserQuery {
            name_or_upn_prefix: Some(typed.to_string()),
            ..Default::default()
        };
        all.extend(tx.list_users(&query, page).await?.into_iter().map(user));
        // An exact name is always found, even behind `limit` longer names that start with it.
        let query = UserQuery {
            display_name: Some(typed.to_string()),
            ..Default::default()
        };
        all.extend(tx.list_users(&query, page).await?.into_iter().map(user));
    }
    if kinds.groups {
        for query in [
            GroupQuery {
                display_name_prefix: Some(typed.to_string()),
                ..Default::default()
            },
            GroupQuery {
                display_name: Some(typed.to_string()),
                ..Default::default()
            },
        ] {
            all.extend(tx.list_groups(&query, page).await?.into_iter().map(group));
        }
    }
    if kinds.service_principals {
        for query in [
            ServicePrincipalQuery {
                display_name_prefix: Some(typed.to_string()),
                ..Default::default()
            },
            ServicePrincipalQuery {
                display_name: Some(typed.to_string()),
                ..Default::default()
            },
        ] {
            all.extend(
                tx.list_service_principals(&query, page)
                    .await?
                    .into_iter()
                    .map(service_principal),
            );
        }
    }
    all.sort_by(|a, b| {
        (a.display_name.to_lowercase(), a.id).cmp(&(b.display_name.to_lowercase(), b.id))
    });
    all.dedup_by_key(|c| c.id);
    for c in all {
        let is_exact = c.display_name.to_lowercase() == lower
            || (c.kind == PrincipalKind::User
                && c.handle.as_deref().map(str::to_lowercase).as_deref() == Some(&lower));
        let list = if is_exact {
            &mut found.exact
        } else {
            &mut found.starting
        };
        if list.len() < limit {
            list.push(c);
        }
    }
    Ok(found)
}

/// The principals `typed` names exactly: by object id (or appId), user name, or whole display
/// name. Not a listing, so no read permission is asked: a form resolves what its user typed
/// and the use case it calls decides whether they may act on it.
pub async fn named_exactly(
    tx: &mut dyn Tx,
    typed: &str,
    kinds: Kinds,
) -> UseCaseResult<Vec<Candidate>> {
    let typed = typed.trim();
    if typed.is_empty() || typed.contains('\0') {
        return Ok(Vec::new());
    }
    if let Ok(id) = Uuid::parse_str(typed) {
        return Ok(by_id(tx, id, kinds).await?.into_iter().collect());
    }
    let few = Page { top: 10, skip: 0 };
    let mut out = Vec::new();
    if kinds.users {
        if typed.contains('@') {
            if let Some(u) = tx.find_user_by_upn(typed).await? {
                out.push(user(u));
            }
            return Ok(out);
        }
        let query = UserQuery {
            display_name: Some(typed.to_string()),
            ..Default::default()
        };
        out.extend(tx.list_users(&query, few).await?.into_iter().map(user));
    }
    if kinds.groups {
        let query = GroupQuery {
            display_name: Some(typed.to_string()),
            ..Default::default()
        };
        out.extend(tx.list_groups(&query, few).await?.into_iter().map(group));
    }
    if kinds.service_principals {
        let query = ServicePrincipalQuery {
            display_name: Some(typed.to_string()),
            ..Default::default()
        };
        out.extend(
            tx.list_service_principals(&query, few)
                .await?
                .into_iter()
                .map(service_principal),
        );
    }
    Ok(out)
}

fn user(u: User) -> Candidate {
    Candidate {
        id: u.id,
        kind: PrincipalKind::User,
        display_name: u.display_name,
        handle: Some(u.user_principal_name),
    }
}

fn group(g: Group) -> Candidate {
    Candidate {
        id: g.id,
        kind: PrincipalKind::Group,
        display_name: g.display_name,
        handle: None,
    }
}

fn service_principal(s: ServicePrincipal) -> Candidate {
    Candidate {
        id: s.id,
        kind: PrincipalKind::ServicePrincipal,
        display_name: s.display_name,
        handle: Some(s.app_id.to_string()),
    }
}

/// The principal with this object id, or the service principal with this appId.
async fn by_id(tx: &mut dyn Tx, id: Uuid, kinds: Kinds) -> UseCaseResult<Option<Candidate>> {
    let candidate = match tx.principal_kind(id).await? {
        Some(kind) if !kinds.accepts(kind) => None,
        Some(PrincipalKind::User) => tx.get_user(id).await?.map(user),
        Some(PrincipalKind::Group) => tx.get_group(id).await?.map(group),
        Some(PrincipalKind::ServicePrincipal) => {
            tx.get_service_principal(id).await?.map(service_principal)
        }
        None if kinds.service_principals => tx
            .find_service_principal_by_app_id(id)
            .await?
            .map(service_principal),
        None => None,
    };
    Ok(candidate)
}
