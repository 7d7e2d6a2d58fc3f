//! Directory use cases: users, groups, memberships and ownerships, service principals and
//! custom roles. Each authorizes the caller, validates in the core, and writes the change with
//! its audit entry in one transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::authz::{AccountChange, GroupChange, Operation, Protection, actions};
use eligo_core::directory::{self as dir, Group, PrincipalKind, Relation, ServicePrincipal, User};
use eligo_core::directory_changes as changes;
use eligo_core::invalid::Invalid;
use eligo_core::roles::{self, RoleDefinition, RolePermission};
use eligo_core::schedule::ScheduleKind;
use eligo_core::source::Change as SourceChange;
use eligo_core::target::{GroupAccess, Target as AccessTarget};
use eligo_store::Tx;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, password, token};
use crate::failure::{Failure, UseCaseResult};
use crate::service::bootstrap::BREAKGLASS_UPN;
use crate::service::pim::cascade;
use crate::service::{access, authority, authorize, sessions};

pub mod identities;
mod reads;
mod search;
pub mod source;
pub use reads::{
    DirectoryObject, GroupReader, ServicePrincipalReader, UserReader, check_member_groups,
    get_group, get_service_principal, get_user, get_user_with_identity, group_reader,
    group_relation, group_transitive_members, may_read_role_definitions, member_of,
    service_principal_reader, transitive_member_of, user_reader,
};
pub use search::{Candidate, Found, Kinds, find_principals, listable, named_exactly, search};
pub use source::Provisioned;

pub struct NewUser {
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub mail_nickname: Option<String>,
    pub password: Option<String>,
    pub manager_id: Option<Uuid>,
    pub account_enabled: bool,
}

#[derive(Default)]
pub struct UserPatch {
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<Option<String>>,
    pub manager_id: Option<Option<Uuid>>,
    pub account_enabled: Option<bool>,
    pub password: Option<String>,
    /// From an inbound SCIM client: its externalId and attributes, replaced whole.
    pub provisioned: Option<Provisioned>,
    /// Graph's `identities`, replaced whole: the single sign-on identity the account is bound
    /// to (`identities::requested`).
    pub identities: Option<Vec<identities::IdentityInput>>,
}

fn collect(results: impl IntoIterator<Item = Result<(), Invalid>>) -> UseCaseResult<()> {
    let broken: Vec<Invalid> = results.into_iter().filter_map(Result::err).collect();
    match broken.len() {
        0 => Ok(()),
        1 => Err(broken.into_iter().next().expect("one").into()),
        _ => Err(Failure::invalid_all(
            "Request_BadRequest",
            "several fields are invalid",
            broken,
        )),
    }
}

async fn require_manager(tx: &mut dyn Tx, manager: Option<Uuid>) -> UseCaseResult<()> {
    if let Some(m) = manager
        && tx.get_user(m).await?.is_none()
    {
        return Err(
            Failure::bad_request("InvalidManager", format!("manager {m} is not a user"))
                .with_detail("InvalidManager", "managerId"),
        );
    }
    Ok(())
}

/// The portal's question before it shows the new-user form: may this caller create users at
/// all? Not audited: showing a form changes nothing, and `create_user` decides (and audits a
/// refusal) when it is sent.
pub fn may_create_user(app: &App, caller: &Caller) -> UseCaseResult<()> {
    Ok(authorize::act(app, caller, actions::USERS_CREATE, false)?)
}

pub async fn create_user(app: &App, caller: &Caller, new: NewUser) -> UseCaseResult<User> {
    create_user_from(app, caller, new, None).await
}

/// `create_user`, recording what a provisioning client says about the user (its source) in
/// the same transaction.
pub async fn create_user_from(
    app: &App,
    caller: &Caller,
    new: NewUser,
    provisioned: Option<Provisioned>,
) -> UseCaseResult<User> {
    authorize::audited(
        app,
        caller,
        "Add user",
        Category::UserManagement,
        create_user_authorized(app, caller, new, provisioned),
    )
    .await
}

