//! Inbound SCIM 2.0 provisioning (RFC 7643/7644, issue 19): who a client is, and what it may
//! read. Its writes are the directory's own use cases (`service::directory`), called with the
//! client as the caller: they authorize through `authorize` with the client's own operation
//! set (never a role) and `Operation::Provision` on top, so a provisioning client can neither
//! gain nor grant privilege, and they record the client as the source of what it creates.
//! A client sees and changes only what it provisioned itself (`directory::source`).

pub mod clients;

use eligo_core::authz::actions;
use eligo_core::directory::{Group, PrincipalKind, Relation, User};
use eligo_store::{Principal, SourceRow};
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, token};
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::directory::source;
use crate::service::{access, authorize};

/// The caller a SCIM client's bearer token names: 401 when unknown or revoked. Read from the
/// database on every request, so a revocation holds at once on every server.
pub async fn authenticate(app: &App, raw: &str) -> UseCaseResult<Caller> {
    let invalid = || {
        Failure::unauthorized(
            "InvalidAuthenticationToken",
            "the SCIM client token is invalid or was revoked",
        )
    };
    let hash = token::digest(raw);
    let mut tx = app.store.read().await?;
    let client = tx
        .scim_client_by_token(&hash)
        .await?
        .filter(|c| c.revoked_at.is_none())
        .ok_or_else(invalid)?;
    let head = tx.change_head().await?;
    drop(tx);
    access::feed::caught_up(app, head).await?;
    Ok(crate::service::directory::source::acting_as(
        client.id,
        client.display_name,
        hash,
        client.created_at,
    ))
}

/// A user as its client sees it.
pub struct ScimUser {
    pub user: User,
    pub source: SourceRow,
}

pub struct ScimGroup {
    pub group: Group,
    pub source: SourceRow,
    /// Direct members, each with its kind.
    pub members: Vec<(Uuid, PrincipalKind, String)>,
}

fn not_found(what: &str) -> Failure {
    Failure::new(
        Kind::NotFound,
        "Request_ResourceNotFound",
        format!("{what} does not exist"),
    )
}

/// Every user the client provisioned, oldest first.
pub async fn users(app: &App, caller: &Caller) -> UseCaseResult<Vec<ScimUser>> {
    Ok(users_page(app, caller, 0, usize::MAX).await?.1)
}

/// `take` of the client's users after the first `skip` (oldest first), and how many it has in
/// all: only the page's users are read (a list costs its page, not the directory).
pub async fn users_page(
    app: &App,
    caller: &Caller,
    skip: usize,
    take: usize,
) -> UseCaseResult<(usize, Vec<ScimUser>)> {
    authorize::permits(caller, actions::USERS_READ)?;
    let mut tx = app.store.read().await?;
    let sources = tx.list_sourced(caller.id, "user").await?;
    let total = sources.len();
    let page: Vec<SourceRow> = sources.into_iter().skip(skip).take(take).collect();
    let users = source::users_in(&mut *tx, &page)
        .await?
        .into_iter()
        .map(|(source, user)| ScimUser { user, source })
        .collect();
    Ok((total, users))
}

