//! What a signed-in person may request: `filterByCurrentUser(on='allowedRequestor')` (the
//! packages they may ask for, for themselves or for someone whose manager they are) and
//! `getApplicablePolicyRequirements` (what each policy they may use asks of them). Nothing is
//! administered here, so no role is needed; the facts are read from the access index now.

use std::collections::{BTreeMap, BTreeSet};

use eligo_core::directory::PrincipalKind;
use eligo_core::entitlement::catalog::CatalogState;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::requestor::{
    PrincipalFacts, PrincipalSort, RequestorFacts, Requirements, applicable_policies, may_request,
};
use eligo_core::entitlement::subject_set::MAX_MANAGER_LEVEL;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::directory::transitive_groups;

/// The facts of one principal now: kind, groups, manager chain.
pub(crate) fn facts_of(app: &App, id: Uuid, kind: PrincipalKind) -> PrincipalFacts {
    let sort = match kind {
        PrincipalKind::User => PrincipalSort::User,
        PrincipalKind::ServicePrincipal => PrincipalSort::ServicePrincipal,
        PrincipalKind::Group => PrincipalSort::Group,
    };
    let mut facts = PrincipalFacts::new(id, sort);
    facts.groups = transitive_groups(app, id).into_iter().collect();
    let mut at = id;
    for _ in 0..MAX_MANAGER_LEVEL {
        match app.access.manager_of(at) {
            Some(m) if m != id && !facts.managers.contains(&m) => {
                facts.managers.push(m);
                at = m;
            }
            _ => break,
        }
    }
    facts
}

/// The caller, and (when a policy lets managers request for others) everyone whose manager
/// chain names the caller within the levels a policy can name.
fn requestor_facts(app: &App, caller: &Caller, on_behalf: bool) -> RequestorFacts {
    let me = facts_of(app, caller.id, caller.kind);
    let mut reports = Vec::new();
    if on_behalf {
        let mut seen = BTreeSet::from([caller.id]);
        let mut level = vec![caller.id];
        for _ in 0..MAX_MANAGER_LEVEL {
            let next: Vec<Uuid> = level
                .iter()
                .flat_map(|m| app.access.direct_reports(*m))
                .filter(|r| seen.insert(*r))
                .collect();
            for r in &next {
                if let Some((kind, _)) = app.access.principal(*r) {
                    reports.push(facts_of(app, *r, kind));
                }
            }
            level = next;
        }
    }
    RequestorFacts { me, reports }
}

/// Packages in published catalogs, not hidden, that the caller may request under at least one
/// policy.
pub async fn allowed_requestor(app: &App, caller: &Caller) -> UseCaseResult<Vec<AccessPackage>> {
    let mut tx = app.store.read().await?;
    let published: BTreeSet<Uuid> = tx
        .list_catalogs()
        .await?
        .into_iter()
        .filter(|c| c.state == CatalogState::Published)
        .map(|c| c.id)
        .collect();
    let mut policies: BTreeMap<Uuid, Vec<AssignmentPolicy>> = BTreeMap::new();
    for p in tx.list_assignment_policies(None).await? {
        policies.entry(p.access_package_id).or_default().push(p);
    }
    let on_behalf = policies.values().flatten().any(|p| {
        p.requestor_settings
            .enable_on_behalf_requestors_to_add_access
    });
    let facts = requestor_facts(app, caller, on_behalf);
    Ok(tx
        .list_packages(None)
        .await?
        .into_iter()
        .filter(|p| published.contains(&p.catalog_id) && !p.is_hidden)
        .filter(|p| {
            policies
                .get(&p.id)
                .is_some_and(|ps| ps.iter().any(|policy| may_request(policy, &facts)))
        })
        .collect())
}

/// What each policy of the package the caller may use for themselves asks of them (none when
/// the catalog is unpublished).
pub async fn requirements(
    app: &App,
    caller: &Caller,
    package: UseCaseResult<Uuid>,
) -> UseCaseResult<Vec<Requirements>> {
    let mut tx = app.store.read().await?;
    let package = tx
        .get_package(package?)
        .await?
        .ok_or_else(|| Failure::not_found("access package"))?;
    let published = tx
        .get_catalog(package.catalog_id)
        .await?
        .is_some_and(|c| c.state == CatalogState::Published);
    if !published {
        return Ok(Vec::new());
    }
    let policies = tx.list_assignment_policies(Some(package.id)).await?;
    let me = facts_of(app, caller.id, caller.kind);
    Ok(applicable_policies(&policies, &me, None)
        .into_iter()
        .map(Requirements::of)
        .collect())
}

/// What each policy of the package asks when the caller requests it on behalf of `target`
/// (`onBehalfAdd`): the policies that name the caller an on-behalf requestor for them (none
/// when the catalog is unpublished or `target` is nobody the caller may request for).
pub async fn requirements_on_behalf(
    app: &App,
    caller: &Caller,
    package: Uuid,
    target: Uuid,
) -> UseCaseResult<Vec<Requirements>> {
    let Some((kind, _)) = app.access.principal(target) else {
        return Ok(Vec::new());
    };
    let policies = published_policies(app, package).await?;
    let me = facts_of(app, caller.id, caller.kind);
    let them = facts_of(app, target, kind);
    Ok(applicable_policies(&policies, &me, Some(&them))
        .into_iter()
        .map(Requirements::of)
        .collect())
}

/// May the caller request the package on behalf of anyone (a policy of it names them an
/// on-behalf requestor for at least one of their reports)? Decides whether a form offers
/// "for whom".
pub async fn offers_on_behalf(app: &App, caller: &Caller, package: Uuid) -> UseCaseResult<bool> {
    let policies = published_policies(app, package).await?;
    if !policies.iter().any(|p| {
        p.requestor_settings
            .enable_on_behalf_requestors_to_add_access
    }) {
        return Ok(false);
    }
    let facts = requestor_facts(app, caller, true);
    Ok(policies.iter().any(|p| {
        facts
            .reports
            .iter()
            .any(|t| eligo_core::entitlement::requestor::may_request_on_behalf(p, &facts.me, t))
    }))
}

/// The package's policies, when its catalog is published (otherwise none).
async fn published_policies(app: &App, package: Uuid) -> UseCaseResult<Vec<AssignmentPolicy>> {
    let mut tx = app.store.read().await?;
    let package = tx
        .get_package(package)
        .await?
        .ok_or_else(|| Failure::not_found("access package"))?;
    let published = tx
        .get_catalog(package.catalog_id)
        .await?
        .is_some_and(|c| c.state == CatalogState::Published);
    if !published {
        return Ok(Vec::new());
    }
    Ok(tx.list_assignment_policies(Some(package.id)).await?)
}
