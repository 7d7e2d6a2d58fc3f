//! People and groups in the settings: approvers shown by name and user name (never a GUID),
//! what someone typed into an approver or recipient box resolved to the one principal it names
//! (`resolve_principal`, as everywhere in the portal), and the sentence the role's page uses
//! to name its approvers.

use std::collections::HashMap;

use eligo_core::policy::{Approver, RolePolicy};
use eligo_store::{GroupQuery, Page, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::error::ApiResult;
use crate::portal::picker;
use crate::service::directory::Kinds;
use eligo_core::directory::PrincipalKind;

/// How one user or group reads: in sentences, and in an input box (where it must resolve back
/// to the same principal when the form is saved again).
struct Name {
    words: String,
    value: String,
}

/// The names of the approvers a page or a confirmation mentions, read once.
#[derive(Default)]
pub struct Names(HashMap<Uuid, Name>);

impl Names {
    /// Takes the approvers collected (not an iterator), so no borrowing closure lives across
    /// the lookups' awaits and the handler's future stays `Send`.
    pub async fn of(tx: &mut dyn Tx, approvers: Vec<Approver>) -> ApiResult<Self> {
        let mut names = HashMap::new();
        for a in &approvers {
            match a {
                Approver::SingleUser { user_id, .. } if !names.contains_key(user_id) => {
                    let name = match tx.get_user(*user_id).await? {
                        Some(u) => {
                            let text = format!("{} ({})", u.display_name, u.user_principal_name);
                            Name {
                                words: text.clone(),
                                value: text,
                            }
                        }
                        None => Name {
                            words: format!("a deleted user ({user_id})"),
                            value: user_id.to_string(),
                        },
                    };
                    names.insert(*user_id, name);
                }
                Approver::GroupMembers { group_id, .. } if !names.contains_key(group_id) => {
                    let name = match tx.get_group(*group_id).await? {
                        Some(g) => {
                            // A name two groups share would not resolve back: the box then
                            // carries the id, so saving again keeps the same group.
                            let same = tx
                                .list_groups(
                                    &GroupQuery {
                                        display_name: Some(g.display_name.clone()),
                                        ..Default::default()
                                    },
                                    Page::ALL,
                                )
                                .await?
                                .iter()
                                .filter(|o| o.display_name.eq_ignore_ascii_case(&g.display_name))
                                .count();
                            Name {
                                words: format!("{} (group)", g.display_name),
                                value: if same > 1 {
                                    format!("{} ({})", g.display_name, g.id)
                                } else {
                                    format!("{} (group)", g.display_name)
                                },
                            }
                        }
                        None => Name {
                            words: format!("a deleted group ({group_id})"),
                            value: group_id.to_string(),
                        },
                    };
                    names.insert(*group_id, name);
                }
                _ => {}
            }
        }
        Ok(Self(names))
    }

    /// "Ada Lovelace (ada@contoso.example)", "Security Team (group)", "the requestor's manager".
    pub fn words(&self, a: &Approver) -> String {
        match a {
            Approver::SingleUser { user_id: id, .. }
            | Approver::GroupMembers { group_id: id, .. } => self
                .0
                .get(id)
                .map(|n| n.words.clone())
                .unwrap_or_else(|| id.to_string()),
            Approver::RequestorManager { manager_level } => manager_words(*manager_level),
        }
    }

    /// What the approver's input box shows.
    pub fn value(&self, a: &Approver) -> String {
        match a {
            Approver::SingleUser { user_id: id, .. }
            | Approver::GroupMembers { group_id: id, .. } => self
                .0
                .get(id)
                .map(|n| n.value.clone())
                .unwrap_or_else(|| id.to_string()),
            Approver::RequestorManager { manager_level: 1 } => "Requestor's manager".into(),
            Approver::RequestorManager { manager_level } => {
                format!("Requestor's manager (level {manager_level})")
            }
        }
    }

    /// A list in words, or `none`.
    pub fn list(&self, approvers: &[Approver], none: &str) -> String {
        if approvers.is_empty() {
            return none.to_string();
        }
        approvers
            .iter()
            .map(|a| self.words(a))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn manager_words(level: u8) -> String {
    match level {
        1 => "the requestor's manager".into(),
        n => format!("the requestor's manager, {n} levels up"),
    }
}

/// What a box's text names before it is looked up.
#[derive(Debug, PartialEq, Eq)]
enum Typed<'a> {
    Manager(u8),
    /// A UPN, a group's name or an id, as `resolve_principal` reads them.
    Key(&'a str),
}

/// Reads a box's text. Besides what `resolve_principal` takes, it reads back what the form
/// shows: "Ada Lovelace (ada@contoso.example)" (the user name), "Security Team (group)" (the
/// name), "Security Team (<id>)" (the id), and the requestor's manager.
fn typed(text: &str) -> Typed<'_> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if ["manager", "requestor's manager", "the requestor's manager"].contains(&lower.as_str()) {
        return Typed::Manager(1);
    }
    if let Some(level) = lower
        .strip_prefix("requestor's manager (level ")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.trim().parse::<u8>().ok())
        .filter(|n| (1..=9).contains(n))
    {
        return Typed::Manager(level);
    }
    if let Some(open) = t.strip_suffix(')').and_then(|s| s.rfind(" (")) {
        let name = &t[..open];
        let inner = &t[open + 2..t.len() - 1];
        if inner.eq_ignore_ascii_case("group") {
            return Typed::Key(name.trim());
        }
        if inner.contains('@') || Uuid::parse_str(inner).is_ok() {
            return Typed::Key(inner.trim());
        }
    }
    Typed::Key(t)
}

