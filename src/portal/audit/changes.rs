//! What an entry changed, as the Audit page shows it: each modified property with its value
//! before and after, ids turned into names ("Ada Lovelace (ada@contoso.example)", "Security
//! Administrator", "Helpdesk team") and durations into words ("8 hours (PT8H)").
//!
//! Names are looked up once per page, not per property: every id in the page's values is
//! collected first, then resolved from the in-memory access index (principals, groups, roles)
//! plus one read per distinct user for the UPN. An id nobody knows any more (a deleted user)
//! stays as it is, so nothing is ever shown as someone else.

use std::collections::{HashMap, HashSet};

use eligo_core::audit::AuditEntry;
use eligo_core::directory::PrincipalKind;
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::portal::page::PageResult;

/// Values longer than this fold into a `<details>` (shown whole when opened, never clipped).
pub const LONG_VALUE: usize = 120;

/// One modified property as shown.
pub struct ChangeView {
    /// The target it belongs to ("Policy", "User: Ada"), shown when the entry changed more
    /// than one target.
    pub target: String,
    pub show_target: bool,
    pub property: String,
    pub old: Shown,
    pub new: Shown,
}

/// A value as shown: whole, with a short preview when it is long.
pub struct Shown {
    pub text: String,
    /// Set when `text` is long: what the folded `<details>` says before it is opened.
    pub preview: Option<String>,
}

impl Shown {
    fn of(text: String) -> Self {
        let preview = (text.chars().count() > LONG_VALUE)
            .then(|| format!("{}…", text.chars().take(LONG_VALUE / 2).collect::<String>()));
        Self { text, preview }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// The names of the ids a page's changes mention.
#[derive(Default)]
pub struct Names {
    by_id: HashMap<Uuid, String>,
}

/// Every UUID in `text`, in order.
fn ids_in(text: &str) -> impl Iterator<Item = (usize, Uuid)> + '_ {
    text.char_indices().filter_map(move |(i, _)| {
        // Cheap first: a UUID has its first hyphen 8 characters in.
        if text.as_bytes().get(i + 8) != Some(&b'-') {
            return None;
        }
        let candidate = text.get(i..i + 36)?;
        let starts_word =
            i == 0 || !text[..i].ends_with(|c: char| c.is_ascii_hexdigit() || c == '-');
        let ends_word = !text[i + 36..].starts_with(|c: char| c.is_ascii_hexdigit() || c == '-');
        (starts_word && ends_word)
            .then(|| Uuid::parse_str(candidate).ok())
            .flatten()
            .map(|id| (i, id))
    })
}

impl Names {
    /// Resolves every id mentioned in the modified properties of `entries`.
    pub async fn of(app: &App, tx: &mut dyn Tx, entries: &[AuditEntry]) -> PageResult<Self> {
        let values = entries
            .iter()
            .flat_map(|e| e.modified_properties())
            .flat_map(|p| [p.old_value.as_str(), p.new_value.as_str()]);
        Self::of_values(app, tx, values).await
    }

    /// Resolves every id mentioned in `values` (a settings page's confirmation uses the same
    /// words as the audit page).
    pub async fn of_values<'v>(
        app: &App,
        tx: &mut dyn Tx,
        values: impl Iterator<Item = &'v str>,
    ) -> PageResult<Self> {
        let mut wanted = HashSet::new();
        for value in values {
            wanted.extend(ids_in(value).map(|(_, id)| id));
        }
        let mut by_id = HashMap::with_capacity(wanted.len());
        for id in wanted {
            if let Some((kind, name)) = app.access.principal(id) {
                let shown = match kind {
                    PrincipalKind::User => match tx.get_user(id).await? {
                        Some(u) if u.user_principal_name != name => {
                            format!("{name} ({})", u.user_principal_name)
                        }
                        _ => name,
                    },
                    PrincipalKind::Group => format!("{name} (group)"),
                    PrincipalKind::ServicePrincipal => format!("{name} (app)"),
                };
                by_id.insert(id, shown);
            } else if let Some(role) = app.access.role(id) {
                by_id.insert(id, role.display_name);
            }
        }
        Ok(Self { by_id })
    }

    /// `value` as people read it: ids replaced by names, an ISO duration said in words.
    pub fn readable(&self, value: &str) -> String {
        if value.starts_with('P')
            && let Ok(d) = eligo_core::duration::parse_duration(value)
        {
            return format!("{} ({value})", eligo_core::duration_words::in_words(d));
        }
        let mut out = String::with_capacity(value.len());
        let mut at = 0;
        for (i, id) in ids_in(value) {
            if let Some(name) = self.by_id.get(&id) {
                out.push_str(&value[at..i]);
                out.push_str(name);
                at = i + 36;
            }
        }
        out.push_str(&value[at..]);
        out
    }

    /// `value` in a sentence: a duration in words alone, nothing as "none", ids as names.
    pub fn said(&self, value: &str) -> String {
        if value.is_empty() {
            return "none".into();
        }
        if value.starts_with('P')
            && let Ok(d) = eligo_core::duration::parse_duration(value)
        {
            return eligo_core::duration_words::in_words(d);
        }
        self.readable(value)
    }

    /// The changes of one entry, target by target.
    pub fn changes(&self, e: &AuditEntry) -> Vec<ChangeView> {
        let show_target = e
            .target_resources
            .iter()
            .filter(|t| !t.modified_properties.is_empty())
            .count()
            > 1;
        e.target_resources
            .iter()
            .flat_map(|t| {
                let target = match &t.display_name {
                    Some(name) if !name.is_empty() => format!("{}: {name}", t.kind),
                    _ => t.kind.clone(),
                };
                t.modified_properties.iter().map(move |p| ChangeView {
                    target: target.clone(),
                    show_target,
                    property: p.display_name.clone(),
                    old: Shown::of(self.readable(&p.old_value)),
                    new: Shown::of(self.readable(&p.new_value)),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_names_and_durations_words() {
        let ada = Uuid::from_u128(1);
        let gone = Uuid::from_u128(2);
        let names = Names {
            by_id: HashMap::from([(ada, "Ada (ada@x)".to_string())]),
        };
        assert_eq!(
            names.readable(&format!("{ada}, {gone}, Requestor's manager")),
            format!("Ada (ada@x), {gone}, Requestor's manager"),
            "an unknown id stays an id"
        );
        assert_eq!(names.readable("PT3H"), "3 hours (PT3H)");
        assert_eq!(names.readable("Permanent"), "Permanent");
        assert_eq!(names.readable(""), "");
        assert_eq!(
            names.readable(&format!("x{ada}")),
            format!("x{ada}").replace(&ada.to_string(), "Ada (ada@x)")
        );
        assert_eq!(
            ids_in(&format!("a{ada}0")).count(),
            0,
            "part of a longer hex run is no id"
        );
    }

    #[test]
    fn long_values_fold_but_keep_everything() {
        let long = "x".repeat(LONG_VALUE + 1);
        let shown = Shown::of(long.clone());
        assert_eq!(shown.text, long);
        assert!(shown.preview.unwrap().ends_with('…'));
        assert!(Shown::of("short".into()).preview.is_none());
    }
}
