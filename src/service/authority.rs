//! Who may administer someone's access: assign, change or remove a role assignment, or a
//! group's member or owner (directly, or through PIM for Groups). Asked by the directory's
//! relation changes and by PIM's administrator actions alike, below both.

use eligo_core::authz::{GroupChange, Operation, actions};
use eligo_core::directory::{Group, Relation};
use eligo_core::target::GroupAccess;
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::pim::{Governed, Target};
use crate::service::{access, authorize};

/// Who may change a group's members or owners (threat-model rule 3): those whose role allows
/// it — for a protected group (role-assignable, approvers, mapped downstream, handed out through
/// PIM, nested in or owning one of those) only Global and Privileged Role Administrators — and
/// the group's owners, who never add themselves. Every such change needs a fresh second factor.
pub async fn authorize_relation_change(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    group: &Group,
    principal: Uuid,
    relation: Relation,
    adding: bool,
) -> UseCaseResult<()> {
    let now = app.clock.now();
    let protection = access::privilege::of_group(app, tx, group.id, now).await?;
    // Ownership counts directly or through an activated ownership (PIM for Groups).
    let subject_is_owner = app.access.owner_of(caller.id, group.id, now).allowed;
    // Adding a group the caller is in adds the caller (nested), whoever they are.
    let principal_contains_subject =
        adding && app.access.member_of(caller.id, principal, now).member;
    let change = GroupChange::Relation {
        relation,
        adding,
        principal,
        subject_is_owner,
        principal_contains_subject,
    };
    authorize::check(app, caller, Operation::Group(change), &protection)?;
    Ok(())
}

/// May `caller` act as an administrator on `principal`'s access to `target` (assign, update,
/// extend, renew, or — `adding` false — remove it; and decide a holder's extension request,
/// which is the same as extending)? A role needs `roleAssignments/update` with a fresh second
/// factor; a group access whatever changing the group's members (owners) needs: the protected
/// actions for protected groups, and its owners.
pub async fn authorize_admin(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    target: &Target,
    principal: Uuid,
    adding: bool,
) -> UseCaseResult<()> {
    match &target.governed {
        Governed::Role(_) => Ok(authorize::act(
            app,
            caller,
            actions::ROLE_ASSIGNMENTS_UPDATE,
            true,
        )?),
        Governed::Group { group, access } => {
            let relation = match access {
                GroupAccess::Member => Relation::Member,
                GroupAccess::Owner => Relation::Owner,
            };
            authorize_relation_change(app, tx, caller, group, principal, relation, adding).await
        }
    }
}
