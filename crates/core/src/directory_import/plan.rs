//! The import decision: match each directory entry to what Eligo holds from this source (by
//! key, or by userName after a rename), and list what changes.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::{
    GroupUpdate, Known, KnownGroup, KnownUser, Plan, Ref, Skipped, Snapshot, SourceGroup,
    SourceState, SourceUser, UserUpdate,
};
use crate::directory::{validate_description, validate_display_name, validate_mail, validate_upn};

/// What changes when `snapshot` is imported over `known`.
pub fn plan(snapshot: &Snapshot, known: &Known) -> Plan {
    let mut out = Plan::default();
    let users = Users::match_entries(snapshot, known, &mut out);
    let groups = Groups::match_entries(snapshot, known, &mut out);
    managers(snapshot, &users, &mut out);
    memberships(snapshot, &users, &groups, &mut out);
    out
}

fn skip(out: &mut Plan, dn: &str, reason: impl Into<String>) {
    out.skipped.push(Skipped {
        dn: dn.to_string(),
        reason: reason.into(),
    });
}

fn check_user(u: &SourceUser) -> Result<(), String> {
    validate_upn(&u.user_name).map_err(|e| format!("userName {:?}: {}", u.user_name, e.message))?;
    validate_display_name(&u.display_name)
        .map_err(|e| format!("displayName {:?}: {}", u.display_name, e.message))?;
    if let Some(mail) = &u.mail {
        validate_mail(mail).map_err(|e| format!("mail {mail:?}: {}", e.message))?;
    }
    Ok(())
}

fn check_group(g: &SourceGroup) -> Result<(), String> {
    validate_display_name(&g.display_name)
        .map_err(|e| format!("name {:?}: {}", g.display_name, e.message))?;
    if let Some(d) = &g.description {
        validate_description(d).map_err(|e| format!("description: {}", e.message))?;
    }
    Ok(())
}

/// The entries of one kind the plan accepts, and how an entry key resolves.
struct Accepted<'a, K> {
    /// Accepted entries by key, with the principal each is (or becomes).
    refs: HashMap<&'a str, Ref>,
    /// Principals Eligo holds, matched to an accepted entry, by the entry's key.
    matched: HashMap<&'a str, &'a K>,
    /// Keys the snapshot holds (accepted or skipped): those never resolve to a known one.
    read: HashSet<&'a str>,
    known_by_key: HashMap<&'a str, &'a K>,
    complete: bool,
}

/// What Eligo holds from the source, by id.
trait Held {
    fn id(&self) -> Uuid;
}

impl Held for KnownUser {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl Held for KnownGroup {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl<K: Held> Accepted<'_, K> {
    /// What an entry key names: an entry accepted now, or (incremental pass) a principal
    /// imported before whose entry was not read this time. A skipped entry names nothing.
    fn resolve(&self, key: &str) -> Option<Ref> {
        if let Some(r) = self.refs.get(key) {
            return Some(r.clone());
        }
        if self.complete || self.read.contains(key) {
            return None;
        }
        self.known_by_key.get(key).map(|k| Ref::Known(k.id()))
    }
}

/// The users of the snapshot that the plan accepts, and how references to users resolve.
struct Users<'a> {
    entries: Accepted<'a, KnownUser>,
    by_uid: HashMap<&'a str, Ref>,
    known_by_uid: HashMap<&'a str, &'a KnownUser>,
}

