//! Role settings: reading a role's policy (its defaults until someone changes it) and changing
//! one rule. A change applies to requests made after it; access already granted keeps the end
//! time it was granted with (the audit entry says so), so a policy edit never silently shortens
//! or lengthens anyone's access.

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_core::policy::{PolicyRules, RolePolicy, ScopeType};
use eligo_core::policy_changes::{self, Change};
use eligo_core::scope;
use eligo_store::Tx;
use serde_json::Value;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// The policy governing `role_definition_id` at `scope_id`, stored or default. 404 when the
/// role (or group) does not exist.
pub async fn load(
    tx: &mut dyn Tx,
    scope_type: ScopeType,
    scope_id: &str,
    role_definition_id: &str,
) -> UseCaseResult<RolePolicy> {
    // A GUID is read in whatever case it was written but named in its one canonical form
    // (lower case, hyphenated), the form enforcement reads: a policy stored under
    // `DirectoryRole_62E9...` would show as changed while no activation was decided by it.
    match scope_type {
        ScopeType::DirectoryRole => {
            scope::validate(scope_id)?;
            let role = Uuid::parse_str(role_definition_id).map_err(|_| {
                Failure::bad_request("Request_BadRequest", "roleDefinitionId must be a GUID")
            })?;
            tx.get_role_definition(role)
                .await?
                .ok_or_else(|| Failure::not_found("role definition"))?;
            of_known(tx, scope_type, scope_id, &role.to_string()).await
        }
        ScopeType::Group => {
            let group = Uuid::parse_str(scope_id).map_err(|_| {
                Failure::bad_request("Request_BadRequest", "a group scopeId must be a GUID")
            })?;
            tx.get_group(group)
                .await?
                .ok_or_else(|| Failure::not_found("group"))?;
            if !matches!(role_definition_id, "member" | "owner") {
                return Err(Failure::bad_request(
                    "Request_BadRequest",
                    "a group policy's roleDefinitionId is member or owner",
                ));
            }
            of_known(tx, scope_type, &group.to_string(), role_definition_id).await
        }
    }
}

/// The policy of a role or group access the caller has just read (so known to exist): the
/// stored one, or the default.
pub async fn of_known(
    tx: &mut dyn Tx,
    scope_type: ScopeType,
    scope_id: &str,
    role_definition_id: &str,
) -> UseCaseResult<RolePolicy> {
    let id = RolePolicy::id_for(scope_type, scope_id, role_definition_id);
    Ok(match tx.get_policy(&id).await? {
        Some(stored) => stored,
        None => RolePolicy::default_for(scope_type, scope_id, role_definition_id),
    })
}

/// The policy with this id; 404 for an id that names nothing.
pub async fn by_id(tx: &mut dyn Tx, id: &str) -> UseCaseResult<RolePolicy> {
    let (scope_type, scope_id, role) =
        RolePolicy::parse_id(id).ok_or_else(|| Failure::not_found("policy"))?;
    load(tx, scope_type, &scope_id, &role).await
}

/// The activity of a rule change, and of its refusal.
const UPDATE_ACTIVITY: &str = "Update role setting in PIM";

/// Changes one rule (a PATCH of it), validated in the core.
pub async fn update_rule(
    app: &App,
    caller: &Caller,
    policy_id: &str,
    rule_id: &str,
    body: &Value,
) -> UseCaseResult<RolePolicy> {
    authorize::audited(
        app,
        caller,
        UPDATE_ACTIVITY,
        Category::Policy,
        update_rule_authorized(app, caller, policy_id, rule_id, body),
    )
    .await
}

async fn update_rule_authorized(
    app: &App,
    caller: &Caller,
    policy_id: &str,
    rule_id: &str,
    body: &Value,
) -> UseCaseResult<RolePolicy> {
    authorize::act(app, caller, actions::POLICIES_UPDATE, true)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut policy = by_id(&mut *tx, policy_id).await?;
    let before = policy.rules.clone();
    policy
        .rules
        .apply_with(rule_id, body, !app.config.oidc.is_empty())
        .map_err(|broken| {
            Failure::invalid_all(
                "InvalidPolicyRule",
                &format!("the rule {rule_id} is not valid"),
                broken,
            )
        })?;
    let changes = policy_changes::changes(&before, &policy.rules);
    if changes.is_empty() {
        // The rule already is as sent: nothing to store or record (as `update_rules`).
        return Ok(policy);
    }
    policy.last_modified_by = Some(caller.id);
    policy.last_modified_date_time = Some(now);
    tx.put_policy(&policy, now.timestamp_micros()).await?;
    let name = governed_name(&mut *tx, &policy).await?;
    tx.append_audit(save_event(caller, &policy, name.as_deref(), &changes, now))
        .await?;
    tx.commit().await?;
    // A role's settings feed the alerts (MFA, approval, duration rules).
    app.alert_scans.wake();
    Ok(policy)
}