async fn create_user_authorized(
    app: &App,
    caller: &Caller,
    new: NewUser,
    provisioned: Option<Provisioned>,
) -> UseCaseResult<User> {
    authorize::act(app, caller, actions::USERS_CREATE, false)?;
    collect([
        dir::validate_upn(&new.user_principal_name),
        dir::validate_display_name(&new.display_name),
        new.mail.as_deref().map_or(Ok(()), dir::validate_mail),
        new.mail_nickname
            .as_deref()
            .map_or(Ok(()), dir::validate_mail_nickname),
        new.password
            .as_deref()
            .map_or(Ok(()), dir::validate_password),
    ])?;
    let now = app.clock.now();
    let user = User {
        id: Uuid::new_v4(),
        user_principal_name: new.user_principal_name,
        display_name: new.display_name,
        mail: new.mail,
        mail_nickname: new.mail_nickname,
        manager_id: new.manager_id,
        account_enabled: new.account_enabled,
        created_date_time: now,
    };
    // Hash before taking the write lock: argon2 is deliberately slow.
    let hash = new.password.as_deref().map(password::hash);
    let mut tx = app.store.write().await?;
    require_manager(&mut *tx, user.manager_id).await?;
    if authorize::is_provisioning(caller)
        && let Some(manager) = user.manager_id
    {
        source::require(&mut *tx, caller, manager, SourceChange::Owned).await?;
    }
    tx.insert_user(&user).await?;
    source::record(&mut *tx, caller, user.id, "user", provisioned, now).await?;
    if let Some(hash) = hash {
        tx.put_credential(
            user.id,
            sessions::PASSWORD,
            &json!({ "hash": hash }),
            now.timestamp_micros(),
        )
        .await?;
    }
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "Add user",
            caller.initiator(),
        )
        .target_user(user.id, &user.display_name, &user.user_principal_name)
        .modified_all(changes::user(None, Some(&user))),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Privileged accounts (threat-model rule 1: anyone who holds, may activate or can reach a
/// role, controls a protected group, approves, or manages an approver) are changed only from
/// above (rule 2): a User or Helpdesk Administrator must not take over a Global Administrator's
/// owner, approver or manager by resetting a password or redirecting their mail.
async fn authorize_account_change(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    target: Uuid,
    changes: &[AccountChange],
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let protection = access::privilege::of_principal(app, tx, target, now).await?;
    for &change in changes {
        authorize::check(app, caller, Operation::Account(change), &protection)?;
    }
    Ok(())
}

impl UserPatch {
    /// The kinds of change this patch makes, for authorization.
    fn changes(&self) -> Vec<AccountChange> {
        let mut out = Vec::new();
        if self.display_name.is_some() {
            out.push(AccountChange::Profile);
        }
        if self.user_principal_name.is_some()
            || self.mail.is_some()
            || self.manager_id.is_some()
            || self.account_enabled == Some(true)
        {
            out.push(AccountChange::Steering);
        }
        if self.account_enabled == Some(false) {
            out.push(AccountChange::Disable);
        }
        // The identity a provider signs the account in with is a credential like its password.
        if self.password.is_some() || self.identities.is_some() {
            out.push(AccountChange::Credentials);
        }
        out
    }
}

pub async fn update_user(
    app: &App,
    caller: &Caller,
    id: Uuid,
    patch: UserPatch,
) -> UseCaseResult<User> {
    let activity = if patch.password.is_some() {
        "Reset user password"
    } else {
        "Update user"
    };
    authorize::audited(
        app,
        caller,
        activity,
        Category::UserManagement,
        update_user_authorized(app, caller, id, patch),
    )
    .await
}

async fn update_user_authorized(
    app: &App,
    caller: &Caller,
    id: Uuid,
    patch: UserPatch,
) -> UseCaseResult<User> {
    let changes = patch.changes();
    if changes.is_empty() {
        // Nothing to change still needs the right to change it.
        authorize::check(
            app,
            caller,
            Operation::Account(AccountChange::Profile),
            &Protection::Ordinary,
        )?;
    }
    // The permission alone first (a target's protection is read under the write lock below).
    for &change in &changes {
        authorize::check(
            app,
            caller,
            Operation::Account(change),
            &Protection::Ordinary,
        )?;
    }
    collect([
        patch
            .user_principal_name
            .as_deref()
            .map_or(Ok(()), dir::validate_upn),
        patch
            .display_name
            .as_deref()
            .map_or(Ok(()), dir::validate_display_name),
        patch
            .mail
            .as_ref()
            .and_then(|m| m.as_deref())
            .map_or(Ok(()), dir::validate_mail),
        patch
            .password
            .as_deref()
            .map_or(Ok(()), dir::validate_password),
    ])?;
    if patch.manager_id == Some(Some(id)) {
        return Err(Failure::bad_request(
            "InvalidManager",
            "a user cannot be their own manager",
        ));
    }
    let now = app.clock.now();
    let hash = patch.password.as_deref().map(password::hash);
    let mut tx = app.store.write().await?;
    let mut user = tx
        .get_user(id)
        .await?
        .ok_or_else(|| Failure::not_found("user"))?;
    authorize_account_change(app, &mut *tx, caller, id, &changes, now).await?;
    let owned = patch.user_principal_name.is_some()
        || patch.display_name.is_some()
        || patch.mail.is_some()
        || patch.manager_id.is_some()
        || patch.account_enabled == Some(true)
        || patch.provisioned.is_some()
        || authorize::is_provisioning(caller);
    if owned {
        source::require(&mut *tx, caller, id, SourceChange::Owned).await?;
    } else if patch.account_enabled == Some(false) {
        source::require(&mut *tx, caller, id, SourceChange::Disable).await?;
    }
    if authorize::is_provisioning(caller)
        && let Some(Some(manager)) = patch.manager_id
    {
        source::require(&mut *tx, caller, manager, SourceChange::Owned).await?;
    }
    let identity = match &patch.identities {
        Some(list) => {
            let upn = patch
                .user_principal_name
                .as_deref()
                .unwrap_or(&user.user_principal_name);
            let wanted = identities::requested(app, upn, list)?;
            let break_glass = [upn, user.user_principal_name.as_str()]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(BREAKGLASS_UPN));
            if wanted.is_some() && break_glass {
                return Err(Failure::bad_request(
                    "Request_BadRequest",
                    "the emergency-access account signs in with its local credential only",
                ));
            }
            Some(wanted)
        }
        None => None,
    };
    let source_changed =
        source::record(&mut *tx, caller, id, "user", patch.provisioned, now).await?;
    let before = user.clone();
    let disabling = patch.account_enabled == Some(false) && user.account_enabled;
    let patch_password = hash.is_some();
    let mut changed = Vec::new();
    if let Some(v) = patch.user_principal_name {
        user.user_principal_name = v;
        changed.push("userPrincipalName");
    }
    if let Some(v) = patch.display_name {
        user.display_name = v;
        changed.push("displayName");
    }
    if let Some(v) = patch.mail {
        user.mail = v;
        changed.push("mail");
    }
    if let Some(v) = patch.manager_id {
        require_manager(&mut *tx, v).await?;
        user.manager_id = v;
        changed.push("managerId");
    }
    if let Some(v) = patch.account_enabled {
        user.account_enabled = v;
        changed.push("accountEnabled");
    }
    if !changed.is_empty() {
        tx.update_user(&user).await?;
    }
    if let Some(hash) = hash {
        tx.put_credential(
            id,
            sessions::PASSWORD,
            &json!({ "hash": hash }),
            now.timestamp_micros(),
        )
        .await?;
        tx.append_audit(
            AuditEvent::new(
                now,
                Category::UserManagement,
                "Reset user password",
                caller.initiator(),
            )
            .target_user(id, &user.display_name, &user.user_principal_name)
            .modified_secret("passwordProfile"),
        )
        .await?;
    }
    let identity_changed = match &identity {
        Some(wanted) => identities::replace(&mut *tx, id, wanted.as_ref(), now).await?,
        None => None,
    };
    let mut modified = changes::user(Some(&before), Some(&user));
    modified.extend(source_changed);
    modified.extend(identity_changed.clone());
    if !modified.is_empty() {
        tx.append_audit(
            AuditEvent::new(
                now,
                Category::UserManagement,
                "Update user",
                caller.initiator(),
            )
            .target_user(id, &before.display_name, &before.user_principal_name)
            .modified_all(modified),
        )
        .await?;
    }
    // Rule 6: a credential change ends the account's other sessions (the acting one is kept
    // when people change their own); disabling ends every session and activation.
    if disabling {
        cascade::after_principal_disabled(&mut *tx, id, &caller.initiator(), now).await?;
    } else if patch_password || identity_changed.is_some() {
        let keep = (caller.id == id).then_some(caller.session.token_hash.as_str());
        tx.revoke_tokens_of(id, keep, now).await?;
    }
    tx.commit().await?;
    Ok(user)
}

