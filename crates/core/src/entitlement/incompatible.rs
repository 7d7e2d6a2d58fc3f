//! Separation of duties: a package declared incompatible with another package, or with a group,
//! keeps anyone from holding both. A rule is declared on one package and holds in both
//! directions; this module answers which rules a person would break.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::invalid::Invalid;

/// The declared rules: `(package, other package)` and `(package, group)`, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub packages: Vec<(Uuid, Uuid)>,
    pub groups: Vec<(Uuid, Uuid)>,
}

/// A rule that holding `package` would break.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Conflict {
    /// The person holds `other`, incompatible with the package (declared on either side).
    Package { other: Uuid },
    /// The person is a member of `group`, incompatible with the package.
    Group { group: Uuid },
    /// The package would make the person a member of `group`, which `held`, a package the
    /// person holds, declared incompatible.
    GivenGroup { group: Uuid, held: Uuid },
}

impl Conflict {
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::Package { .. } => "IncompatibleAccessPackage",
            Conflict::Group { .. } | Conflict::GivenGroup { .. } => "IncompatibleGroup",
        }
    }
}

impl Rules {
    /// The packages incompatible with `package`, in either direction.
    pub fn packages_against(&self, package: Uuid) -> BTreeSet<Uuid> {
        self.packages
            .iter()
            .filter_map(|&(a, b)| {
                if a == package {
                    Some(b)
                } else if b == package {
                    Some(a)
                } else {
                    None
                }
            })
            .collect()
    }

    /// What a person holding `held` packages and in `groups` breaks by getting `package`.
    pub fn conflicts(
        &self,
        package: Uuid,
        held: &BTreeSet<Uuid>,
        groups: &BTreeSet<Uuid>,
    ) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self
            .packages_against(package)
            .into_iter()
            .filter(|p| held.contains(p))
            .map(|other| Conflict::Package { other })
            .collect();
        out.extend(
            self.groups
                .iter()
                .filter(|&&(p, g)| p == package && groups.contains(&g))
                .map(|&(_, group)| Conflict::Group { group }),
        );
        out.sort();
        out.dedup();
        out
    }

    /// What a person holding `held` packages breaks by being made a member of `gives` (the
    /// groups a package hands out membership of): a held package declared one incompatible.
    pub fn conflicts_of_groups(
        &self,
        held: &BTreeSet<Uuid>,
        gives: &BTreeSet<Uuid>,
    ) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self
            .groups
            .iter()
            .filter(|(p, g)| held.contains(p) && gives.contains(g))
            .map(|&(held, group)| Conflict::GivenGroup { group, held })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A rule a person breaks: holding `package` and `conflict` at once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Breach {
    pub package: Uuid,
    pub conflict: Conflict,
}

impl Rules {
    /// Whether any package-group rule names one of `groups`: a membership change that gives no
    /// such group cannot break a rule (packages are not changed by it), so it skips the work.
    pub fn touch_groups(&self, groups: &BTreeSet<Uuid>) -> bool {
        self.groups.iter().any(|(_, g)| groups.contains(g))
    }

    /// Every rule a person holding `held` packages and in `groups` (transitively) breaks, each
    /// package-package pair once (the smaller id first as `package`).
    pub fn breaches(&self, held: &BTreeSet<Uuid>, groups: &BTreeSet<Uuid>) -> Vec<Breach> {
        let mut out: Vec<Breach> = self
            .packages
            .iter()
            .filter(|(a, b)| a != b && held.contains(a) && held.contains(b))
            .map(|&(a, b)| Breach {
                package: a.min(b),
                conflict: Conflict::Package { other: a.max(b) },
            })
            .collect();
        out.extend(
            self.groups
                .iter()
                .filter(|(p, g)| held.contains(p) && groups.contains(g))
                .map(|&(package, group)| Breach {
                    package,
                    conflict: Conflict::Group { group },
                }),
        );
        out.sort();
        out.dedup();
        out
    }

    /// The decision for every path that changes what a person holds: the rules broken after
    /// the change (`held_after`, `groups_after`) that were not broken before it. A conflict
    /// granted before its rule was declared does not block an unrelated change (the
    /// incompatibility report lists it); a change that adds one is refused.
    pub fn breaches_of_change(
        &self,
        held_before: &BTreeSet<Uuid>,
        groups_before: &BTreeSet<Uuid>,
        held_after: &BTreeSet<Uuid>,
        groups_after: &BTreeSet<Uuid>,
    ) -> Vec<Breach> {
        let before = self.breaches(held_before, groups_before);
        self.breaches(held_after, groups_after)
            .into_iter()
            .filter(|b| !before.contains(b))
            .collect()
    }
}

/// A package cannot be incompatible with itself.
pub fn check_pair(package: Uuid, other: Uuid) -> Result<(), Invalid> {
    if package == other {
        return Err(Invalid::new(
            "SelfIncompatible",
            "@odata.id",
            "an access package cannot be incompatible with itself",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_hold_both_ways() {
        let (officer, helpdesk, other, group) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(9),
        );
        let rules = Rules {
            packages: vec![(officer, helpdesk)],
            groups: vec![(officer, group)],
        };
        let set = |ids: &[Uuid]| ids.iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(
            rules.conflicts(helpdesk, &set(&[officer]), &set(&[])),
            [Conflict::Package { other: officer }],
            "declared on the other side"
        );
        assert_eq!(
            rules.conflicts(officer, &set(&[helpdesk, other]), &set(&[group])),
            [
                Conflict::Package { other: helpdesk },
                Conflict::Group { group }
            ]
        );
        assert!(
            rules
                .conflicts(other, &set(&[officer, helpdesk]), &set(&[group]))
                .is_empty()
        );
        assert!(check_pair(officer, officer).is_err());
        // Holding the officer package, a package that gives the group conflicts too.
        assert_eq!(
            rules.conflicts_of_groups(&set(&[officer]), &set(&[group, other])),
            [Conflict::GivenGroup {
                group,
                held: officer
            }]
        );
        assert!(
            rules
                .conflicts_of_groups(&set(&[helpdesk]), &set(&[group]))
                .is_empty()
        );
    }

    #[test]
    fn a_change_breaks_only_what_it_adds() {
        let (officer, helpdesk, group, other_group) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(9),
            Uuid::from_u128(10),
        );
        let rules = Rules {
            packages: vec![(officer, helpdesk)],
            groups: vec![(officer, group)],
        };
        let set = |ids: &[Uuid]| ids.iter().copied().collect::<BTreeSet<_>>();
        assert!(rules.touch_groups(&set(&[group, other_group])));
        assert!(!rules.touch_groups(&set(&[other_group])));
        // Joining the group while holding the officer package breaks the rule.
        assert_eq!(
            rules.breaches_of_change(
                &set(&[officer]),
                &set(&[]),
                &set(&[officer]),
                &set(&[group])
            ),
            [Breach {
                package: officer,
                conflict: Conflict::Group { group }
            }]
        );
        // Held both before the rule: an unrelated change is not refused for it.
        assert!(
            rules
                .breaches_of_change(
                    &set(&[officer, helpdesk]),
                    &set(&[group]),
                    &set(&[officer, helpdesk]),
                    &set(&[group, other_group])
                )
                .is_empty()
        );
        // Both packages, reported once whichever side declared.
        assert_eq!(
            rules.breaches(&set(&[officer, helpdesk]), &set(&[])),
            [Breach {
                package: officer.min(helpdesk),
                conflict: Conflict::Package {
                    other: officer.max(helpdesk)
                }
            }]
        );
        assert!(rules.breaches(&set(&[helpdesk]), &set(&[group])).is_empty());
    }
}
