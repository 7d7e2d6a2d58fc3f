//! Separation of duties on the paths outside access package requests: adding a member to a
//! group (nesting included: every transitive member of the nested group gains the group and
//! everything it is in) and PIM for Groups membership (eligibility, active assignment,
//! activation). The decision is `Rules::breaches_of_change` in the core; this loads the facts
//! inside the caller's write transaction. Cost: the rules are read once per check; a change
//! whose gained groups no rule names stops there; otherwise only the holders of the packages
//! whose rules name a gained group are read (one query per such package), never every member.
//! Also the incompatibility report: who holds a package and something incompatible already.

use std::collections::{BTreeMap, BTreeSet};

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::incompatible::{Breach, Conflict};
use eligo_store::{AssignmentQuery, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::access;

/// Refuses making each of `principals` a member of `group` (and so of every group `group` is
/// in) when one holds a package incompatible with a group gained. A conflict held before the
/// rule was declared does not block (the report lists it).
pub async fn check_membership(
    app: &App,
    tx: &mut dyn Tx,
    group: Uuid,
    principals: &[Uuid],
) -> UseCaseResult<()> {
    let rules = tx.incompatibility_rules().await?;
    let mut gained: BTreeSet<Uuid> = app
        .access
        .groups_of(group, app.clock.now())
        .into_iter()
        .collect();
    gained.insert(group);
    if !rules.touch_groups(&gained) {
        return Ok(());
    }
    // Only a holder of a package with a rule on a gained group can break one.
    let packages: BTreeSet<Uuid> = rules
        .groups
        .iter()
        .filter(|(_, g)| gained.contains(g))
        .map(|&(p, _)| p)
        .collect();
    let mut held: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for &package in &packages {
        let holders = tx
            .list_assignments(&AssignmentQuery {
                package: Some(package),
                ..Default::default()
            })
            .await?;
        for a in holders.into_iter().filter(Assignment::is_live) {
            held.entry(a.target_id).or_default().insert(package);
        }
    }
    for &person in principals {
        let Some(held) = held.get(&person) else {
            continue;
        };
        let before: BTreeSet<Uuid> = app
            .access
            .groups_of(person, app.clock.now())
            .into_iter()
            .collect();
        let after: BTreeSet<Uuid> = before.union(&gained).copied().collect();
        if let Some(b) = rules
            .breaches_of_change(held, &before, held, &after)
            .into_iter()
            .next()
        {
            return Err(refusal(tx, person, &b).await?);
        }
    }
    Ok(())
}

/// The 400 naming the person, the package they hold and what it is incompatible with.
async fn refusal(tx: &mut dyn Tx, person: Uuid, breach: &Breach) -> UseCaseResult<Failure> {
    let who = access::principal_summary(tx, person)
        .await?
        .map(|p| p.upn.unwrap_or(p.display_name))
        .unwrap_or_else(|| person.to_string());
    let package = tx
        .get_package(breach.package)
        .await?
        .map(|p| p.display_name)
        .unwrap_or_default();
    let (kind, other, other_name) = match breach.conflict {
        Conflict::Package { other } => (
            "access package",
            other,
            tx.get_package(other)
                .await?
                .map(|p| p.display_name)
                .unwrap_or_default(),
        ),
        Conflict::Group { group } | Conflict::GivenGroup { group, .. } => (
            "group",
            group,
            tx.get_group(group)
                .await?
                .map(|g| g.display_name)
                .unwrap_or_default(),
        ),
    };
    let code = breach.conflict.code();
    Ok(Failure::bad_request(
        code,
        format!(
            "separation of duties: {who} ({person}) holds access package '{package}' ({}), incompatible with {kind} '{other_name}' ({other}); this change would give them both",
            breach.package
        ),
    )
    .with_detail(code, format!("accessPackage/{}", breach.package))
    .with_detail(code, format!("{}/{other}", kind.replace(' ', "")))
    .with_detail(code, format!("principal/{person}")))
}

/// Whether `e` is a refusal for separation of duties (not a store error).
pub fn is_refusal(e: &Failure) -> bool {
    matches!(e.code, "IncompatibleGroup" | "IncompatibleAccessPackage")
}

/// Records a refusal for separation of duties as a failure of what was asked (nothing else
/// was written: the change's transaction was dropped).
pub async fn audit_refusal<T>(
    app: &App,
    caller: &Caller,
    category: Category,
    activity: &str,
    target: (Uuid, &str),
    result: UseCaseResult<T>,
) -> UseCaseResult<T> {
    if let Err(e) = &result
        && is_refusal(e)
    {
        let event = AuditEvent::new(app.clock.now(), category, activity, caller.initiator())
            .target(target.0, target.1, None)
            .detail("code", e.code)
            .detail("message", e.message.clone())
            .failed(e.code);
        let mut tx = app.store.write().await?;
        tx.append_audit(event).await?;
        tx.commit().await?;
    }
    result
}

/// One line of the incompatibility report: `principal` holds `package` and `conflicts_with`.
pub struct ReportRow {
    pub principal: Uuid,
    pub display_name: String,
    pub upn: Option<String>,
    pub package: (Uuid, String),
    /// `accessPackage` or `group`.
    pub kind: &'static str,
    pub conflicts_with: (Uuid, String),
}

impl crate::service::entitlement::Reader<'_> {
    /// The people who hold `package` (a live assignment) and, already, a package or group
    /// incompatible with it (granted before the rule), each conflict once, by person.
    pub async fn incompatibility_report(&self, package: Uuid) -> UseCaseResult<Vec<ReportRow>> {
        let this = self.package(package).await?;
        let mut tx = self.tx().await?;
        let rules = tx.incompatibility_rules().await?;
        let others = rules.packages_against(package);
        if others.is_empty() && !rules.groups.iter().any(|&(p, _)| p == package) {
            return Ok(Vec::new());
        }
        let mut held: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
        for &p in std::iter::once(&package).chain(others.iter()) {
            let holders = tx
                .list_assignments(&AssignmentQuery {
                    package: Some(p),
                    ..Default::default()
                })
                .await?;
            for a in holders.into_iter().filter(Assignment::is_live) {
                held.entry(a.target_id).or_default().insert(p);
            }
        }
        let mut names: BTreeMap<Uuid, String> = BTreeMap::new();
        let mut out = Vec::new();
        for (person, held) in held.into_iter().filter(|(_, h)| h.contains(&package)) {
            let groups: BTreeSet<Uuid> = self
                .app
                .access
                .groups_of(person, self.app.clock.now())
                .into_iter()
                .collect();
            let mut found = Vec::new();
            for b in rules.breaches(&held, &groups) {
                match b.conflict {
                    Conflict::Package { other } if b.package == package => {
                        found.push(("accessPackage", other));
                    }
                    Conflict::Package { other } if other == package => {
                        found.push(("accessPackage", b.package));
                    }
                    Conflict::Group { group } if b.package == package => {
                        found.push(("group", group));
                    }
                    _ => {}
                }
            }
            if found.is_empty() {
                continue;
            }
            let who = access::principal_summary(&mut *tx, person).await?;
            for (kind, other) in found {
                if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(other) {
                    let name = if kind == "group" {
                        tx.get_group(other).await?.map(|g| g.display_name)
                    } else {
                        tx.get_package(other).await?.map(|p| p.display_name)
                    };
                    slot.insert(name.unwrap_or_default());
                }
                out.push(ReportRow {
                    principal: person,
                    display_name: who
                        .as_ref()
                        .map(|w| w.display_name.clone())
                        .unwrap_or_default(),
                    upn: who.as_ref().and_then(|w| w.upn.clone()),
                    package: (package, this.display_name.clone()),
                    kind,
                    conflicts_with: (other, names[&other].clone()),
                });
            }
        }
        Ok(out)
    }
}
