//! The demo tenant's access packages (docs/scenarios.md, "An access package, end to end"): a
//! "Compliance" catalog whose "Insider Risk Management" package hands out membership of the
//! (empty) group that grants the workload role, after the requester's manager approves; and two
//! packages declared incompatible, so the tour can show separation of duties refusing one.
//! Written straight to the store, like the rest of the demo: no caller exists yet.

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Initiator};
use eligo_core::directory::{Group, Relation};
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::package::{AccessPackage, ResourceRoleScope};
use eligo_core::entitlement::policy::{AssignmentPolicy, Placement};
use eligo_core::entitlement::resource::{NewResource, OriginSystem};
use eligo_store::Tx;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::service::entitlement::CATEGORY;

pub const CATALOG: &str = "Compliance";
pub const IRM_GROUP: &str = "Insider Risk Management Admins";
pub const IRM_PACKAGE: &str = "Insider Risk Management";
pub const OFFICER_PACKAGE: &str = "Compliance Officer";
pub const HELPDESK_PACKAGE: &str = "Help Desk Technician";

/// Who the packages need by name: the groups' owner and the fallback approver.
pub struct Seed {
    pub owner: Uuid,
    pub fallback_approver: Uuid,
}

pub async fn load(tx: &mut dyn Tx, seed: &Seed, now: DateTime<Utc>) -> anyhow::Result<()> {
    let catalog = Catalog::create(
        Uuid::new_v4(),
        &json!({ "displayName": CATALOG,
                 "description": "Access for compliance investigations and their administration" }),
        now,
    )
    .map_err(|e| anyhow::anyhow!("demo catalog: {e:?}"))?;
    tx.insert_catalog(&catalog).await?;
    tx.append_audit(event(now, "Create catalog").target(
        catalog.id,
        "AccessPackageCatalog",
        Some(CATALOG),
    ))
    .await?;

    let irm_group = group(tx, IRM_GROUP, seed.owner, now).await?;
    let officers = group(tx, "Compliance Officers", seed.owner, now).await?;
    // Its own group, not the demo's Helpdesk Team: a group in a catalog is protected, and a
    // team's members would all become privileged accounts through it.
    let technicians = group(tx, "Help Desk Technicians", seed.owner, now).await?;

    package(
        tx,
        &catalog,
        IRM_PACKAGE,
        "Administer Insider Risk Management for 30 days, after your manager approves",
        irm_group,
        manager_approval(seed.fallback_approver),
        now,
    )
    .await?;
    let officer = package(
        tx,
        &catalog,
        OFFICER_PACKAGE,
        "Review compliance cases",
        officers,
        self_service(),
        now,
    )
    .await?;
    let helpdesk = package(
        tx,
        &catalog,
        HELPDESK_PACKAGE,
        "Work help desk tickets",
        technicians,
        self_service(),
        now,
    )
    .await?;
    tx.add_incompatible_package(officer.id, helpdesk.id, now.timestamp_micros())
        .await?;
    tx.append_audit(
        event(now, "Add incompatible access package")
            .target(officer.id, "AccessPackage", Some(OFFICER_PACKAGE))
            .target(helpdesk.id, "AccessPackage", Some(HELPDESK_PACKAGE)),
    )
    .await?;
    Ok(())
}

fn event(now: DateTime<Utc>, activity: &str) -> AuditEvent {
    AuditEvent::new(now, CATEGORY, activity, Initiator::system()).detail("reason", "demo tenant")
}

/// An empty security group (`owner` owns it): membership comes from the package only.
async fn group(
    tx: &mut dyn Tx,
    name: &str,
    owner: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let group = Group {
        id: Uuid::new_v4(),
        display_name: name.into(),
        description: Some(format!("Demo group: {name}")),
        mail_nickname: None,
        security_enabled: true,
        is_assignable_to_role: false,
        created_date_time: now,
    };
    tx.insert_group(&group).await?;
    tx.add_relation(group.id, owner, Relation::Owner, now.timestamp_micros())
        .await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            eligo_core::audit::Category::UserManagement,
            "Add group",
            Initiator::system(),
        )
        .target(group.id, "Group", Some(name))
        .detail("reason", "demo tenant"),
    )
    .await?;
    Ok(group.id)
}