/// The approver a box names, as the API's JSON, or why it names none.
pub async fn approver(
    tx: &mut dyn Tx,
    listable: Kinds,
    text: &str,
) -> ApiResult<Result<Value, String>> {
    Ok(match typed(text) {
        Typed::Manager(level) => {
            Ok(json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": level }))
        }
        Typed::Key(key) => match picker::resolve(tx, key, Kinds::PEOPLE, listable).await? {
            Ok(c) if c.kind == PrincipalKind::Group => {
                Ok(json!({ "@odata.type": "#microsoft.graph.groupMembers", "groupId": c.id }))
            }
            Ok(c) => Ok(json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": c.id })),
            Err(message) => Err(message),
        },
    })
}

/// The address a recipient box names: an email address as typed, or a user's mail (their
/// user name when they have none). A group has no address of its own in Eligo.
pub async fn recipient(
    tx: &mut dyn Tx,
    listable: Kinds,
    text: &str,
) -> ApiResult<Result<String, String>> {
    let key = match typed(text) {
        Typed::Manager(_) => {
            return Ok(Err(
                "Notifications go to addresses: enter an email address or a user's user name."
                    .into(),
            ));
        }
        Typed::Key(key) => key,
    };
    if key.contains('@') {
        return Ok(Ok(match tx.find_user_by_upn(key).await? {
            Some(u) => u.mail.unwrap_or(u.user_principal_name),
            // Any mailbox, inside the directory or not; the policy checks it is an address.
            None => key.to_string(),
        }));
    }
    Ok(
        match picker::resolve(tx, key, Kinds::PEOPLE, listable).await? {
            Ok(c) if c.kind == PrincipalKind::User => match tx.get_user(c.id).await? {
                Some(u) => Ok(u.mail.unwrap_or(u.user_principal_name)),
                None => Err(format!("Nothing in the directory has the id '{key}'.")),
            },
            Ok(_) => Err(format!(
                "'{key}' is a group; notifications go to addresses, so enter the group's mailbox address."
            )),
            Err(message) => Err(format!("{message} Or enter an email address.")),
        },
    )
}

/// The role page's sentence on who approves an activation: "Activation needs approval from:
/// Ada Lovelace (ada@contoso.example), Security Team (group)." or "Activation does not need
/// approval."
pub async fn approval_summary(app: &App, policy: &RolePolicy) -> ApiResult<String> {
    let a = &policy.rules.approval_end_user_assignment;
    if !a.is_approval_required || a.approval_stages.is_empty() {
        return Ok("Activation does not need approval.".into());
    }
    let mut tx = app.store.read().await?;
    let approvers = a
        .approval_stages
        .iter()
        .flat_map(|s| s.primary_approvers.clone())
        .collect();
    let names = Names::of(&mut *tx, approvers).await?;
    drop(tx);
    let stage = |s: &eligo_core::policy::ApprovalStage| {
        let who = names.list(
            &s.primary_approvers,
            "the Global and Privileged Role Administrators of the moment",
        );
        if s.minimum_approvals > 1 {
            format!("{who} ({} approvals needed)", s.minimum_approvals)
        } else {
            who
        }
    };
    Ok(match a.approval_stages.as_slice() {
        [one] => format!("Activation needs approval from: {}.", stage(one)),
        stages => format!(
            "Activation needs approval in {} stages: first from {}.",
            stages.len(),
            stages
                .iter()
                .map(stage)
                .collect::<Vec<_>>()
                .join("; then from ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_read_back_what_the_form_shows() {
        assert_eq!(typed(" manager "), Typed::Manager(1));
        assert_eq!(typed("Requestor's manager"), Typed::Manager(1));
        assert_eq!(typed("Requestor's manager (level 2)"), Typed::Manager(2));
        assert_eq!(
            typed("Ada Lovelace (ada@contoso.example)"),
            Typed::Key("ada@contoso.example")
        );
        assert_eq!(typed("Security Team (group)"), Typed::Key("Security Team"));
        assert_eq!(
            typed("Security Team (0b3c5a4e-9a8b-4b7c-8a3e-1f2d3c4b5a69)"),
            Typed::Key("0b3c5a4e-9a8b-4b7c-8a3e-1f2d3c4b5a69")
        );
        // A group whose own name ends in parentheses is looked up whole.
        assert_eq!(typed("Admins (EU)"), Typed::Key("Admins (EU)"));
        assert_eq!(typed("Admins (EU) (group)"), Typed::Key("Admins (EU)"));
        assert_eq!(
            typed("ada@contoso.example"),
            Typed::Key("ada@contoso.example")
        );
    }
}