pub async fn delete_user(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Delete user",
        Category::UserManagement,
        delete_user_authorized(app, caller, id),
    )
    .await
}

async fn delete_user_authorized(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::check(
        app,
        caller,
        Operation::Account(AccountChange::Delete),
        &Protection::Ordinary,
    )?;
    if id == caller.id {
        return Err(Failure::bad_request(
            "CannotDeleteSelf",
            "you cannot delete your own account",
        ));
    }
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let user = tx
        .get_user(id)
        .await?
        .ok_or_else(|| Failure::not_found("user"))?;
    authorize_account_change(app, &mut *tx, caller, id, &[AccountChange::Delete], now).await?;
    source::require(&mut *tx, caller, id, SourceChange::Owned).await?;
    tx.delete_principal(id).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "Delete user",
            caller.initiator(),
        )
        .target_user(id, &user.display_name, &user.user_principal_name)
        .modified_all(changes::user(Some(&user), None)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct NewGroup {
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: Option<String>,
    pub security_enabled: bool,
    pub is_assignable_to_role: bool,
}

#[derive(Default)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    /// From an inbound SCIM client: its externalId and attributes, replaced whole.
    pub provisioned: Option<Provisioned>,
}

/// The portal's question before it shows the new-group form: may this caller create some kind
/// of group (`create_group` decides which, and audits a refusal)? Not audited: showing a form
/// changes nothing.
pub fn may_create_group(app: &App, caller: &Caller) -> UseCaseResult<()> {
    if authorize::act(app, caller, actions::RA_GROUPS_CREATE, false).is_ok() {
        return Ok(());
    }
    Ok(authorize::act(app, caller, actions::GROUPS_CREATE, false)?)
}

pub async fn create_group(app: &App, caller: &Caller, new: NewGroup) -> UseCaseResult<Group> {
    create_group_from(app, caller, new, None).await
}

/// `create_group`, recording what a provisioning client says about the group (its source) in
/// the same transaction.
pub async fn create_group_from(
    app: &App,
    caller: &Caller,
    new: NewGroup,
    provisioned: Option<Provisioned>,
) -> UseCaseResult<Group> {
    authorize::audited(
        app,
        caller,
        "Add group",
        Category::GroupManagement,
        create_group_authorized(app, caller, new, provisioned),
    )
    .await
}

