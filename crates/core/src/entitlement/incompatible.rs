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
}