/// One user the client provisioned; 404 for any other.
pub async fn user(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<ScimUser> {
    authorize::permits(caller, actions::USERS_READ)?;
    let mut tx = app.store.read().await?;
    let source = tx
        .get_source(id)
        .await?
        .filter(|s| s.client_id == caller.id && s.kind == "user")
        .ok_or_else(|| not_found("user"))?;
    let user = tx.get_user(id).await?.ok_or_else(|| not_found("user"))?;
    Ok(ScimUser { user, source })
}

/// The client's user with this userPrincipalName, if any.
pub async fn user_by_upn(app: &App, caller: &Caller, upn: &str) -> UseCaseResult<Option<ScimUser>> {
    authorize::permits(caller, actions::USERS_READ)?;
    let mut tx = app.store.read().await?;
    let Some(user) = tx.find_user_by_upn(upn).await? else {
        return Ok(None);
    };
    let source = tx
        .get_source(user.id)
        .await?
        .filter(|s| s.client_id == caller.id);
    Ok(source.map(|source| ScimUser { user, source }))
}

/// The client's principal of `kind` it knows as `external_id`, if any.
pub async fn by_external_id(
    app: &App,
    caller: &Caller,
    kind: &str,
    external_id: &str,
) -> UseCaseResult<Option<Uuid>> {
    authorize::permits(caller, actions::USERS_READ)?;
    let mut tx = app.store.read().await?;
    Ok(tx.find_by_external_id(caller.id, kind, external_id).await?)
}

/// Every group the client provisioned, oldest first, with their direct members.
pub async fn groups(app: &App, caller: &Caller) -> UseCaseResult<Vec<ScimGroup>> {
    Ok(groups_page(app, caller, 0, usize::MAX, true).await?.1)
}

/// `take` of the client's groups after the first `skip` (oldest first), with their direct
/// members when `members` (a client that excludes them is spared reading them), and how many
/// groups it has in all. Only the page's groups are read.
pub async fn groups_page(
    app: &App,
    caller: &Caller,
    skip: usize,
    take: usize,
    members: bool,
) -> UseCaseResult<(usize, Vec<ScimGroup>)> {
    authorize::permits(caller, actions::GROUPS_READ)?;
    let mut tx = app.store.read().await?;
    let sources = tx.list_sourced(caller.id, "group").await?;
    let total = sources.len();
    let page: Vec<SourceRow> = sources.into_iter().skip(skip).take(take).collect();
    let mut out = Vec::with_capacity(page.len());
    if members {
        for source in page {
            if let Some(g) = group_in(&mut *tx, source).await? {
                out.push(g);
            }
        }
        return Ok((total, out));
    }
    for chunk in page.chunks(1000) {
        let ids: Vec<Uuid> = chunk.iter().map(|s| s.principal_id).collect();
        let mut found: std::collections::HashMap<Uuid, Group> = tx
            .get_principals(&ids)
            .await?
            .into_iter()
            .filter_map(|p| match p {
                Principal::Group(g) => Some((g.id, g)),
                _ => None,
            })
            .collect();
        for s in chunk {
            if let Some(group) = found.remove(&s.principal_id) {
                out.push(ScimGroup {
                    group,
                    source: s.clone(),
                    members: Vec::new(),
                });
            }
        }
    }
    Ok((total, out))
}

async fn group_in(
    tx: &mut dyn eligo_store::Tx,
    source: SourceRow,
) -> UseCaseResult<Option<ScimGroup>> {
    let Some(group) = tx.get_group(source.principal_id).await? else {
        return Ok(None);
    };
    let ids = tx.relations_of_group(group.id, Relation::Member).await?;
    let members = tx
        .get_principals(&ids)
        .await?
        .into_iter()
        .map(|p| match p {
            Principal::User(u) => (u.id, PrincipalKind::User, u.display_name),
            Principal::Group(g) => (g.id, PrincipalKind::Group, g.display_name),
            Principal::ServicePrincipal(s) => {
                (s.id, PrincipalKind::ServicePrincipal, s.display_name)
            }
        })
        .collect();
    Ok(Some(ScimGroup {
        group,
        source,
        members,
    }))
}

/// One group the client provisioned; 404 for any other.
pub async fn group(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<ScimGroup> {
    authorize::permits(caller, actions::GROUPS_READ)?;
    let mut tx = app.store.read().await?;
    let source = tx
        .get_source(id)
        .await?
        .filter(|s| s.client_id == caller.id && s.kind == "group")
        .ok_or_else(|| not_found("group"))?;
    group_in(&mut *tx, source)
        .await?
        .ok_or_else(|| not_found("group"))
}

/// The kind of a principal the client provisioned; None for any other (or none).
pub async fn kind_of(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<Option<&'static str>> {
    let mut tx = app.store.read().await?;
    Ok(tx
        .get_source(id)
        .await?
        .filter(|s| s.client_id == caller.id)
        .map(|s| if s.kind == "group" { "Group" } else { "User" }))
}
