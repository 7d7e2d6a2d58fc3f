//! Access reviews (governance.md section 2): the use cases the API, the portal and the CLI
//! call. The rules are the core's (`eligo_core::review`); here the facts are read, the caller
//! authorized and the outcome stored and audited.
//!
//! Who may run a review: whoever may remove the reviewed access directly, with a fresh second
//! factor (threat model rules 3 and 4), because a review's Deny removes it: a role review needs
//! `roleAssignments/update`; a PIM for Groups eligibility review the protected groups' member
//! right; a group members review what removing a member of that group needs (for an ordinary
//! group `accessReviews` is enough too); an access package review `entitlementManagement` or
//! `accessReviews`. Otherwise an Identity Governance Administrator could review the Global
//! Administrators, name themselves reviewer and deny them all. Readers: `accessReviews/read`,
//! whoever could run the review, and the reviewers (their own decisions only). Deciding needs
//! a fresh second factor and being a reviewer of that decision.

pub mod apply;
pub mod decisions;
pub mod definitions;
pub mod instances;
pub mod lifecycle;
mod notices;
pub mod packages;
pub mod snapshot;

use eligo_core::audit::Category;
use eligo_core::authz::{GroupChange, Operation, Protection, actions};
use eligo_core::directory::Relation;
use eligo_core::review::{Definition, Party, Reviewed};
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::{access, authorize};

pub const CATEGORY: Category = Category::AccessReviews;

/// The caller as a decision or a definition names them.
pub fn party_of(caller: &Caller) -> Party {
    Party {
        id: caller.id,
        display_name: caller.display_name.clone(),
        user_principal_name: caller.upn.clone(),
        kind: caller.kind,
    }
}

/// The operations that would let the caller remove the reviewed access directly; any one of
/// them lets them run the review.
async fn operations(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    reviewed: &Reviewed,
) -> UseCaseResult<Vec<(Operation, Protection)>> {
    let act = |action| Operation::Act {
        action,
        strong: true,
    };
    Ok(match *reviewed {
        Reviewed::Role { .. } => {
            vec![(act(actions::ROLE_ASSIGNMENTS_UPDATE), Protection::Ordinary)]
        }
        Reviewed::GroupEligibility { .. } => {
            vec![(act(actions::RA_GROUPS_MEMBERS), Protection::Ordinary)]
        }
        Reviewed::GroupMembers { group_id, .. } => {
            let now = app.clock.now();
            let protection = access::privilege::of_group(app, tx, group_id, now).await?;
            let remove = Operation::Group(GroupChange::Relation {
                relation: Relation::Member,
                adding: false,
                principal: Uuid::nil(),
                subject_is_owner: app.access.owner_of(caller.id, group_id, now).allowed,
                principal_contains_subject: false,
            });
            let mut ops = vec![(remove, protection.clone())];
            if protection == Protection::Ordinary {
                ops.push((act(actions::ACCESS_REVIEWS_UPDATE), Protection::Ordinary));
            }
            ops
        }
        Reviewed::PackageAssignments { .. } => vec![
            (act(actions::ENTITLEMENT_UPDATE), Protection::Ordinary),
            (act(actions::ACCESS_REVIEWS_UPDATE), Protection::Ordinary),
        ],
    })
}

/// May the caller create, change, stop, apply or reset this review (with a fresh second
/// factor)? When one of the operations would allow it after a step-up, the refusal says so
/// (MfaRequired); otherwise it names the first operation's rule.
pub async fn authorize_manage(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    reviewed: &Reviewed,
) -> UseCaseResult<()> {
    let ops = operations(app, tx, caller, reviewed).await?;
    if let Some((op, protection)) = ops
        .iter()
        .find(|(op, protection)| authorize::could(caller, *op, protection))
    {
        return Ok(authorize::check(app, caller, *op, protection)?);
    }
    let refusal = ops
        .first()
        .and_then(|(op, protection)| authorize::check(app, caller, *op, protection).err());
    Err(refusal
        .map(Failure::from)
        .unwrap_or_else(|| Failure::forbidden("you may not manage this access review")))
}

/// May the caller read every part of this review (not only their own decisions)?
pub async fn may_read_all(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    def: &Definition,
) -> UseCaseResult<bool> {
    if authorize::permits(caller, actions::ACCESS_REVIEWS_READ).is_ok()
        || def.created_by.id == caller.id
    {
        return Ok(true);
    }
    let ops = operations(app, tx, caller, &def.scope_query.reviewed).await?;
    Ok(ops
        .iter()
        .any(|(op, protection)| authorize::could(caller, *op, protection)))
}

/// The definition, for a caller who may read all of it or reviews in it.
pub(crate) async fn visible_definition(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<(Definition, bool)> {
    let def = tx
        .get_review_definition(id)
        .await?
        .ok_or_else(|| Failure::not_found("access review definition"))?;
    if may_read_all(app, tx, caller, &def).await? {
        return Ok((def, true));
    }
    let mine = tx.review_instances_of_reviewer(caller.id).await?;
    for instance in mine {
        if let Some(i) = tx.get_review_instance(instance).await?
            && i.definition_id == id
        {
            return Ok((def, false));
        }
    }
    Err(Failure::not_found("access review definition"))
}