impl<'a> Users<'a> {
    fn match_entries(snapshot: &'a Snapshot, known: &'a Known, out: &mut Plan) -> Self {
        let known_by_key: HashMap<&str, &KnownUser> =
            known.users.iter().map(|k| (k.key.as_str(), k)).collect();
        let known_by_name: HashMap<String, &KnownUser> = known
            .users
            .iter()
            .map(|k| (k.user_name.to_lowercase(), k))
            .collect();
        let read: HashSet<&str> = snapshot.users.iter().map(|u| u.key.as_str()).collect();
        let mut refs = HashMap::new();
        let mut matched: HashMap<&str, &KnownUser> = HashMap::new();
        let mut claimed: HashSet<Uuid> = HashSet::new();
        let mut names: HashSet<String> = HashSet::new();
        for u in &snapshot.users {
            if refs.contains_key(u.key.as_str()) {
                skip(out, &u.dn, "the directory returned this entry twice");
                continue;
            }
            // A user whose entry is still there but skipped is left as it is, not taken for
            // gone (a bad value in the directory must not deactivate anyone).
            if let Some(k) = known_by_key.get(u.key.as_str()) {
                claimed.insert(k.id);
            }
            if let Err(why) = check_user(u) {
                skip(out, &u.dn, why);
                continue;
            }
            let name = u.user_name.to_lowercase();
            if !names.insert(name.clone()) {
                skip(
                    out,
                    &u.dn,
                    format!("another entry has the userName {:?}", u.user_name),
                );
                continue;
            }
            // The same entry, or (after a rename in the directory) the user this source gave
            // that name, as long as its old entry is not also there. Only a full pass knows
            // that: an incremental one reads the changed entries alone, so a new entry that
            // merely repeats someone's userName would take their account over.
            let by_key = known_by_key.get(u.key.as_str()).copied();
            let by_name = known_by_name.get(&name).copied().filter(|k| k.key != u.key);
            if by_key.is_none() && by_name.is_some() && !snapshot.complete {
                skip(
                    out,
                    &u.dn,
                    format!(
                        "another entry was imported as userName {:?}; only a full pass, which \
                         sees whether that entry is gone, may give the account to this one",
                        u.user_name
                    ),
                );
                continue;
            }
            let found = by_key.or_else(|| by_name.filter(|k| !read.contains(k.key.as_str())));
            let renamed = found.is_none_or(|k| k.user_name.to_lowercase() != name);
            if renamed && known.taken.contains(&name) {
                skip(
                    out,
                    &u.dn,
                    format!(
                        "userName {:?} belongs to an account this import does not own (Eligo's \
                         own or another source's); it is never taken over",
                        u.user_name
                    ),
                );
                continue;
            }
            match found {
                Some(k) if k.key != u.key && !claimed.insert(k.id) => {
                    skip(out, &u.dn, "another entry is already imported as this user");
                }
                Some(k) => {
                    if let Some(update) = user_update(u, k) {
                        out.update_users.push(update);
                    }
                    refs.insert(u.key.as_str(), Ref::Known(k.id));
                    matched.insert(u.key.as_str(), k);
                }
                None => {
                    out.create_users.push(u.clone());
                    refs.insert(u.key.as_str(), Ref::New(u.key.clone()));
                }
            }
        }
        if snapshot.complete {
            for k in known.users.iter().filter(|k| !claimed.contains(&k.id)) {
                if let Some(update) = gone(k) {
                    out.update_users.push(update);
                }
            }
        }
        let by_uid = snapshot
            .users
            .iter()
            .filter_map(|u| Some((u.uid.as_deref()?, refs.get(u.key.as_str())?.clone())))
            .collect();
        Self {
            by_uid,
            known_by_uid: known
                .users
                .iter()
                .filter_map(|k| Some((k.uid.as_deref()?, k)))
                .collect(),
            entries: Accepted {
                refs,
                matched,
                read,
                known_by_key,
                complete: snapshot.complete,
            },
        }
    }

    fn resolve_uid(&self, uid: &str) -> Option<Ref> {
        if let Some(r) = self.by_uid.get(uid) {
            return Some(r.clone());
        }
        if self.entries.complete {
            return None;
        }
        self.known_by_uid
            .get(uid)
            .filter(|k| !self.entries.read.contains(k.key.as_str()))
            .map(|k| Ref::Known(k.id))
    }
}

/// What changes for a user the directory still has.
fn user_update(u: &SourceUser, k: &KnownUser) -> Option<UserUpdate> {
    let differs = |a: &str, b: &str| (a != b).then(|| a.to_string());
    // The directory's account state decides only when it changed (see `KnownUser`).
    let enabled = (u.enabled != k.source_enabled && u.enabled != k.enabled).then_some(u.enabled);
    let update = UserUpdate {
        id: k.id,
        source: SourceState {
            key: u.key.clone(),
            dn: u.dn.clone(),
            uid: u.uid.clone(),
            enabled: Some(u.enabled),
        },
        user_name: differs(&u.user_name, &k.user_name),
        display_name: differs(&u.display_name, &k.display_name),
        mail: (u.mail != k.mail).then(|| u.mail.clone()),
        enabled,
    };
    let source_moved =
        u.key != k.key || u.dn != k.dn || u.uid != k.uid || u.enabled != k.source_enabled;
    let changes = update.user_name.is_some()
        || update.display_name.is_some()
        || update.mail.is_some()
        || update.enabled.is_some();
    (changes || source_moved).then_some(update)
}

/// A user gone from the directory: deactivated (once; an administrator may re-enable it, and
/// the directory will not undo that until the entry comes back).
fn gone(k: &KnownUser) -> Option<UserUpdate> {
    // Already recorded as off in the directory (disabled, or gone before): nothing new.
    if !k.source_enabled {
        return None;
    }
    Some(UserUpdate {
        id: k.id,
        source: SourceState {
            key: k.key.clone(),
            dn: k.dn.clone(),
            uid: k.uid.clone(),
            enabled: Some(false),
        },
        user_name: None,
        display_name: None,
        mail: None,
        enabled: k.enabled.then_some(false),
    })
}

