//! Directory reads, each behind its read decision: users, groups (readers see every group,
//! members and owners their own), service principals (anyone may read themselves) and, for the
//! portal's role pages, role definitions.

use eligo_core::authz::actions;
use eligo_core::directory::{Group, Relation, ServicePrincipal, User};
use eligo_store::{GroupQuery, Page, Principal, SignInIdentityRow, Tx, UserQuery};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

use super::{holders_of_group, transitive_groups, transitive_members};

/// A member or owner of a group as read back: mixed collections say what each entry is.
pub enum DirectoryObject {
    User(User),
    Group(Group),
    ServicePrincipal(ServicePrincipal),
}

/// The objects of `ids` that still exist, in that order.
async fn load_objects(tx: &mut dyn Tx, ids: &[Uuid]) -> UseCaseResult<Vec<DirectoryObject>> {
    // One read for the whole answer, not two statements per object.
    Ok(tx
        .get_principals(ids)
        .await?
        .into_iter()
        .map(|p| match p {
            Principal::User(u) => DirectoryObject::User(u),
            Principal::Group(g) => DirectoryObject::Group(g),
            Principal::ServicePrincipal(s) => DirectoryObject::ServicePrincipal(s),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Users.

/// Lists users for a caller who may read them: obtained from [`user_reader`] only, so nothing
/// lists users without the decision. The handler parses its query in between, so a refused
/// caller gets its 403 whatever it sent.
pub struct UserReader<'a> {
    app: &'a App,
}

pub fn user_reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<UserReader<'a>> {
    authorize::act(app, caller, actions::USERS_READ, false)?;
    Ok(UserReader { app })
}

impl UserReader<'_> {
    pub async fn list(&self, query: &UserQuery, page: Page) -> UseCaseResult<Vec<User>> {
        Ok(self.app.store.read().await?.list_users(query, page).await?)
    }
}

/// Anyone may read themselves; reading others needs a directory reader's role.
fn may_read_user(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    if caller.id != id {
        authorize::act(app, caller, actions::USERS_READ, false)?;
    }
    Ok(())
}

async fn existing_user(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<User> {
    tx.get_user(id)
        .await?
        .ok_or_else(|| Failure::not_found("user"))
}

pub async fn get_user(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<User> {
    may_read_user(app, caller, id)?;
    existing_user(&mut *app.store.read().await?, id).await
}

/// The user and the single sign-on identity it is bound to (Graph's `identities`).
pub async fn get_user_with_identity(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<(User, Option<SignInIdentityRow>)> {
    may_read_user(app, caller, id)?;
    let mut tx = app.store.read().await?;
    let user = existing_user(&mut *tx, id).await?;
    Ok((user, tx.get_sign_in_identity(id).await?))
}

/// The groups `id` is a direct member of.
pub async fn member_of(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Vec<DirectoryObject>> {
    may_read_user(app, caller, id)?;
    let mut tx = app.store.read().await?;
    existing_user(&mut *tx, id).await?;
    let groups = tx.groups_of_principal(id, Relation::Member).await?;
    load_objects(&mut *tx, &groups).await
}

/// Every group `id` is in now, directly or through nesting.
pub async fn transitive_member_of(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Vec<DirectoryObject>> {
    may_read_user(app, caller, id)?;
    let mut tx = app.store.read().await?;
    existing_user(&mut *tx, id).await?;
    load_objects(&mut *tx, &transitive_groups(app, id)).await
}

/// The given groups that `id` is in now, transitively (Graph's `checkMemberGroups`: at most 20).
pub async fn check_member_groups(
    app: &App,
    caller: &Caller,
    id: Uuid,
    group_ids: &[Uuid],
) -> UseCaseResult<Vec<Uuid>> {
    may_read_user(app, caller, id)?;
    if group_ids.len() > 20 {
        return Err(Failure::bad_request(
            "Request_BadRequest",
            "at most 20 group ids may be checked at once",
        ));
    }
    existing_user(&mut *app.store.read().await?, id).await?;
    let all = transitive_groups(app, id);
    Ok(group_ids
        .iter()
        .filter(|g| all.contains(g))
        .copied()
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Groups.

/// Lists groups for a caller who may read them all: obtained from [`group_reader`] only (see
/// [`UserReader`]).
pub struct GroupReader<'a> {
    app: &'a App,
}

pub fn group_reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<GroupReader<'a>> {
    authorize::act(app, caller, actions::GROUPS_READ, false)?;
    Ok(GroupReader { app })
}

impl GroupReader<'_> {
    pub async fn list(&self, query: &GroupQuery, page: Page) -> UseCaseResult<Vec<Group>> {
        Ok(self
            .app
            .store
            .read()
            .await?
            .list_groups(query, page)
            .await?)
    }
}

/// Readers see every group; members and owners see their own. An unknown group is 404 for
/// everyone (as it always was).
async fn readable_group(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Group> {
    let group = tx
        .get_group(id)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    if authorize::act(app, caller, actions::GROUPS_READ, false).is_err() {
        let mine = tx
            .relations_of_group(id, Relation::Owner)
            .await?
            .contains(&caller.id)
            || tx
                .relations_of_group(id, Relation::Member)
                .await?
                .contains(&caller.id);
        if !mine {
            return Err(Failure::forbidden(format!(
                "reading this group needs {}",
                actions::GROUPS_READ
            )));
        }
    }
    Ok(group)
}

pub async fn get_group(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<Group> {
    readable_group(app, &mut *app.store.read().await?, caller, id).await
}

/// A group's members (or owners) now, PIM for Groups included.
pub async fn group_relation(
    app: &App,
    caller: &Caller,
    id: Uuid,
    relation: Relation,
) -> UseCaseResult<Vec<DirectoryObject>> {
    let mut tx = app.store.read().await?;
    readable_group(app, &mut *tx, caller, id).await?;
    let ids = holders_of_group(&mut *tx, id, relation, app.clock.now()).await?;
    load_objects(&mut *tx, &ids).await
}

/// Everyone in a group now, directly or through nested groups.
pub async fn group_transitive_members(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Vec<DirectoryObject>> {
    let mut tx = app.store.read().await?;
    readable_group(app, &mut *tx, caller, id).await?;
    load_objects(&mut *tx, &transitive_members(app, id)).await
}

// ---------------------------------------------------------------------------------------------
// Service principals.

/// Lists service principals for a caller who may read them: obtained from
/// [`service_principal_reader`] only (see [`UserReader`]).
pub struct ServicePrincipalReader<'a> {
    app: &'a App,
}

pub fn service_principal_reader<'a>(
    app: &'a App,
    caller: &Caller,
) -> UseCaseResult<ServicePrincipalReader<'a>> {
    authorize::act(app, caller, actions::SERVICE_PRINCIPALS_READ, false)?;
    Ok(ServicePrincipalReader { app })
}

impl ServicePrincipalReader<'_> {
    pub async fn list(&self, page: Page) -> UseCaseResult<Vec<ServicePrincipal>> {
        Ok(self
            .app
            .store
            .read()
            .await?
            .list_service_principals(&Default::default(), page)
            .await?)
    }
}

/// A service principal may read itself; reading others needs the read permission.
pub async fn get_service_principal(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<ServicePrincipal> {
    if caller.id != id {
        authorize::act(app, caller, actions::SERVICE_PRINCIPALS_READ, false)?;
    }
    app.store
        .read()
        .await?
        .get_service_principal(id)
        .await?
        .ok_or_else(|| Failure::not_found("service principal"))
}

// ---------------------------------------------------------------------------------------------
// Role definitions.

/// May the caller browse role definitions with what is known about each (the portal's list of
/// roles)? Not audited, like every read.
pub fn may_read_role_definitions(app: &App, caller: &Caller) -> UseCaseResult<()> {
    Ok(authorize::act(
        app,
        caller,
        actions::ROLE_DEFINITIONS_READ,
        false,
    )?)
}