async fn create_group_authorized(
    app: &App,
    caller: &Caller,
    new: NewGroup,
    provisioned: Option<Provisioned>,
) -> UseCaseResult<Group> {
    authorize_new_group(app, caller, &new)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let group = insert_group(&mut *tx, caller, new, provisioned, now).await?;
    tx.commit().await?;
    Ok(group)
}

/// May `caller` create this group, and is it well formed?
fn authorize_new_group(app: &App, caller: &Caller, new: &NewGroup) -> UseCaseResult<()> {
    let action = if new.is_assignable_to_role {
        actions::RA_GROUPS_CREATE
    } else {
        actions::GROUPS_CREATE
    };
    authorize::act(app, caller, action, true)?;
    collect([
        dir::validate_display_name(&new.display_name),
        new.description
            .as_deref()
            .map_or(Ok(()), dir::validate_description),
        new.mail_nickname
            .as_deref()
            .map_or(Ok(()), dir::validate_mail_nickname),
    ])?;
    if new.is_assignable_to_role && !new.security_enabled {
        return Err(Failure::bad_request(
            "InvalidGroup",
            "a role-assignable group must be a security group",
        )
        .with_detail("InvalidGroup", "securityEnabled"));
    }
    Ok(())
}

/// Writes a new group (already authorized and validated) with its source and audit entry.
async fn insert_group(
    tx: &mut dyn Tx,
    caller: &Caller,
    new: NewGroup,
    provisioned: Option<Provisioned>,
    now: DateTime<Utc>,
) -> UseCaseResult<Group> {
    let group = Group {
        id: Uuid::new_v4(),
        display_name: new.display_name,
        description: new.description,
        mail_nickname: new.mail_nickname,
        security_enabled: new.security_enabled,
        is_assignable_to_role: new.is_assignable_to_role,
        created_date_time: now,
    };
    tx.insert_group(&group).await?;
    source::record(tx, caller, group.id, "group", provisioned, now).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::GroupManagement,
            "Add group",
            caller.initiator(),
        )
        .target(group.id, "Group", Some(&group.display_name))
        .modified_all(changes::group(None, Some(&group)))
        .detail(
            "isAssignableToRole",
            group.is_assignable_to_role.to_string(),
        ),
    )
    .await?;
    Ok(group)
}

pub async fn update_group(
    app: &App,
    caller: &Caller,
    id: Uuid,
    patch: GroupPatch,
) -> UseCaseResult<Group> {
    authorize::audited(
        app,
        caller,
        "Update group",
        Category::GroupManagement,
        update_group_authorized(app, caller, id, patch),
    )
    .await
}

async fn update_group_authorized(
    app: &App,
    caller: &Caller,
    id: Uuid,
    patch: GroupPatch,
) -> UseCaseResult<Group> {
    validate_group_patch(&patch)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let group = change_group(app, &mut *tx, caller, id, patch, now).await?;
    tx.commit().await?;
    Ok(group)
}

fn validate_group_patch(patch: &GroupPatch) -> UseCaseResult<()> {
    collect([
        patch
            .display_name
            .as_deref()
            .map_or(Ok(()), dir::validate_display_name),
        patch
            .description
            .as_ref()
            .and_then(|d| d.as_deref())
            .map_or(Ok(()), dir::validate_description),
    ])
}

/// Changes a group's names (and its source's record) after validation, authorized here, in
/// the caller's transaction.
async fn change_group(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    id: Uuid,
    patch: GroupPatch,
    now: DateTime<Utc>,
) -> UseCaseResult<Group> {
    let mut group = tx
        .get_group(id)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    authorize_group_change(app, tx, caller, &group, GroupChange::Update).await?;
    source::require(tx, caller, id, SourceChange::Owned).await?;
    let source_changed = source::record(tx, caller, id, "group", patch.provisioned, now).await?;
    let before = group.clone();
    if let Some(v) = patch.display_name {
        group.display_name = v;
    }
    if let Some(v) = patch.description {
        group.description = v;
    }
    if group != before {
        tx.update_group(&group).await?;
    }
    let mut modified = changes::group(Some(&before), Some(&group));
    modified.extend(source_changed);
    if modified.is_empty() {
        // Nothing changed, so nothing is audited.
        return Ok(group);
    }
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::GroupManagement,
            "Update group",
            caller.initiator(),
        )
        .target(id, "Group", Some(&before.display_name))
        .modified_all(modified),
    )
    .await?;
    Ok(group)
}

/// What a provisioning client (inbound SCIM) asks of a group in one request: create it, or
/// change its names, and make its direct members exactly `members`.
pub enum GroupWrite {
    Create(NewGroup),
    Change(Uuid, GroupPatch),
}