/// The rule `rule_id` of `rules` as Graph shows it (Null when there is no such rule).
pub fn rule_json(rules: &PolicyRules, rule_id: &str) -> Value {
    rules
        .to_graph()
        .into_iter()
        .find(|r| r["id"] == rule_id)
        .unwrap_or_default()
}

/// The display name of the role or group a policy governs, so its audit entries read as
/// "Helpdesk Administrator" rather than an id.
async fn governed_name(tx: &mut dyn Tx, policy: &RolePolicy) -> UseCaseResult<Option<String>> {
    Ok(match policy.scope_type {
        ScopeType::DirectoryRole => match Uuid::parse_str(&policy.role_definition_id) {
            Ok(id) => tx.get_role_definition(id).await?.map(|r| r.display_name),
            Err(_) => None,
        },
        ScopeType::Group => match Uuid::parse_str(&policy.scope_id) {
            Ok(id) => tx.get_group(id).await?.map(|g| g.display_name),
            Err(_) => None,
        },
    })
}

/// The audit entry of one save: ONE entry however many settings it changed, each setting a
/// modified property of the policy in words with its old and new value.
fn save_event(
    caller: &Caller,
    policy: &RolePolicy,
    governed: Option<&str>,
    changes: &[Change],
    now: DateTime<Utc>,
) -> AuditEvent {
    let mut rule_ids: Vec<&str> = changes.iter().map(|c| c.rule_id.as_str()).collect();
    rule_ids.dedup();
    AuditEvent::new(now, Category::Policy, UPDATE_ACTIVITY, caller.initiator())
        .target(&policy.id, "Policy", governed)
        .modified_all(changes.iter().cloned())
        .target(
            &policy.role_definition_id,
            policy.scope_type.as_str(),
            governed,
        )
        .detail("ruleIds", rule_ids.join(", "))
        .detail(
            "appliesTo",
            "requests made from now on; existing access keeps its end time",
        )
}

/// The outcome of `update_rules`: the policy as it now stands, the rules that changed and,
/// setting by setting, what changed.
pub struct RulesUpdate {
    pub policy: RolePolicy,
    /// Rule ids whose value changed; empty: nothing was written.
    pub changed: Vec<String>,
    /// Each changed setting in words with its old and new value, in the settings page's
    /// order (`eligo_core::policy_changes`): exactly the modified properties of the save's one
    /// audit entry. Empty when nothing was written.
    pub changes: Vec<Change>,
}

/// Applies several rule changes to one policy in ONE transaction, each validated exactly as
/// `update_rule` validates a PATCH, and records the save as ONE audit entry naming each changed
/// setting with its old and new value (also returned, for the page to say what it saved). A
/// rule whose new value equals its current value is not a change: it is neither written nor
/// audited, so submitting the same settings twice changes
/// nothing the second time. On any invalid rule nothing changes; the refusal carries one
/// detail per problem, its target prefixed with the rule id (`Expiration_EndUser_Assignment:
/// maximumDuration`). `unchanged_since`: when given and the stored policy was modified at
/// another time, real changes are refused (409) so an edit made meanwhile is not overwritten.
pub async fn update_rules(
    app: &App,
    caller: &Caller,
    policy_id: &str,
    changes: &[(String, Value)],
    unchanged_since: Option<Option<DateTime<Utc>>>,
) -> UseCaseResult<RulesUpdate> {
    authorize::audited(
        app,
        caller,
        UPDATE_ACTIVITY,
        Category::Policy,
        update_rules_authorized(app, caller, policy_id, changes, unchanged_since),
    )
    .await
}

