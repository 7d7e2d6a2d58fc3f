//! Applies an import plan through the directory's own use cases, acting as the source: each
//! change is its own audited write transaction with the same checks and cascades as an
//! administrator's or a SCIM client's (deactivation ends sessions and activations), and the
//! source may only touch what it provisioned. Up to `WIDTH` changes run side by side, so the
//! store's group commit writes them in batches. A refused change is reported, never fatal.

use std::collections::HashMap;
use std::future::Future;

use eligo_core::directory::Relation;
use eligo_core::directory_import::{Plan, Ref, Skipped};
use serde::Serialize;
use uuid::Uuid;

use super::known::attributes;
use crate::app::AppState;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::directory::{self, GroupPatch, NewGroup, NewUser, Provisioned, UserPatch};

/// Changes in flight at once.
const WIDTH: usize = 16;

/// What applying a plan did.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub deactivated: usize,
    pub groups_created: usize,
    pub groups_updated: usize,
    pub groups_removed: usize,
    pub managers_set: usize,
    pub members_added: usize,
    pub members_removed: usize,
    pub skipped: Vec<SkippedEntry>,
    /// Changes that failed for Eligo's own reasons (not a refusal): the pass is not complete.
    #[serde(skip)]
    pub incomplete: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedEntry {
    pub dn: String,
    pub reason: String,
}

impl From<Skipped> for SkippedEntry {
    fn from(s: Skipped) -> Self {
        Self {
            dn: s.dn,
            reason: s.reason,
        }
    }
}

impl Applied {
    fn failed(&mut self, dn: &str, failure: &Failure) {
        if !failure.is_callers() {
            self.incomplete += 1;
        }
        self.skipped.push(SkippedEntry {
            dn: dn.to_string(),
            reason: format!("{}: {}", failure.code, failure.message),
        });
    }
}

/// Runs `run` over `items`, `WIDTH` at a time, and returns the outputs (in completion order).
/// A change that panicked is logged and counted in `lost` (the pass is then incomplete), so
/// one bug cannot stop the schedule.
async fn each<T, F, Fut>(items: Vec<T>, lost: &mut usize, run: F) -> Vec<Fut::Output>
where
    F: Fn(T) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(items.len());
    let mut keep = |done: Result<Fut::Output, tokio::task::JoinError>| match done {
        Ok(output) => out.push(output),
        Err(e) => {
            tracing::error!(error = %e, "an import change failed unexpectedly");
            *lost += 1;
        }
    };
    for item in items {
        if set.len() >= WIDTH
            && let Some(done) = set.join_next().await
        {
            keep(done);
        }
        set.spawn(run(item));
    }
    while let Some(done) = set.join_next().await {
        keep(done);
    }
    out
}