/// Does all of `write` and the member changes in one transaction: every step authorized,
/// checked and audited as it would be alone, and nothing at all when any step is refused (a
/// client's request is whole or not at all). Members are added and removed in id order.
pub async fn provision_group(
    app: &App,
    caller: &Caller,
    write: GroupWrite,
    provisioned: Option<Provisioned>,
    members: &BTreeSet<Uuid>,
) -> UseCaseResult<Group> {
    let (activity, target) = match &write {
        GroupWrite::Create(_) => ("Add group", None),
        GroupWrite::Change(id, _) => ("Update group", Some(*id)),
    };
    let result = authorize::audited(
        app,
        caller,
        activity,
        Category::GroupManagement,
        provision_group_authorized(app, caller, write, provisioned, members),
    )
    .await;
    match target {
        Some(id) => {
            crate::service::separation::audit_refusal(
                app,
                caller,
                Category::GroupManagement,
                activity,
                (id, "Group"),
                result,
            )
            .await
        }
        None => result,
    }
}

async fn provision_group_authorized(
    app: &App,
    caller: &Caller,
    write: GroupWrite,
    provisioned: Option<Provisioned>,
    members: &BTreeSet<Uuid>,
) -> UseCaseResult<Group> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let group = match write {
        GroupWrite::Create(new) => {
            authorize_new_group(app, caller, &new)?;
            insert_group(&mut *tx, caller, new, provisioned, now).await?
        }
        GroupWrite::Change(id, mut patch) => {
            validate_group_patch(&patch)?;
            if provisioned.is_some() {
                patch.provisioned = provisioned;
            }
            let names_change = patch.display_name.is_some()
                || patch.description.is_some()
                || patch.provisioned.is_some();
            if names_change {
                change_group(app, &mut *tx, caller, id, patch, now).await?
            } else {
                // Only the members: each change below is authorized on its own.
                tx.get_group(id)
                    .await?
                    .ok_or_else(|| Failure::not_found("group"))?
            }
        }
    };
    let current: BTreeSet<Uuid> = tx
        .relations_of_group(group.id, Relation::Member)
        .await?
        .into_iter()
        .collect();
    for gone in current.difference(members) {
        remove_relation_in(app, &mut *tx, caller, &group, *gone, Relation::Member, now).await?;
    }
    for new in members.difference(&current) {
        add_relation_in(app, &mut *tx, caller, &group, *new, Relation::Member, now).await?;
    }
    tx.commit().await?;
    Ok(group)
}

pub async fn delete_group(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Delete group",
        Category::GroupManagement,
        delete_group_authorized(app, caller, id),
    )
    .await
}