async fn update_rules_authorized(
    app: &App,
    caller: &Caller,
    policy_id: &str,
    changes: &[(String, Value)],
    unchanged_since: Option<Option<DateTime<Utc>>>,
) -> UseCaseResult<RulesUpdate> {
    authorize::act(app, caller, actions::POLICIES_UPDATE, true)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut policy = by_id(&mut *tx, policy_id).await?;
    let before = policy.rules.clone();
    let mut broken = Vec::new();
    let mut changed = Vec::new();
    for (rule_id, body) in changes {
        let before = rule_json(&policy.rules, rule_id);
        match policy
            .rules
            .apply_with(rule_id, body, !app.config.oidc.is_empty())
        {
            Ok(()) => {
                if rule_json(&policy.rules, rule_id) != before && !changed.contains(rule_id) {
                    changed.push(rule_id.clone());
                }
            }
            Err(problems) => broken.extend(problems.into_iter().map(|mut i| {
                i.target = format!("{rule_id}:{}", i.target);
                i
            })),
        }
    }
    if !broken.is_empty() {
        return Err(Failure::invalid_all(
            "InvalidPolicyRule",
            "some rules are not valid; nothing was changed",
            broken,
        ));
    }
    let changes = policy_changes::changes(&before, &policy.rules);
    if changed.is_empty() || changes.is_empty() {
        return Ok(RulesUpdate {
            policy,
            changed: Vec::new(),
            changes: Vec::new(),
        });
    }
    if let Some(seen) = unchanged_since
        && seen != policy.last_modified_date_time
    {
        return Err(Failure::new(
            crate::failure::Kind::Conflict,
            "PolicyChanged",
            "these settings were changed since the form was opened; nothing was saved",
        ));
    }
    policy.last_modified_by = Some(caller.id);
    policy.last_modified_date_time = Some(now);
    tx.put_policy(&policy, now.timestamp_micros()).await?;
    let name = governed_name(&mut *tx, &policy).await?;
    tx.append_audit(save_event(caller, &policy, name.as_deref(), &changes, now))
        .await?;
    tx.commit().await?;
    // A role's settings feed the alerts (MFA, approval, duration rules).
    app.alert_scans.wake();
    Ok(RulesUpdate {
        policy,
        changed,
        changes,
    })
}

/// The portal's question before it reads a settings form it was sent: may this caller change
/// role settings at all? The permission only (the fresh second factor is the use case's to
/// ask, so the form can say so); a refusal is audited as the change it refused.
pub async fn may_update(app: &App, caller: &Caller) -> UseCaseResult<()> {
    authorize::audited(app, caller, UPDATE_ACTIVITY, Category::Policy, async {
        Ok(authorize::act(
            app,
            caller,
            actions::POLICIES_UPDATE,
            false,
        )?)
    })
    .await
}

/// Reads role settings for a caller who may: obtained from [`reader`] only, so nothing reads
/// them without the decision. The handler parses its request in between, so a refused caller
/// gets its 403 whatever it sent.
pub struct Reader<'a> {
    app: &'a App,
}

pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::POLICIES_READ, false)?;
    Ok(Reader { app })
}

impl Reader<'_> {
    /// The policy with this id, stored or default.
    pub async fn policy(&self, id: &str) -> UseCaseResult<RolePolicy> {
        by_id(&mut *self.app.store.read().await?, id).await
    }

    /// The policies governing `role` at a scope; without a role, every role definition (for
    /// the directory) or both member and owner (for a group).
    pub async fn governing(
        &self,
        scope_type: ScopeType,
        scope_id: &str,
        role: Option<String>,
    ) -> UseCaseResult<Vec<RolePolicy>> {
        if scope_type == ScopeType::DirectoryRole && scope_id != "/" {
            return Err(Failure::bad_request(
                "Request_UnsupportedQuery",
                "a directory role's settings apply at scopeId '/' only, whatever the scope of an assignment",
            )
            .with_detail("InvalidFilter", "$filter"));
        }
        let mut tx = self.app.store.read().await?;
        let roles: Vec<String> = match (role, scope_type) {
            (Some(r), _) => vec![r],
            (None, ScopeType::Group) => vec!["member".into(), "owner".into()],
            (None, ScopeType::DirectoryRole) => tx
                .list_role_definitions(&Default::default())
                .await?
                .iter()
                .map(|r| r.id.to_string())
                .collect(),
        };
        let mut out = Vec::with_capacity(roles.len());
        for role in roles {
            out.push(load(&mut *tx, scope_type, scope_id, &role).await?);
        }
        Ok(out)
    }
}