/// A package in `catalog` handing out membership of `group` (added to the catalog for it) under
/// one policy, `policy`.
async fn package(
    tx: &mut dyn Tx,
    catalog: &Catalog,
    name: &str,
    description: &str,
    group: Uuid,
    mut policy: Value,
    now: DateTime<Utc>,
) -> anyhow::Result<AccessPackage> {
    let group_name = tx
        .get_group(group)
        .await?
        .map(|g| g.display_name)
        .unwrap_or_default();
    let new = NewResource::of(
        catalog.id,
        OriginSystem::AadGroup,
        &group.to_string(),
        &group_name,
        None,
        now,
        Uuid::new_v4,
    );
    tx.insert_resource(&new).await?;
    tx.append_audit(
        event(now, "Add resource to catalog")
            .target(
                catalog.id,
                "AccessPackageCatalog",
                Some(&catalog.display_name),
            )
            .target(group, "Group", Some(&group_name)),
    )
    .await?;
    let package = AccessPackage::create(
        Uuid::new_v4(),
        catalog.id,
        &json!({ "displayName": name, "description": description }),
        now,
    )
    .map_err(|e| anyhow::anyhow!("demo package {name}: {e:?}"))?;
    tx.insert_package(&package).await?;
    tx.append_audit(event(now, "Create access package").target(
        package.id,
        "AccessPackage",
        Some(name),
    ))
    .await?;
    let member = new
        .roles
        .iter()
        .find(|r| r.display_name == "Member")
        .ok_or_else(|| anyhow::anyhow!("demo: no Member role"))?;
    let scope = &new.scope;
    tx.add_role_scope(&ResourceRoleScope {
        package_id: package.id,
        role_id: member.id,
        scope_id: scope.id,
        created_date_time: now,
    })
    .await?;
    tx.append_audit(
        event(now, "Add resource role to access package")
            .target(package.id, "AccessPackage", Some(name))
            .target(
                &member.origin_id,
                "AccessPackageResourceRole",
                Some("Member"),
            )
            .detail("resource", group_name),
    )
    .await?;
    policy["accessPackage"] = json!({ "id": package.id });
    let at = Placement {
        id: Uuid::new_v4(),
        access_package_id: package.id,
        catalog_id: catalog.id,
        created: now,
        now,
    };
    let policy = AssignmentPolicy::read(at, &policy, || Uuid::new_v4().to_string())
        .map_err(|e| anyhow::anyhow!("demo policy of {name}: {e:?}"))?;
    tx.insert_assignment_policy(&policy).await?;
    tx.append_audit(
        event(now, "Create access package assignment policy")
            .target(
                policy.id,
                "AccessPackageAssignmentPolicy",
                Some(&policy.display_name),
            )
            .target(package.id, "AccessPackage", Some(name)),
    )
    .await?;
    Ok(package)
}

/// The scenario's policy: every member user may ask with a justification; one stage, the
/// requester's manager (the fallback approver when they have none); 30 days.
fn manager_approval(fallback: Uuid) -> Value {
    json!({
        "displayName": "Employees, manager approval",
        "description": "One stage: the requester's manager; access ends after 30 days",
        "allowedTargetScope": "allMemberUsers",
        "expiration": { "type": "afterDuration", "duration": "P30D" },
        "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": true,
                               "enableTargetsToSelfRemoveAccess": true, "allowCustomAssignmentSchedule": true },
        "requestApprovalSettings": {
            "isApprovalRequiredForAdd": true, "isApprovalRequiredForUpdate": true,
            "isRequestorJustificationRequired": true,
            "stages": [{ "durationBeforeAutomaticDenial": "P2D", "isApproverJustificationRequired": true,
                         "primaryApprovers": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }],
                         "fallbackPrimaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": fallback }] }] },
    })
}

/// Every member user may take it for themselves with a justification, no approval, 30 days.
fn self_service() -> Value {
    json!({
        "displayName": "Employees, self-service",
        "allowedTargetScope": "allMemberUsers",
        "expiration": { "type": "afterDuration", "duration": "P30D" },
        "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": true,
                               "enableTargetsToSelfRemoveAccess": true },
        "requestApprovalSettings": { "isApprovalRequiredForAdd": false, "isRequestorJustificationRequired": true },
    })
}
