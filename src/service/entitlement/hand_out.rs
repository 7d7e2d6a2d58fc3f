//! Deciding who gets what a package gives is handing it out: whoever adds a resource role to a
//! package, writes or deletes its assignment policies, or assigns it needs, for each thing the
//! package gives, what putting that resource into a catalog needs (`Operation::CatalogResource`):
//! a directory role only whoever may assign roles, a group protected for another reason than
//! being in a catalog (role-assignable, approvers, nested in such a group, ...) only whoever may
//! change protected groups' membership. Otherwise an entitlement administrator could make a package
//! of a role someone else put in a catalog, open it to themselves without approval, and hold a
//! role they may not assign (threat model rules 1 and 3).

use eligo_core::authz::{Operation, Protection};
use eligo_core::entitlement::assignment::Access;
use eligo_store::Tx;
use uuid::Uuid;

use super::assignments::delivery;
use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::access::privilege;
use crate::service::authorize;

/// Refuses (403, the rule's code) unless the caller may hand out everything `package` gives,
/// as read in `tx` (so a role scope added in it counts).
pub async fn may_hand_out(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    package: Uuid,
) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut role_checked = false;
    let mut groups_checked = Vec::new();
    for grant in delivery::grants_of(tx, package).await? {
        match grant.access {
            Access::Role { .. } if !role_checked => {
                let op = Operation::CatalogResource {
                    directory_role: true,
                };
                authorize::check(app, caller, op, &Protection::Ordinary)?;
                role_checked = true;
            }
            Access::Group { group, .. } if !groups_checked.contains(&group) => {
                let protection = privilege::of_group_besides_catalogs(app, tx, group, now).await?;
                let op = Operation::CatalogResource {
                    directory_role: false,
                };
                authorize::check(app, caller, op, &protection)?;
                groups_checked.push(group);
            }
            _ => {}
        }
    }
    Ok(())
}