/// Applies `plan` as `caller` (the source). `dns` names what Eligo already holds, for reports.
pub async fn apply(
    app: &AppState,
    caller: &Caller,
    plan: Plan,
    mut dns: HashMap<Uuid, String>,
) -> Applied {
    let mut done = Applied {
        skipped: plan.skipped.into_iter().map(SkippedEntry::from).collect(),
        groups_removed: plan.groups_removed.len(),
        ..Default::default()
    };
    let mut created: HashMap<String, Uuid> = HashMap::new();
    let task = |app: &AppState, caller: &Caller| (app.clone(), caller.clone());

    for (key, dn, result) in each(plan.create_users, &mut done.incomplete, |u| {
        let (app, caller) = task(app, caller);
        async move {
            let new = NewUser {
                user_principal_name: u.user_name.clone(),
                display_name: u.display_name.clone(),
                mail: u.mail.clone(),
                mail_nickname: None,
                password: None,
                manager_id: None,
                account_enabled: u.enabled,
            };
            let provisioned = Provisioned {
                external_id: Some(u.key.clone()),
                attributes: attributes(&u.dn, u.uid.as_deref(), Some(u.enabled)),
            };
            let result = directory::create_user_from(&app, &caller, new, Some(provisioned))
                .await
                .map(|user| user.id);
            (u.key, u.dn, result)
        }
    })
    .await
    {
        match result {
            Ok(id) => {
                done.created += 1;
                created.insert(key, id);
                dns.insert(id, dn);
            }
            Err(f) => done.failed(&dn, &f),
        }
    }

    for (dn, turned_off, result) in each(plan.update_users, &mut done.incomplete, |u| {
        let (app, caller) = task(app, caller);
        async move {
            // A leaver is turned off first, on its own: the one change an import may make to a
            // privileged account. Together with a rename or a new mail (usual when someone
            // leaves) the whole update would be refused, pass after pass, and the account would
            // stay on with its sessions and activations.
            let leaving = u.enabled == Some(false);
            let turned_off = if leaving {
                let off = UserPatch {
                    account_enabled: Some(false),
                    ..Default::default()
                };
                match directory::update_user(&app, &caller, u.id, off).await {
                    Ok(_) => true,
                    Err(f) => return (u.source.dn, false, Err(f)),
                }
            } else {
                false
            };
            let patch = UserPatch {
                user_principal_name: u.user_name,
                display_name: u.display_name,
                mail: u.mail,
                account_enabled: u.enabled,
                provisioned: Some(Provisioned {
                    external_id: Some(u.source.key.clone()),
                    attributes: attributes(&u.source.dn, u.source.uid.as_deref(), u.source.enabled),
                }),
                ..Default::default()
            };
            let result = directory::update_user(&app, &caller, u.id, patch).await;
            (u.source.dn, turned_off, result.map(|_| ()))
        }
    })
    .await
    {
        if turned_off {
            done.deactivated += 1;
        }
        match result {
            Ok(()) if turned_off => {}
            Ok(()) => done.updated += 1,
            Err(f) => done.failed(&dn, &f),
        }
    }

    for (key, dn, result) in each(plan.create_groups, &mut done.incomplete, |g| {
        let (app, caller) = task(app, caller);
        async move {
            // Never role-assignable: an import never creates privileged state.
            let new = NewGroup {
                display_name: g.display_name.clone(),
                description: g.description.clone(),
                mail_nickname: None,
                security_enabled: true,
                is_assignable_to_role: false,
            };
            let provisioned = Provisioned {
                external_id: Some(g.key.clone()),
                attributes: attributes(&g.dn, None, None),
            };
            let result = directory::create_group_from(&app, &caller, new, Some(provisioned))
                .await
                .map(|group| group.id);
            (g.key, g.dn, result)
        }
    })
    .await
    {
        match result {
            Ok(id) => {
                done.groups_created += 1;
                created.insert(key, id);
                dns.insert(id, dn);
            }
            Err(f) => done.failed(&dn, &f),
        }
    }

    for (dn, result) in each(plan.update_groups, &mut done.incomplete, |g| {
        let (app, caller) = task(app, caller);
        async move {
            let patch = GroupPatch {
                display_name: g.display_name,
                description: g.description,
                provisioned: Some(Provisioned {
                    external_id: Some(g.source.key.clone()),
                    attributes: attributes(&g.source.dn, None, None),
                }),
            };
            let result = directory::update_group(&app, &caller, g.id, patch).await;
            (g.source.dn, result.map(|_| ()))
        }
    })
    .await
    {
        match result {
            Ok(()) => done.groups_updated += 1,
            Err(f) => done.failed(&dn, &f),
        }
    }

    // References to what this pass created; one whose creation failed is dropped (reported).
    let id_of = |r: &Ref| match r {
        Ref::Known(id) => Some(*id),
        Ref::New(key) => created.get(key).copied(),
    };
    let name = |id: Uuid| dns.get(&id).cloned().unwrap_or_else(|| id.to_string());

    let managers: Vec<(Uuid, Option<Uuid>, String)> = plan
        .managers
        .iter()
        .filter_map(|(user, manager)| {
            let user = id_of(user)?;
            let manager = match manager {
                Some(m) => Some(id_of(m)?),
                None => None,
            };
            Some((user, manager, name(user)))
        })
        .collect();
    for (dn, result) in each(managers, &mut done.incomplete, |(user, manager, dn)| {
        let (app, caller) = task(app, caller);
        async move {
            let patch = UserPatch {
                manager_id: Some(manager),
                ..Default::default()
            };
            (
                dn,
                directory::update_user(&app, &caller, user, patch)
                    .await
                    .map(|_| ()),
            )
        }
    })
    .await
    {
        match result {
            Ok(()) => done.managers_set += 1,
            Err(f) => done.failed(&dn, &f),
        }
    }

    let removals: Vec<(Uuid, Uuid, String)> = plan
        .remove_members
        .iter()
        .map(|&(group, member)| (group, member, name(group)))
        .collect();
    for (dn, result) in each(removals, &mut done.incomplete, |(group, member, dn)| {
        let (app, caller) = task(app, caller);
        async move { (dn, relation(&app, &caller, group, member, false).await) }
    })
    .await
    {
        match result {
            Ok(()) => done.members_removed += 1,
            Err(f) => done.failed(&dn, &f),
        }
    }

    let additions: Vec<(Uuid, Uuid, String)> = plan
        .add_members
        .iter()
        .filter_map(|(group, member)| {
            let group = id_of(group)?;
            Some((group, id_of(member)?, name(group)))
        })
        .collect();
    for (dn, result) in each(additions, &mut done.incomplete, |(group, member, dn)| {
        let (app, caller) = task(app, caller);
        async move { (dn, relation(&app, &caller, group, member, true).await) }
    })
    .await
    {
        match result {
            Ok(()) => done.members_added += 1,
            Err(f) => done.failed(&dn, &f),
        }
    }
    done
}

async fn relation(
    app: &AppState,
    caller: &Caller,
    group: Uuid,
    member: Uuid,
    adding: bool,
) -> UseCaseResult<()> {
    if adding {
        directory::add_relation(app, caller, group, member, Relation::Member).await
    } else {
        directory::remove_relation(app, caller, group, member, Relation::Member).await
    }
}