async fn delete_group_authorized(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let group = tx
        .get_group(id)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    authorize_group_change(app, &mut *tx, caller, &group, GroupChange::Delete).await?;
    source::require(&mut *tx, caller, id, SourceChange::Owned).await?;
    // Deleting a mapped group would orphan its downstream members, who would keep access.
    if !tx.list_mappings(Some(id), None).await?.is_empty() {
        return Err(Failure::conflict(
            "GroupIsProvisioned",
            "this group is provisioned to a downstream system; remove its provisioning first",
        ));
    }
    // A group an access package hands out stays while the package uses it (409 naming it).
    crate::service::entitlement::protect::before_delete(
        &mut *tx,
        eligo_core::entitlement::resource::OriginSystem::AadGroup,
        id,
    )
    .await?;
    // Eligibilities the group holds go with it, and so do the activations drawn from them.
    let held = tx
        .list_role_schedules(&eligo_store::ScheduleQuery {
            kind: Some(ScheduleKind::Eligible),
            principal_ids: Some(vec![id]),
            targets: eligo_store::Targets::All,
            ..Default::default()
        })
        .await?;
    for mut eligibility in held.into_iter().filter(|e| !e.has_ended(now)) {
        crate::service::pim::admin::end_now(&mut eligibility, now);
        cascade::activations_of_eligibility(
            app,
            &mut *tx,
            &eligibility,
            "group deleted",
            &caller.initiator(),
            now,
        )
        .await?;
    }
    tx.delete_principal(id).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::GroupManagement,
            "Delete group",
            caller.initiator(),
        )
        .target(id, "Group", Some(&group.display_name))
        .modified_all(changes::group(Some(&group), None)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Would making `member` a member of `group` close a loop? True when `group` is already
/// reachable from `member` by following memberships downwards.
async fn creates_cycle(tx: &mut dyn Tx, group: Uuid, member: Uuid) -> UseCaseResult<bool> {
    if group == member {
        return Ok(true);
    }
    let mut stack = vec![member];
    let mut seen = std::collections::HashSet::new();
    while let Some(g) = stack.pop() {
        if !seen.insert(g) {
            continue;
        }
        for m in tx.relations_of_group(g, Relation::Member).await? {
            if m == group {
                return Ok(true);
            }
            if tx.principal_kind(m).await? == Some(PrincipalKind::Group) {
                stack.push(m);
            }
        }
    }
    Ok(false)
}

/// Does the portal show `caller` the form to change `group`'s members (owners)? Those whose role
/// allows it for a group of this kind (role-assignable or not), and the group's owners, directly
/// or through an activated ownership. Only to decide what to show: the change itself is decided
/// by [`authorize_relation_change`] against the group's full protection.
pub fn may_change_relation(app: &App, caller: &Caller, group: &Group, relation: Relation) -> bool {
    let action = match (relation, group.is_assignable_to_role) {
        (Relation::Member, false) => actions::GROUPS_MEMBERS,
        (Relation::Member, true) => actions::RA_GROUPS_MEMBERS,
        (Relation::Owner, false) => actions::GROUPS_OWNERS,
        (Relation::Owner, true) => actions::RA_GROUPS_OWNERS,
    };
    authorize::act(app, caller, action, false).is_ok()
        || app
            .access
            .owner_of(caller.id, group.id, app.clock.now())
            .allowed
}

/// A group's direct members are its source's (ownerships stay Eligo's); a provisioning client
/// names only members it provisioned itself.
async fn require_relation_authority(
    tx: &mut dyn Tx,
    caller: &Caller,
    group: Uuid,
    principal: Uuid,
    relation: Relation,
) -> UseCaseResult<()> {
    if relation == Relation::Member || authorize::is_provisioning(caller) {
        source::require(tx, caller, group, SourceChange::Owned).await?;
    }
    if authorize::is_provisioning(caller) {
        source::require(tx, caller, principal, SourceChange::Owned).await?;
    }
    Ok(())
}

/// Authorizes a change to a group itself (update, delete) against its protection.
async fn authorize_group_change(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    group: &Group,
    change: GroupChange,
) -> UseCaseResult<()> {
    let protection = access::privilege::of_group(app, tx, group.id, app.clock.now()).await?;
    authorize::check(app, caller, Operation::Group(change), &protection)?;
    Ok(())
}

pub async fn add_relation(
    app: &App,
    caller: &Caller,
    group_id: Uuid,
    principal: Uuid,
    relation: Relation,
) -> UseCaseResult<()> {
    let activity = match relation {
        Relation::Member => "Add member to group",
        Relation::Owner => "Add owner to group",
    };
    let result = authorize::audited(
        app,
        caller,
        activity,
        Category::GroupManagement,
        add_relation_authorized(app, caller, group_id, principal, relation),
    )
    .await;
    crate::service::separation::audit_refusal(
        app,
        caller,
        Category::GroupManagement,
        activity,
        (group_id, "Group"),
        result,
    )
    .await
}

async fn add_relation_authorized(
    app: &App,
    caller: &Caller,
    group_id: Uuid,
    principal: Uuid,
    relation: Relation,
) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let group = tx
        .get_group(group_id)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    add_relation_in(app, &mut *tx, caller, &group, principal, relation, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a direct relation to `group` in the caller's transaction, authorized, checked (nesting,
/// cycles, separation of duties) and audited here.
async fn add_relation_in(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    group: &Group,
    principal: Uuid,
    relation: Relation,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let group_id = group.id;
    let kind = tx.principal_kind(principal).await?.ok_or_else(|| {
        Failure::new(
            crate::failure::Kind::NotFound,
            "Request_ResourceNotFound",
            format!("principal {principal} does not exist"),
        )
        .with_detail("UnknownPrincipal", "id")
    })?;
    authority::authorize_relation_change(app, tx, caller, group, principal, relation, true).await?;
    require_relation_authority(tx, caller, group_id, principal, relation).await?;
    dir::check_nesting(group, kind, relation)?;
    if relation == Relation::Member
        && kind == PrincipalKind::Group
        && creates_cycle(tx, group_id, principal).await?
    {
        return Err(Failure::bad_request(
            "NestingCycle",
            "this nesting would make the group a member of itself",
        )
        .with_detail("NestingCycle", "id"));
    }
    if relation == Relation::Member {
        // Separation of duties: the new member, or every member of the nested group, gains
        // this group and every group it is in.
        let mut affected = vec![principal];
        if kind == PrincipalKind::Group {
            affected.extend(transitive_members(app, principal));
        }
        crate::service::separation::check_membership(app, tx, group_id, &affected).await?;
    }
    let added = tx
        .add_relation(group_id, principal, relation, now.timestamp_micros())
        .await?;
    if !added {
        return Err(Failure::bad_request(
            "Request_BadRequest",
            format!(
                "one or more added object references already exist ({} of this group)",
                relation.as_str()
            ),
        )
        .with_detail("ObjectConflict", "id"));
    }
    let activity = match relation {
        Relation::Member => "Add member to group",
        Relation::Owner => "Add owner to group",
    };
    let who = access::principal_summary(tx, principal).await?;
    tx.append_audit(relation_event(
        AuditEvent::new(now, Category::GroupManagement, activity, caller.initiator())
            .target(group_id, "Group", Some(&group.display_name))
            .modified(relation_property(relation), "", principal.to_string()),
        principal,
        who.as_ref(),
    ))
    .await?;
    Ok(())
}

pub async fn remove_relation(
    app: &App,
    caller: &Caller,
    group_id: Uuid,
    principal: Uuid,
    relation: Relation,
) -> UseCaseResult<()> {
    let activity = match relation {
        Relation::Member => "Remove member from group",
        Relation::Owner => "Remove owner from group",
    };
    authorize::audited(
        app,
        caller,
        activity,
        Category::GroupManagement,
        remove_relation_authorized(app, caller, group_id, principal, relation),
    )
    .await
}

async fn remove_relation_authorized(
    app: &App,
    caller: &Caller,
    group_id: Uuid,
    principal: Uuid,
    relation: Relation,
) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let group = tx
        .get_group(group_id)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    remove_relation_in(app, &mut *tx, caller, &group, principal, relation, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a direct relation from `group` in the caller's transaction, authorized and audited
/// here (with what the member held through the group).
async fn remove_relation_in(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    group: &Group,
    principal: Uuid,
    relation: Relation,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let group_id = group.id;
    authority::authorize_relation_change(app, tx, caller, group, principal, relation, false)
        .await?;
    require_relation_authority(tx, caller, group_id, principal, relation).await?;
    if relation == Relation::Owner {
        let owners = tx.relations_of_group(group_id, Relation::Owner).await?;
        if owners == [principal]
            && group.is_assignable_to_role
            && !crate::service::authorize::may(app, caller, actions::RA_GROUPS_OWNERS)
        {
            return Err(Failure::bad_request(
                "LastOwner",
                "the last owner of a role-assignable group can only be removed by a role administrator",
            ));
        }
    }
    if !remove_relation_as(
        app,
        tx,
        group,
        principal,
        relation,
        &caller.initiator(),
        Vec::new(),
        now,
    )
    .await?
    {
        return Err(Failure::not_found(&format!(
            "{} {principal} of this group",
            relation.as_str()
        )));
    }
    Ok(())
}

/// Removes a direct relation as `initiator` (an administrator, after authorization; or Eligo
/// itself, for an access review's Deny), with what the member held through the group, and
/// audits it with `details`. False when there was no such relation.
#[allow(clippy::too_many_arguments)]
pub async fn remove_relation_as(
    app: &App,
    tx: &mut dyn Tx,
    group: &Group,
    principal: Uuid,
    relation: Relation,
    initiator: &Initiator,
    details: Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let who = access::principal_summary(tx, principal).await?;
    if !tx.remove_relation(group.id, principal, relation).await? {
        return Ok(false);
    }
    if relation == Relation::Member {
        cascade::after_membership_removed(app, tx, group.id, principal, initiator, now).await?;
    }
    let activity = match relation {
        Relation::Member => "Remove member from group",
        Relation::Owner => "Remove owner from group",
    };
    let event = AuditEvent::new(now, Category::GroupManagement, activity, initiator.clone())
        .target(group.id, "Group", Some(&group.display_name))
        .modified(relation_property(relation), principal.to_string(), "");
    let event = details.into_iter().fold(event, |e, (k, v)| e.detail(k, v));
    tx.append_audit(relation_event(event, principal, who.as_ref()))
        .await?;
    Ok(true)
}

/// The group's property a membership change modifies (its value: the member's id).
fn relation_property(relation: Relation) -> &'static str {
    match relation {
        Relation::Member => "members",
        Relation::Owner => "owners",
    }
}

/// The member as the change's second target, with its name and UPN as they are now (so the
/// entry is found by them later, whatever happens to the member).
fn relation_event(
    event: AuditEvent,
    principal: Uuid,
    who: Option<&access::PrincipalSummary>,
) -> AuditEvent {
    match who {
        Some(p) => match &p.upn {
            Some(upn) => event.target_user(principal, &p.display_name, upn),
            None => event.target(principal, p.kind.type_name(), Some(&p.display_name)),
        },
        None => event.target(principal, "DirectoryObject", None),
    }
}

/// Creates a service principal and its client secret; the secret is returned once, never stored.
pub async fn create_service_principal(
    app: &App,
    caller: &Caller,
    display_name: String,
) -> UseCaseResult<(ServicePrincipal, String)> {
    authorize::audited(
        app,
        caller,
        "Add service principal",
        Category::ApplicationManagement,
        create_service_principal_authorized(app, caller, display_name),
    )
    .await
}

async fn create_service_principal_authorized(
    app: &App,
    caller: &Caller,
    display_name: String,
) -> UseCaseResult<(ServicePrincipal, String)> {
    authorize::act(app, caller, actions::SERVICE_PRINCIPALS_CREATE, false)?;
    dir::validate_display_name(&display_name)?;
    let now = app.clock.now();
    let sp = ServicePrincipal {
        id: Uuid::new_v4(),
        display_name,
        app_id: Uuid::new_v4(),
        account_enabled: true,
        created_date_time: now,
    };
    let secret = token::generate("elgs_");
    let mut tx = app.store.write().await?;
    tx.insert_service_principal(&sp).await?;
    tx.put_credential(
        sp.id,
        sessions::CLIENT_SECRET,
        &json!({ "hash": token::digest(&secret) }),
        now.timestamp_micros(),
    )
    .await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::ApplicationManagement,
            "Add service principal",
            caller.initiator(),
        )
        .target(sp.id, "ServicePrincipal", Some(&sp.display_name))
        .modified_all(changes::service_principal(None, Some(&sp)))
        .modified_secret("clientSecret"),
    )
    .await?;
    tx.commit().await?;
    Ok((sp, secret))
}