/// The groups of the snapshot that the plan accepts.
type Groups<'a> = Accepted<'a, KnownGroup>;

impl<'a> Groups<'a> {
    fn match_entries(snapshot: &'a Snapshot, known: &'a Known, out: &mut Plan) -> Self {
        let known_by_key: HashMap<&str, &KnownGroup> =
            known.groups.iter().map(|k| (k.key.as_str(), k)).collect();
        let read: HashSet<&str> = snapshot.groups.iter().map(|g| g.key.as_str()).collect();
        let mut refs = HashMap::new();
        let mut matched = HashMap::new();
        for g in &snapshot.groups {
            if refs.contains_key(g.key.as_str()) {
                skip(out, &g.dn, "the directory returned this entry twice");
                continue;
            }
            if let Err(why) = check_group(g) {
                skip(out, &g.dn, why);
                continue;
            }
            match known_by_key.get(g.key.as_str()) {
                Some(k) => {
                    if let Some(update) = group_update(g, k) {
                        out.update_groups.push(update);
                    }
                    refs.insert(g.key.as_str(), Ref::Known(k.id));
                    matched.insert(g.key.as_str(), *k);
                }
                None => {
                    out.create_groups.push(g.clone());
                    refs.insert(g.key.as_str(), Ref::New(g.key.clone()));
                }
            }
        }
        if snapshot.complete {
            for k in known
                .groups
                .iter()
                .filter(|k| !read.contains(k.key.as_str()))
            {
                out.groups_removed.push(k.id);
                out.remove_members
                    .extend(k.members.iter().map(|&m| (k.id, m)));
            }
        }
        Self {
            refs,
            matched,
            read,
            known_by_key,
            complete: snapshot.complete,
        }
    }
}

fn group_update(g: &SourceGroup, k: &KnownGroup) -> Option<GroupUpdate> {
    let update = GroupUpdate {
        id: k.id,
        source: SourceState {
            key: g.key.clone(),
            dn: g.dn.clone(),
            uid: None,
            enabled: None,
        },
        display_name: (g.display_name != k.display_name).then(|| g.display_name.clone()),
        description: (g.description != k.description).then(|| g.description.clone()),
    };
    let changes = update.display_name.is_some() || update.description.is_some() || g.dn != k.dn;
    changes.then_some(update)
}

/// Each accepted user's manager, when it differs from what Eligo has. A manager the import
/// cannot name (outside the bases, skipped) is no manager.
fn managers(snapshot: &Snapshot, users: &Users<'_>, out: &mut Plan) {
    for u in &snapshot.users {
        let Some(me) = users.entries.refs.get(u.key.as_str()) else {
            continue;
        };
        let wanted = u
            .manager
            .as_deref()
            .and_then(|m| users.entries.resolve(m))
            .filter(|m| m != me);
        let current = users
            .entries
            .matched
            .get(u.key.as_str())
            .and_then(|k| k.manager)
            .map(Ref::Known);
        if wanted != current {
            out.managers.push((me.clone(), wanted));
        }
    }
}

/// Each accepted group's direct members as the directory lists them, against the members it
/// has from this source.
fn memberships(snapshot: &Snapshot, users: &Users<'_>, groups: &Groups<'_>, out: &mut Plan) {
    for g in &snapshot.groups {
        let Some(me) = groups.refs.get(g.key.as_str()) else {
            continue;
        };
        let wanted: BTreeSet<Ref> = g
            .members
            .iter()
            .filter_map(|m| {
                if snapshot.members_by_uid {
                    users.resolve_uid(m)
                } else {
                    users.entries.resolve(m).or_else(|| groups.resolve(m))
                }
            })
            .filter(|m| m != me)
            .collect();
        let current: BTreeSet<Ref> = groups
            .matched
            .get(g.key.as_str())
            .map(|k| k.members.iter().map(|&m| Ref::Known(m)).collect())
            .unwrap_or_default();
        if g.members_partial {
            // Only some members could be read: add those, remove nobody.
            skip(
                out,
                &g.dn,
                "only part of its members could be read; members are added but none removed",
            );
        }
        out.add_members
            .extend(wanted.difference(&current).map(|m| (me.clone(), m.clone())));
        if let Ref::Known(group) = me
            && !g.members_partial
        {
            out.remove_members
                .extend(current.difference(&wanted).filter_map(|m| match m {
                    Ref::Known(id) => Some((*group, *id)),
                    Ref::New(_) => None,
                }));
        }
    }
}