pub async fn delete_service_principal(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Remove service principal",
        Category::ApplicationManagement,
        delete_service_principal_authorized(app, caller, id),
    )
    .await
}

async fn delete_service_principal_authorized(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<()> {
    authorize::act(app, caller, actions::SERVICE_PRINCIPALS_DELETE, false)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let sp = tx
        .get_service_principal(id)
        .await?
        .ok_or_else(|| Failure::not_found("service principal"))?;
    // A privileged service principal is managed only from above, like a privileged person.
    let protection = access::privilege::of_principal(app, &mut *tx, id, now).await?;
    if let Protection::Privileged(reason) = protection {
        if !crate::service::authorize::may(app, caller, actions::PRIVILEGED_CREDENTIALS) {
            return Err(eligo_core::authz::Denied::PrivilegedTarget { reason }.into());
        }
        // Rule 4: changing a privileged object needs a fresh second factor.
        authorize::require_strong(app, caller)?;
    }
    tx.delete_principal(id).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::ApplicationManagement,
            "Remove service principal",
            caller.initiator(),
        )
        .target(id, "ServicePrincipal", Some(&sp.display_name))
        .modified_all(changes::service_principal(Some(&sp), None)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct NewRole {
    pub display_name: String,
    pub description: Option<String>,
    pub actions: Vec<String>,
    pub is_enabled: bool,
}

pub async fn create_role_definition(
    app: &App,
    caller: &Caller,
    new: NewRole,
) -> UseCaseResult<RoleDefinition> {
    authorize::audited(
        app,
        caller,
        "Add role definition",
        Category::RoleManagement,
        create_role_definition_authorized(app, caller, new),
    )
    .await
}

async fn create_role_definition_authorized(
    app: &App,
    caller: &Caller,
    new: NewRole,
) -> UseCaseResult<RoleDefinition> {
    authorize::act(app, caller, actions::ROLE_DEFINITIONS_CREATE, true)?;
    let mut checks = vec![
        dir::validate_display_name(&new.display_name),
        new.description
            .as_deref()
            .map_or(Ok(()), dir::validate_description),
    ];
    if new.actions.is_empty() {
        checks.push(Err(Invalid::new(
            "InvalidRolePermissions",
            "rolePermissions",
            "at least one allowed resource action is required",
        )));
    }
    checks.extend(
        new.actions
            .iter()
            .map(|a| roles::validate_resource_action(a)),
    );
    collect(checks)?;
    let now = app.clock.now();
    let role = RoleDefinition {
        id: Uuid::new_v4(),
        display_name: new.display_name,
        description: new.description,
        is_built_in: false,
        is_enabled: new.is_enabled,
        template_id: None,
        role_permissions: vec![RolePermission {
            allowed_resource_actions: new.actions,
        }],
        created_date_time: Some(now),
    };
    let mut tx = app.store.write().await?;
    tx.insert_role_definition(&role).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::RoleManagement,
            "Add role definition",
            caller.initiator(),
        )
        .target(role.id, "RoleDefinition", Some(&role.display_name))
        .modified("displayName", "", role.display_name.as_str())
        .modified("isEnabled", "", role.is_enabled.to_string())
        .modified(
            "allowedResourceActions",
            "",
            role.actions().collect::<Vec<_>>().join(", "),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// A group's members (or owners) now: the direct relations, then those holding an active or
/// activated membership (ownership) through PIM for Groups; eligible ones are not members.
pub async fn holders_of_group(
    tx: &mut dyn Tx,
    group: Uuid,
    relation: Relation,
    now: chrono::DateTime<chrono::Utc>,
) -> UseCaseResult<Vec<Uuid>> {
    let mut out = tx.relations_of_group(group, relation).await?;
    let access = match relation {
        Relation::Member => GroupAccess::Member,
        Relation::Owner => GroupAccess::Owner,
    };
    let (role, scope) = AccessTarget::Group { group, access }.fields();
    let schedules = tx
        .list_role_schedules(&eligo_store::ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            targets: eligo_store::Targets::Groups,
            role_definition_id: Some(role),
            directory_scope_id: Some(scope),
            ..Default::default()
        })
        .await?;
    for s in schedules.iter().filter(|s| s.is_current(now)) {
        if !out.contains(&s.principal_id) {
            out.push(s.principal_id);
        }
    }
    Ok(out)
}

/// Every group `principal` belongs to now, directly, through nesting or through an activated
/// membership (each once), from the access index.
pub fn transitive_groups(app: &App, principal: Uuid) -> Vec<Uuid> {
    app.access.groups_of(principal, app.clock.now())
}

/// Every principal inside `group` now, directly, through nested groups or through an activated
/// membership (each once), from the access index.
pub fn transitive_members(app: &App, group: Uuid) -> Vec<Uuid> {
    app.access
        .members_of(group, app.clock.now())
        .into_iter()
        .filter_map(|m| Uuid::parse_str(&m.principal).ok())
        .collect()
}
