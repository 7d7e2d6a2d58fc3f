use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::naive::Naive;
use super::workload::{
    Shape, Workload, WorkloadParser, generate, generate_shaped, generate_workload, parse_workload,
};
use super::*;

fn t(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).unwrap()
}

fn assignment(id: &str, principal: &str, role: &str, scope: &str, window: Window) -> Assignment {
    Assignment {
        id: id.into(),
        principal: principal.into(),
        role: role.into(),
        scope: scope.into(),
        window,
    }
}

fn within(start: i64, end: i64) -> Window {
    Window::new(Some(t(start)), Some(t(end)))
}

fn until(end: i64) -> Window {
    Window::new(None, Some(t(end)))
}

#[test]
fn direct_assignment() {
    let mut ix = Index::new();
    ix.add_assignment(assignment("a1", "u1", "r1", "/", Window::ALWAYS));
    let d = ix.check("u1", "r1", "/sub-1", t(0));
    assert!(d.allowed);
    assert_eq!(d.expires_at, None);
    assert_eq!(
        d.paths,
        vec![Path {
            assignment_id: "a1".into(),
            role: "r1".into(),
            scope: "/".into(),
            holder: "u1".into(),
            via: vec![],
            end: None,
        }]
    );
    assert!(ix.allows("u1", "r1", "/", t(0)));
    assert!(!ix.allows("u1", "r2", "/", t(0)), "another role");
    assert!(!ix.allows("u2", "r1", "/", t(0)), "another principal");
    assert_eq!(ix.check("u2", "r1", "/", t(0)), Decision::default());
}

#[test]
fn via_group_and_nested_groups() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", Window::ALWAYS);
    ix.add_member("g2", "g1", Window::ALWAYS);
    ix.add_member("g3", "g2", Window::ALWAYS);
    ix.add_assignment(assignment("a1", "g1", "r1", "/", Window::ALWAYS));
    ix.add_assignment(assignment("a3", "g3", "r3", "/", Window::ALWAYS));

    let d = ix.check("u1", "r1", "/", t(0));
    assert!(d.allowed);
    assert_eq!(d.paths[0].holder, "g1");
    assert_eq!(d.paths[0].via, vec!["g1"]);

    let d = ix.check("u1", "r3", "/", t(0));
    assert!(d.allowed);
    assert_eq!(d.paths[0].holder, "g3");
    assert_eq!(d.paths[0].via, vec!["g1", "g2", "g3"]);
    assert!(ix.allows("g2", "r3", "/", t(0)));
    assert!(
        !ix.allows("g2", "r1", "/", t(0)),
        "a group does not hold its members' roles"
    );
    assert!(!ix.allows("g3", "r1", "/", t(0)));
}

#[test]
fn scope_inheritance_follows_scope_covers() {
    let mut ix = Index::new();
    ix.add_assignment(assignment("a1", "u1", "r1", "/sub-1", Window::ALWAYS));
    for (target, expect) in [
        ("/sub-1", true),
        ("/sub-1/rg-7", true),
        ("/sub-1/rg-7/vm-2", true),
        ("/SUB-1/rg-7", true),
        ("/sub-10", false),
        ("/sub-10/rg-1", false),
        ("/sub-2", false),
        ("/", false),
    ] {
        assert_eq!(ix.allows("u1", "r1", target, t(0)), expect, "{target}");
        assert_eq!(crate::scope::covers("/sub-1", target), expect, "{target}");
    }
    ix.add_assignment(assignment("a2", "u1", "r1", "/Sub-2/RG-1", Window::ALWAYS));
    assert!(ix.allows("u1", "r1", "/sub-2/rg-1", t(0)));
    assert!(ix.allows("u1", "r1", "/sub-2/Rg-1/x", t(0)));
    assert!(!ix.allows("u1", "r1", "/sub-2", t(0)));
    let d = ix.check("u1", "r1", "/sub-2/rg-1", t(0));
    assert_eq!(d.paths[0].scope, "/Sub-2/RG-1", "reported as given");
}

#[test]
fn windows_are_half_open() {
    let mut ix = Index::new();
    ix.add_assignment(assignment("a1", "u1", "r1", "/", within(1, 3)));
    assert!(!ix.allows("u1", "r1", "/", t(1) - Duration::seconds(1)));
    assert!(ix.allows("u1", "r1", "/", t(1)), "at start: allowed");
    assert!(ix.allows("u1", "r1", "/", t(3) - Duration::nanoseconds(1)));
    assert!(!ix.allows("u1", "r1", "/", t(3)), "at end: ended");
    assert!(!ix.check("u1", "r1", "/", t(3)).allowed);
    assert_eq!(ix.check("u1", "r1", "/", t(2)).expires_at, Some(t(3)));
}

#[test]
fn expires_at_is_the_latest_end_among_paths() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", Window::ALWAYS);
    ix.add_assignment(assignment("a1", "u1", "r1", "/", until(5)));
    ix.add_assignment(assignment("a2", "g1", "r1", "/sub-1", until(9)));
    let d = ix.check("u1", "r1", "/sub-1", t(0));
    assert_eq!(d.expires_at, Some(t(9)));
    let ids: Vec<&str> = d.paths.iter().map(|p| p.assignment_id.as_str()).collect();
    assert_eq!(ids, ["a2", "a1"], "longest-lasting first");
    assert_eq!(ix.check("u1", "r1", "/sub-2", t(0)).expires_at, Some(t(5)));

    ix.add_assignment(assignment(
        "a3",
        "g1",
        "r1",
        "/sub-1",
        Window::new(Some(t(-1)), None),
    ));
    let d = ix.check("u1", "r1", "/sub-1", t(0));
    assert_eq!(d.expires_at, None, "one unbounded path: no end");
    assert_eq!(d.paths[0].assignment_id, "a3");
    assert_eq!(d.paths.len(), 3);
    // A window that has not started yet is not a path.
    ix.add_assignment(assignment(
        "a4",
        "u1",
        "r1",
        "/",
        Window::new(Some(t(1)), None),
    ));
    assert_eq!(ix.check("u1", "r1", "/sub-2", t(0)).expires_at, Some(t(5)));
    // Not allowed: no end.
    assert_eq!(ix.check("u1", "r1", "/sub-2", t(9)).expires_at, None);
}

#[test]
fn edge_windows_bound_the_path() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", within(1, 4)); // an activated membership
    ix.add_assignment(assignment("a1", "g1", "r1", "/", until(9)));
    assert!(
        !ix.allows("u1", "r1", "/", t(0)),
        "membership not yet started"
    );
    let d = ix.check("u1", "r1", "/", t(1));
    assert!(d.allowed);
    assert_eq!(d.expires_at, Some(t(4)), "the edge ends first");
    assert_eq!(d.paths[0].end, Some(t(4)));
    assert!(!ix.allows("u1", "r1", "/", t(4)), "membership ended");

    // A second, longer-lasting chain u1 -> g2 -> g1 is preferred and extends the access.
    ix.add_member("g2", "u1", Window::ALWAYS);
    ix.add_member("g1", "g2", until(7));
    let d = ix.check("u1", "r1", "/", t(2));
    assert_eq!(d.paths.len(), 1, "one path per assignment");
    assert_eq!(d.paths[0].via, vec!["g2", "g1"]);
    assert_eq!(d.expires_at, Some(t(7)));
    assert!(ix.allows("u1", "r1", "/", t(5)));
    assert!(!ix.allows("u1", "r1", "/", t(7)));

    let m = ix.is_member("u1", "g1", t(2));
    assert!(m.member);
    assert_eq!(m.end, Some(t(7)));
    assert_eq!(m.via, vec!["g2", "g1"]);
    let m = ix.is_member("u1", "g1", t(8));
    assert!(!m.member);
    assert_eq!((m.via.len(), m.end), (0, None));

    assert!(ix.remove_member("g1", "u1", within(1, 4)));
    assert!(
        !ix.remove_member("g1", "u1", within(1, 4)),
        "already removed"
    );
    assert_eq!(
        ix.check("u1", "r1", "/", t(2)).paths[0].via,
        vec!["g2", "g1"]
    );
}

#[test]
fn cycles_terminate() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", Window::ALWAYS);
    ix.add_member("g2", "g1", Window::ALWAYS);
    ix.add_member("g1", "g2", Window::ALWAYS);
    ix.add_member("g3", "g3", Window::ALWAYS); // a self-loop
    ix.add_member("g3", "g2", Window::ALWAYS);
    ix.add_assignment(assignment("a1", "g2", "r1", "/", Window::ALWAYS));
    ix.add_assignment(assignment("a2", "g3", "r2", "/", Window::ALWAYS));
    assert!(ix.allows("u1", "r1", "/", t(0)));
    assert!(ix.allows("g1", "r1", "/", t(0)));
    assert!(ix.allows("u1", "r2", "/", t(0)));
    assert!(!ix.allows("u1", "r9", "/", t(0)));
    assert!(!ix.check("u1", "nobody-holds-this", "/", t(0)).allowed);
    assert!(ix.check("g2", "r2", "/", t(0)).allowed);
    assert!(ix.is_member("g1", "g2", t(0)).member);
    assert!(ix.is_member("g2", "g1", t(0)).member);
    assert!(!ix.is_member("g1", "g1", t(0)).member, "not its own member");
    assert!(!ix.is_member("g3", "g3", t(0)).member);
    let groups: Vec<String> = ix
        .groups_of("u1", t(0))
        .into_iter()
        .map(|m| m.group)
        .collect();
    assert_eq!(groups, ["g1", "g2", "g3"]);
    let holders: Vec<String> = ix
        .holders_of("r2", t(0))
        .into_iter()
        .map(|h| h.principal)
        .collect();
    assert_eq!(holders, ["g1", "g2", "g3", "u1"]);
}

type MemberRow = (String, Vec<String>, Option<DateTime<Utc>>);

fn member_rows(ix: &Index, group: &str, at: DateTime<Utc>) -> Vec<MemberRow> {
    ix.members_of(group, at)
        .into_iter()
        .map(|m| (m.principal, m.via, m.end))
        .collect()
}

fn row(principal: &str, via: &[&str], end: Option<DateTime<Utc>>) -> MemberRow {
    (
        principal.into(),
        via.iter().map(|g| g.to_string()).collect(),
        end,
    )
}

#[test]
fn members_of_lists_transitive_members_with_their_chains() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", until(3));
    ix.add_member("g1", "u2", Window::ALWAYS);
    ix.add_member("g2", "g1", Window::ALWAYS);
    ix.add_member("g2", "u3", within(1, 4)); // an activated membership
    ix.add_member("g3", "g2", until(9));
    ix.add_member("g3", "sp1", Window::ALWAYS); // any principal can be a member

    assert_eq!(
        member_rows(&ix, "g3", t(0)),
        [
            row("g1", &["g2", "g3"], Some(t(9))),
            row("g2", &["g3"], Some(t(9))),
            row("sp1", &["g3"], None),
            row("u1", &["g1", "g2", "g3"], Some(t(3))),
            row("u2", &["g1", "g2", "g3"], Some(t(9))),
        ],
        "by principal id; u3's membership has not started"
    );
    let at2: Vec<String> = ix
        .members_of("g3", t(2))
        .into_iter()
        .map(|m| m.principal)
        .collect();
    assert_eq!(at2, ["g1", "g2", "sp1", "u1", "u2", "u3"]);
    assert_eq!(
        member_rows(&ix, "g2", t(3)),
        [
            row("g1", &["g2"], None),
            row("u2", &["g1", "g2"], None),
            row("u3", &["g2"], Some(t(4))),
        ],
        "u1's edge ended at t(3)"
    );
    assert_eq!(member_rows(&ix, "g3", t(9)), [row("sp1", &["g3"], None)]);
    assert!(
        ix.members_of("u1", t(0)).is_empty(),
        "a user has no members"
    );
    assert!(ix.members_of("nobody", t(0)).is_empty());

    // Every entry is what `is_member` says from the member's side.
    for at in [t(0), t(2), t(5)] {
        for g in ["g1", "g2", "g3"] {
            for m in ix.members_of(g, at) {
                let from_below = ix.is_member(&m.principal, g, at);
                assert!(from_below.member, "{} in {g}", m.principal);
                assert_eq!(from_below.end, m.end);
                assert_eq!(m.via.last().map(String::as_str), Some(g));
            }
        }
    }

    // Removing an edge removes everything that came through it.
    assert_eq!(ix.remove_member_all("g2", "g1"), 1);
    let left: Vec<String> = ix
        .members_of("g3", t(0))
        .into_iter()
        .map(|m| m.principal)
        .collect();
    assert_eq!(left, ["g2", "sp1"]);
}

#[test]
fn members_of_prefers_the_longest_lasting_chain() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", until(2));
    ix.add_member("g2", "u1", Window::ALWAYS);
    ix.add_member("g1", "g2", until(5));
    assert_eq!(
        member_rows(&ix, "g1", t(0)),
        [
            row("g2", &["g1"], Some(t(5))),
            row("u1", &["g2", "g1"], Some(t(5))),
        ]
    );
    // Two edges between the same pair: the longer window counts.
    ix.add_member("g1", "u1", until(8));
    assert_eq!(
        member_rows(&ix, "g1", t(0))[1],
        row("u1", &["g1"], Some(t(8)))
    );
    ix.add_member("g1", "u1", Window::ALWAYS);
    assert_eq!(member_rows(&ix, "g1", t(0))[1], row("u1", &["g1"], None));
}

#[test]
fn members_of_tolerates_cycles_and_never_lists_the_group_itself() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", Window::ALWAYS);
    ix.add_member("g2", "g1", Window::ALWAYS);
    ix.add_member("g1", "g2", Window::ALWAYS);
    ix.add_member("g3", "g3", Window::ALWAYS); // a self-loop
    ix.add_member("g3", "g2", Window::ALWAYS);
    assert_eq!(
        member_rows(&ix, "g1", t(0)),
        [row("g2", &["g1"], None), row("u1", &["g1"], None)]
    );
    assert_eq!(
        member_rows(&ix, "g2", t(0)),
        [row("g1", &["g2"], None), row("u1", &["g1", "g2"], None)]
    );
    assert_eq!(
        member_rows(&ix, "g3", t(0)),
        [
            row("g1", &["g2", "g3"], None),
            row("g2", &["g3"], None),
            row("u1", &["g1", "g2", "g3"], None),
        ]
    );
}

#[test]
fn updates_take_effect() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", Window::ALWAYS);
    assert_eq!(
        ix.add_assignment(assignment("a1", "g1", "r1", "/", Window::ALWAYS)),
        None
    );
    ix.add_assignment(assignment("a2", "u1", "r1", "/sub-1", Window::ALWAYS));
    assert!(ix.allows("u1", "r1", "/", t(0)));

    let old = ix.remove_assignment("a1").expect("was there");
    assert_eq!(old.principal, "g1");
    assert_eq!(ix.remove_assignment("a1"), None);
    assert!(!ix.allows("u1", "r1", "/", t(0)), "removal takes effect");
    assert!(ix.allows("u1", "r1", "/sub-1", t(0)));

    // Replacing by id changes the window (an extension or a cut).
    let old = ix.add_assignment(assignment("a2", "u1", "r1", "/sub-1", until(1)));
    assert_eq!(old.map(|a| a.window), Some(Window::ALWAYS));
    assert_eq!(ix.check("u1", "r1", "/sub-1", t(0)).expires_at, Some(t(1)));
    assert!(!ix.allows("u1", "r1", "/sub-1", t(1)));
    assert_eq!(ix.assignment("a2").map(|a| a.window), Some(until(1)));

    // A freed slot is reused without mixing up the indexes.
    ix.add_assignment(assignment("a3", "g1", "r2", "/", Window::ALWAYS));
    assert!(ix.allows("u1", "r2", "/", t(0)));
    assert_eq!(ix.stats().assignments, 2);
    assert_eq!(ix.assignments().count(), 2);

    // Edges: leaving the group ends what came through it.
    ix.add_member("g1", "u1", until(5));
    assert_eq!(ix.stats().edges, 2);
    assert_eq!(ix.remove_member_all("g1", "u1"), 2);
    assert!(!ix.allows("u1", "r2", "/", t(0)));
    assert_eq!(ix.stats().edges, 0);
    assert_eq!(ix.remove_member_all("g1", "nobody"), 0);
    assert!(!ix.remove_member("g1", "nobody", Window::ALWAYS));
}

#[test]
fn grants_and_holders() {
    let mut ix = Index::new();
    ix.add_member("g1", "u1", until(3));
    ix.add_member("g1", "u2", Window::ALWAYS);
    ix.add_assignment(assignment("a1", "g1", "r1", "/sub-1", until(6)));
    ix.add_assignment(assignment("a2", "u1", "r2", "/", Window::ALWAYS));
    ix.add_assignment(assignment("a3", "u1", "r1", "/", within(5, 6)));

    let grants = ix.grants_of("u1", t(0));
    let ids: Vec<(&str, Option<DateTime<Utc>>)> = grants
        .iter()
        .map(|p| (p.assignment_id.as_str(), p.end))
        .collect();
    assert_eq!(ids, [("a2", None), ("a1", Some(t(3)))]);
    assert!(ix.grants_of("nobody", t(0)).is_empty());

    type Row = (String, String, Vec<String>, Option<DateTime<Utc>>);
    let holders: Vec<Row> = ix
        .holders_of("r1", t(0))
        .into_iter()
        .map(|h| (h.principal, h.path.assignment_id, h.path.via, h.path.end))
        .collect();
    assert_eq!(
        holders,
        [
            ("g1".into(), "a1".into(), vec![], Some(t(6))),
            ("u1".into(), "a1".into(), vec!["g1".into()], Some(t(3))),
            ("u2".into(), "a1".into(), vec!["g1".into()], Some(t(6))),
        ]
    );
    assert!(ix.holders_of("r9", t(0)).is_empty());
    assert!(ix.holders_of("r1", t(6)).is_empty());
    assert!(format!("{ix:?}").contains("assignments: 3"));
}

#[test]
fn wide_and_deep_graphs_agree_with_naive() {
    // Past the inline sizes of the walks (32 and 24 nodes) and of the edge lists (2).
    let mut members = Vec::new();
    let mut edge = |group: String, member: String, window: Window| {
        members.push(Member {
            group,
            member,
            window,
        });
    };
    for i in 0..40 {
        let window = if i % 3 == 0 { until(i) } else { Window::ALWAYS };
        edge(format!("g{i}"), "u".into(), window);
        edge("h0".into(), format!("g{i}"), Window::ALWAYS);
    }
    for i in 0..60 {
        let window = if i % 7 == 0 {
            within(-1, 40 - i)
        } else {
            Window::ALWAYS
        };
        edge(format!("h{}", i + 1), format!("h{i}"), window);
    }
    edge("g0".into(), "h60".into(), Window::ALWAYS); // a long cycle
    let assignments = vec![
        assignment("a1", "h60", "r1", "/a", until(30)),
        assignment("a2", "g39", "r1", "/a/b", Window::ALWAYS),
        assignment("a3", "h30", "r2", "/", within(0, 50)),
        assignment("a4", "g3", "r2", "/", until(2)),
    ];
    let ix = Index::from_parts(members.clone(), assignments.clone());
    let naive = Naive::new(&members, &assignments);
    for hour in [-2, 0, 1, 2, 5, 10, 20, 29, 30, 35, 45, 60] {
        let at = t(hour);
        for principal in ["u", "g0", "g3", "h0", "h45", "h60"] {
            for (role, target) in [("r1", "/a/b"), ("r1", "/a"), ("r2", "/x"), ("r3", "/")] {
                let d = ix.check(principal, role, target, at);
                let expect = naive.allows(principal, role, target, at);
                assert_eq!(d.allowed, expect, "{principal} {role} {target} {hour}");
                assert_eq!(ix.allows(principal, role, target, at), expect);
                let best = naive.grants(principal, at, &|a: &Assignment| {
                    a.role == role && crate::scope::covers(&a.scope, target)
                });
                let got: BTreeMap<String, Option<DateTime<Utc>>> = d
                    .paths
                    .iter()
                    .map(|x| (x.assignment_id.clone(), x.end))
                    .collect();
                assert_eq!(got, best, "{principal} {role} {target} {hour}");
            }
            for group in ["h60", "g0", "h10"] {
                let got: BTreeMap<String, Option<DateTime<Utc>>> = ix
                    .members_of(group, at)
                    .into_iter()
                    .map(|m| (m.principal, m.end))
                    .collect();
                assert_eq!(
                    got,
                    naive.members(group, at),
                    "members of {group} at {hour}"
                );
                let m = ix.is_member(principal, group, at);
                assert_eq!(
                    (m.member, m.end),
                    match naive.membership(principal, group, at) {
                        Some(end) => (true, end),
                        None => (false, None),
                    }
                );
            }
        }
    }
    // At t(0): g1..g39 but g0 (its edge ended), and h0..h42 (h42 -> h43 has an empty window).
    let groups = ix.groups_of("u", t(0));
    assert_eq!(groups.len(), 39 + 43);
    assert!(
        groups
            .iter()
            .all(|m| naive.membership("u", &m.group, t(0)) == Some(m.end))
    );
}

#[test]
fn workload_parses_good_lines() {
    let text = r#"{"kind":"user","id":"u17"}
{"kind":"group","id":"g3"}

{"kind":"role","id":"r12"}
{"kind":"scope","id":"/sub-1/rg-7"}
{"kind":"member","group":"g3","member":"u17"}
{"kind":"member","group":"g4","member":"g3","start":"2023-11-14T20:00:00Z","end":"2023-11-15T20:00:00Z"}
{"kind":"assignment","principal":"g3","role":"r12","scope":"/sub-1","start":null,"end":"2023-11-14T23:13:20Z"}
{"kind":"assignment","id":"x","principal":"g4","role":"r13","scope":"/"}
{"kind":"assignment","principal":"g4","role":"r13","scope":"/", "start":"2023-11-14T20:13:20+02:00", "end":null}
{"kind":"query","principal":"u17","role":"r12","scope":"/sub-1/rg-7","at":"2023-11-14T22:13:20Z","expect":true}
{"kind":"query","principal":"u17","role":"r12","scope":"/sub-1/rg-7","at":"2023-11-14T23:13:20Z"}
"#;
    let w = parse_workload(text).expect("parses");
    assert_eq!(w.users, ["u17"]);
    assert_eq!(w.groups, ["g3"]);
    assert_eq!(w.roles, ["r12"]);
    assert_eq!(w.scopes, ["/sub-1/rg-7"]);
    assert_eq!(w.members.len(), 2);
    assert_eq!(w.members[0].window, Window::ALWAYS);
    assert!(w.members[1].window.end.is_some());
    let ids: Vec<&str> = w.assignments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a1", "x", "a3"], "default ids count assignment lines");
    assert_eq!(
        w.assignments[2].window.start,
        Some("2023-11-14T18:13:20Z".parse().unwrap())
    );
    assert_eq!(w.queries.len(), 2);
    assert_eq!(w.queries[0].expect, Some(true));
    assert_eq!(w.queries[1].expect, None);

    let ix = w.index();
    assert!(ix.allows("u17", "r12", "/sub-1/rg-7", w.queries[0].at));
    assert!(!ix.allows("u17", "r12", "/sub-1/rg-7", w.queries[1].at));

    // What `to_jsonl` writes parses back to the same workload.
    let again = parse_workload(&w.to_jsonl()).expect("round trip");
    assert_eq!(again, w);
    assert!(
        w.to_jsonl()
            .starts_with("{\"kind\":\"user\",\"id\":\"u17\"}\n")
    );
}

#[test]
fn workload_reports_bad_lines_with_their_number() {
    let good = r#"{"kind":"user","id":"u1"}"#;
    let cases = [
        (r#"{"kind":"user","id":"u1""#, "EOF"),
        (r#"{"kind":"robot","id":"u1"}"#, "unknown variant `robot`"),
        (r#"{"id":"u1"}"#, "missing field `kind`"),
        (
            r#"{"kind":"user","id":"u1","extra":1}"#,
            "unknown field `extra`",
        ),
        (r#"{"kind":"user","id":""}"#, "`id` must not be empty"),
        (r#"{"kind":"scope","id":"sub-1"}"#, "`id` \"sub-1\""),
        (
            r#"{"kind":"member","group":"g1"}"#,
            "missing field `member`",
        ),
        (
            r#"{"kind":"assignment","principal":"u1","role":"r","scope":"/a/"}"#,
            "`scope`",
        ),
        (
            r#"{"kind":"assignment","principal":"u1","role":"r","scope":"/","start":"2023-11-14T22:13:20Z","end":"2023-11-14T22:13:20Z"}"#,
            "`start` must be before `end`",
        ),
        (
            r#"{"kind":"assignment","id":"a1","principal":"u1","role":"r","scope":"/"}"#,
            "used twice",
        ),
        (
            r#"{"kind":"query","principal":"u1","role":"r","scope":"/","at":"yesterday"}"#,
            "input contains invalid characters",
        ),
        (
            r#"{"kind":"query","principal":"u1","role":"r","scope":"/"}"#,
            "missing field `at`",
        ),
        ("not json", "expected ident"),
    ];
    for (bad, message) in cases {
        let text = format!(
            "{good}\n\n{}\n{bad}\n{good}\n",
            r#"{"kind":"assignment","principal":"u1","role":"r","scope":"/"}"#
        );
        let err = parse_workload(&text).expect_err(bad);
        assert_eq!(err.line, 4, "{bad}: {err}");
        assert!(err.message.contains(message), "{bad}: {err}");
        assert!(err.to_string().starts_with("line 4: "));
    }
}

#[test]
fn generated_workload_checks_itself() {
    let text = generate(300, 40, 1200, 7);
    assert_eq!(text, generate(300, 40, 1200, 7), "deterministic");
    assert_ne!(text, generate(300, 40, 1200, 8));
    let w = parse_workload(&text).expect("generated output parses");
    assert_eq!(w, generate_workload(300, 40, 1200, 7));
    assert_eq!((w.users.len(), w.groups.len()), (300, 40));
    assert_eq!(w.assignments.len(), 1200);
    assert_eq!(w.queries.len(), 1200);
    assert!(w.scopes.iter().any(|s| s == "/sub-10"));
    let ix = w.index();
    let mut allowed = 0;
    for q in &w.queries {
        let expect = q.expect.expect("generated queries say what they expect");
        let d = ix.check(&q.principal, &q.role, &q.scope, q.at);
        assert_eq!(d.allowed, expect, "{q:?}");
        assert_eq!(
            ix.allows(&q.principal, &q.role, &q.scope, q.at),
            expect,
            "{q:?}"
        );
        allowed += usize::from(expect);
    }
    // A useful mix of answers.
    assert!(allowed > w.queries.len() / 10, "{allowed} allowed");
    assert!(allowed < w.queries.len() * 9 / 10, "{allowed} allowed");
    // Nested groups are there, four deep, and cycles.
    let deepest = (w.users.iter())
        .flat_map(|u| ix.groups_of(u, t(0)))
        .map(|m| m.via.len())
        .max();
    assert!(deepest >= Some(3), "{deepest:?}");
    let edge = |group: &str, member: &str| {
        w.members
            .iter()
            .any(|m| m.group == group && m.member == member && m.window == Window::ALWAYS)
    };
    assert!(edge("g1", "u1") && edge("g2", "g1") && edge("g3", "g2") && edge("g4", "g3"));
    assert!(
        ix.members_of("g4", t(0))
            .iter()
            .any(|m| m.principal == "u1")
    );
    for seed in 0..20 {
        let small = generate_workload(20, 6, 50, seed);
        let longest = (small.users.iter())
            .map(|u| longest_chain(&small.members, u, &mut Vec::new()))
            .max();
        assert!(longest >= Some(4), "seed {seed}: {longest:?}");
    }
    assert!(
        w.members.iter().any(|m| w
            .members
            .iter()
            .any(|n| n.group == m.member && n.member == m.group)),
        "a two-group cycle"
    );
    // Tiny and empty shapes still work.
    let tiny = parse_workload(&generate(1, 0, 0, 1)).unwrap();
    assert_eq!(tiny.queries.len(), 1000);
    assert!(tiny.queries.iter().all(|q| q.expect == Some(false)));
    assert!(
        parse_workload(&generate(0, 0, 0, 1))
            .unwrap()
            .queries
            .is_empty()
    );
    let groups_only = parse_workload(&generate(0, 5, 20, 1)).unwrap();
    assert!(groups_only.index().stats().assignments == 20);
}

#[test]
fn parsing_line_by_line_in_parts_gives_the_same_workload() {
    let text = generate(50, 8, 120, 2);
    let whole = parse_workload(&text).unwrap();
    let mut parser = WorkloadParser::default();
    let mut parts = Workload::default();
    for (n, line) in text.lines().enumerate() {
        parser.line(line).unwrap();
        if n % 7 == 0 {
            let part = parser.take();
            parts.members.extend(part.members);
            parts.assignments.extend(part.assignments);
            parts.queries.extend(part.queries);
        }
    }
    let rest = parser.finish();
    parts.members.extend(rest.members);
    parts.assignments.extend(rest.assignments);
    parts.queries.extend(rest.queries);
    assert_eq!(parts.members, whole.members);
    assert_eq!(
        parts.assignments, whole.assignments,
        "default ids count every line"
    );
    assert_eq!(parts.queries, whole.queries);
    // A repeated id is refused even after the first was taken out.
    let mut parser = WorkloadParser::default();
    let line = r#"{"kind":"assignment","principal":"u1","role":"r","scope":"/"}"#;
    parser.line(line).unwrap();
    parser.take();
    parser.line("").unwrap();
    let repeat = r#"{"kind":"assignment","id":"a1","principal":"u2","role":"r","scope":"/"}"#;
    let err = parser.line(repeat).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("used twice"), "{err}");
}

#[test]
fn eight_deep_nesting_and_inherited_scopes() {
    // u in g1 in g2 ... in g8; g8 holds r1 at /a, g5 holds r2 at /a/b/c for a while.
    let mut members = vec![Member {
        group: "g1".into(),
        member: "u".into(),
        window: Window::ALWAYS,
    }];
    for i in 1..8 {
        let window = if i == 6 { until(10) } else { Window::ALWAYS };
        members.push(Member {
            group: format!("g{}", i + 1),
            member: format!("g{i}"),
            window,
        });
    }
    let assignments = vec![
        assignment("a1", "g8", "r1", "/a", Window::ALWAYS),
        assignment("a2", "g5", "r2", "/a/b/c", within(-5, 5)),
    ];
    let ix = Index::from_parts(members.clone(), assignments.clone());
    let naive = Naive::new(&members, &assignments);
    for (role, target, hour, expect) in [
        ("r1", "/a/b/c/d", 0, true), // eight groups up, four scope levels down
        ("r1", "/a", 0, true),
        ("r1", "/A/B", 0, true),
        ("r1", "/ab/c", 0, false),
        ("r1", "/", 0, false),
        ("r1", "/a/b/c/d", 10, false), // g6 -> g7 ended: g8 is out of reach
        ("r2", "/a/b/c/d/e", 0, true),
        ("r2", "/a/b", 0, false),
        ("r2", "/a/b/c", 5, false),
    ] {
        let at = t(hour);
        assert_eq!(
            ix.allows("u", role, target, at),
            expect,
            "{role} {target} {hour}"
        );
        assert_eq!(
            naive.allows("u", role, target, at),
            expect,
            "{role} {target} {hour}"
        );
        assert_eq!(ix.check("u", role, target, at).allowed, expect);
    }
    let d = ix.check("u", "r1", "/a/b/c/d", t(0));
    let via: Vec<String> = (1..=8).map(|i| format!("g{i}")).collect();
    assert_eq!(d.paths.len(), 1);
    assert_eq!((&d.paths[0].via, d.paths[0].end), (&via, Some(t(10))));
    assert_eq!(ix.groups_of("u", t(0)).len(), 8);
    assert_eq!(ix.groups_of("u", t(10)).len(), 6);
}

#[test]
fn shaped_workload_is_deep_skewed_and_checks_itself() {
    let shape = Shape {
        depth: 8,
        scopes: Some(500),
        skew: 1.0,
        queries: Some(3000),
        ..Shape::new(600, 80, 900, 3)
    };
    let w = generate_shaped(&shape);
    assert_eq!(w, generate_shaped(&shape), "deterministic");
    assert_eq!(parse_workload(&w.to_jsonl()).expect("parses"), w);
    assert_eq!((w.users.len(), w.groups.len()), (600, 80));
    assert_eq!((w.assignments.len(), w.queries.len()), (900, 3000));
    // The scope tree: exactly as many scopes, four levels below `/`, `/sub-1` beside `/sub-10`.
    assert_eq!(w.scopes.len(), 500);
    assert_eq!(w.scopes.iter().collect::<BTreeSet<_>>().len(), 500);
    assert!(w.scopes.iter().any(|s| s == "/sub-10"));
    assert!(
        w.scopes.iter().any(|s| s.matches('/').count() == 4),
        "{:?}",
        w.scopes
    );
    // Eight deep: u1 in g1 in g2 ... in g8.
    let ix = w.index();
    assert!(longest_chain(&w.members, "u1", &mut Vec::new()) >= 8);
    assert!(ix.is_member("u1", "g8", t(0)).member);
    // Skewed: the largest group has many times the members of a typical one.
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &w.members {
        *sizes.entry(&m.group).or_default() += 1;
    }
    let mut sizes: Vec<usize> = sizes.into_values().collect();
    sizes.sort_unstable();
    let (median, largest) = (sizes[sizes.len() / 2], sizes[sizes.len() - 1]);
    assert!(largest > 10 * median, "largest {largest}, median {median}");
    assert!(w.users.iter().any(|u| ix.groups_of(u, t(0)).len() >= 10));
    // Every answer as the naive evaluator's, a useful mix, and inheritance deciding some.
    let (mut allowed, mut inherited) = (0, 0);
    for q in &w.queries {
        let expect = q.expect.expect("generated queries say what they expect");
        assert_eq!(
            ix.allows(&q.principal, &q.role, &q.scope, q.at),
            expect,
            "{q:?}"
        );
        let d = ix.check(&q.principal, &q.role, &q.scope, q.at);
        assert_eq!(d.allowed, expect, "{q:?}");
        allowed += usize::from(expect);
        inherited += usize::from(expect && d.paths.iter().all(|p| p.scope != q.scope));
    }
    assert!(allowed > w.queries.len() / 10, "{allowed} allowed");
    assert!(allowed < w.queries.len() * 9 / 10, "{allowed} allowed");
    assert!(
        inherited > allowed / 5,
        "{inherited} of {allowed} through a wider scope"
    );
    // The defaults are the original shape.
    assert_eq!(
        generate_shaped(&Shape::new(300, 40, 1200, 7)),
        generate_workload(300, 40, 1200, 7)
    );
}

/// The most groups on one simple chain of edges up from `p`.
fn longest_chain(members: &[Member], p: &str, on_path: &mut Vec<String>) -> usize {
    on_path.push(p.to_owned());
    let mut longest = 0;
    for m in members {
        if m.member == p && !on_path.contains(&m.group) {
            longest = longest.max(1 + longest_chain(members, &m.group, on_path));
        }
    }
    on_path.pop();
    longest
}

// ---- against the naive evaluator ---------------------------------------------------------

const NAMES: [&str; 6] = ["p0", "p1", "p2", "p3", "p4", "p5"];
const SCOPES: [&str; 6] = ["/", "/a", "/a/b", "/ab", "/A/b", "/a/b/c"];
const TARGETS: [&str; 8] = [
    "/", "/a", "/a/b", "/ab", "/a/B/c/d", "/x", "/ab/c", "/a/b/c",
];
const ROLES: [&str; 2] = ["r0", "r1"];

fn window() -> impl Strategy<Value = Window> {
    (
        prop::option::weighted(0.5, 0..8i64),
        prop::option::weighted(0.5, 0..8i64),
    )
        .prop_map(|(s, e)| Window::new(s.map(t), e.map(t)))
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (None, _) | (_, None) => None,
        (Some(x), Some(y)) => Some(x.max(y)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn index_agrees_with_naive(
        edges in prop::collection::vec((0..6usize, 0..6usize, window()), 0..12),
        held in prop::collection::vec((0..6usize, 0..2usize, 0..6usize, window()), 0..10),
        drop_edges in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        drop_assignments in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        drop_pair in prop::option::of((0..6usize, 0..6usize)),
        more_edges in prop::collection::vec((0..6usize, 0..6usize, window()), 0..4),
        more_held in prop::collection::vec((0..6usize, 0..2usize, 0..6usize, window()), 0..4),
        queries in prop::collection::vec((0..6usize, 0..2usize, 0..8usize, 0..18i64), 1..12),
    ) {
        let mut members: Vec<Member> = edges
            .iter()
            .map(|&(g, m, w)| Member { group: NAMES[g].into(), member: NAMES[m].into(), window: w })
            .collect();
        let mut assignments: Vec<Assignment> = held
            .iter()
            .enumerate()
            .map(|(i, &(p, r, s, w))| assignment(&format!("a{i}"), NAMES[p], ROLES[r], SCOPES[s], w))
            .collect();
        let mut ix = Index::from_parts(members.clone(), assignments.clone());
        // Incremental removals, mirrored in the plain lists.
        for d in &drop_edges {
            if !members.is_empty() {
                let m = members.remove(d.index(members.len()));
                prop_assert!(ix.remove_member(&m.group, &m.member, m.window));
            }
        }
        for d in &drop_assignments {
            if !assignments.is_empty() {
                let a = assignments.remove(d.index(assignments.len()));
                prop_assert_eq!(ix.remove_assignment(&a.id), Some(a));
            }
        }
        if let Some((g, m)) = drop_pair {
            let before = members.len();
            members.retain(|e| !(e.group == NAMES[g] && e.member == NAMES[m]));
            prop_assert_eq!(ix.remove_member_all(NAMES[g], NAMES[m]), before - members.len());
        }
        // Edges added after removals (reusing what they freed).
        for &(g, m, w) in &more_edges {
            ix.add_member(NAMES[g], NAMES[m], w);
            members.push(Member { group: NAMES[g].into(), member: NAMES[m].into(), window: w });
        }
        prop_assert_eq!(ix.stats().edges, members.len());
        // Assignments added after removals (into the slots they freed).
        for (i, &(p, r, s, w)) in more_held.iter().enumerate() {
            let a = assignment(&format!("b{i}"), NAMES[p], ROLES[r], SCOPES[s], w);
            ix.add_assignment(a.clone());
            assignments.push(a);
        }
        let naive = Naive::new(&members, &assignments);

        for &(p, r, s, half_hours) in &queries {
            let (p, role, target) = (NAMES[p], ROLES[r], TARGETS[s]);
            let at = t(0) + Duration::minutes(30 * half_hours);
            let expect = naive.allows(p, role, target, at);
            let d = ix.check(p, role, target, at);
            prop_assert_eq!(d.allowed, expect);
            prop_assert_eq!(ix.allows(p, role, target, at), expect);

            let best = naive.grants(p, at, &|a: &Assignment| {
                a.role == role && crate::scope::covers(&a.scope, target)
            });
            let got: BTreeMap<String, Option<DateTime<Utc>>> =
                d.paths.iter().map(|x| (x.assignment_id.clone(), x.end)).collect();
            prop_assert_eq!(&got, &best);
            prop_assert_eq!(got.len(), d.paths.len(), "one path per assignment");
            let expires = if best.is_empty() { None } else { best.values().copied().reduce(later).unwrap() };
            prop_assert_eq!(d.expires_at, expires);
            for path in &d.paths {
                // The chain is made of edges valid at `at`, from p to the holder.
                let mut from = p;
                for g in &path.via {
                    prop_assert!(members.iter().any(|m| m.member == from && &m.group == g && m.window.contains(at)));
                    from = g;
                }
                prop_assert_eq!(from, path.holder.as_str());
            }

            // Everything p holds, every role and scope.
            let all = naive.grants(p, at, &|_| true);
            let got: BTreeMap<String, Option<DateTime<Utc>>> =
                ix.grants_of(p, at).into_iter().map(|x| (x.assignment_id, x.end)).collect();
            prop_assert_eq!(got, all);

            for g in NAMES {
                let m = ix.is_member(p, g, at);
                let n = naive.membership(p, g, at);
                prop_assert_eq!(m.member, n.is_some());
                prop_assert_eq!(m.end, n.flatten());
                prop_assert_eq!(m.via.last().map(String::as_str), m.member.then_some(g));
            }
            // Everyone in the group p, each through a chain of edges valid at `at` that lasts
            // exactly as long as reported.
            let found = ix.members_of(p, at);
            let got: BTreeMap<String, Option<DateTime<Utc>>> =
                found.iter().map(|m| (m.principal.clone(), m.end)).collect();
            prop_assert_eq!(&got, &naive.members(p, at));
            prop_assert_eq!(got.len(), found.len(), "each member once");
            prop_assert!(found.windows(2).all(|w| w[0].principal < w[1].principal));
            for m in &found {
                prop_assert_eq!(m.via.last().map(String::as_str), Some(p));
                let mut from = m.principal.as_str();
                let mut end: Option<DateTime<Utc>> = None; // the chain's end so far: unbounded
                for g in &m.via {
                    // The longest-lasting edge valid at `at` from `from` to `g`.
                    let edge = members
                        .iter()
                        .filter(|e| e.member == from && &e.group == g && e.window.contains(at))
                        .map(|e| e.window.end)
                        .reduce(later);
                    prop_assert!(edge.is_some(), "{} -> {} on {:?}", from, g, m.via);
                    end = match (end, edge.flatten()) {
                        (None, x) | (x, None) => x,
                        (Some(x), Some(y)) => Some(x.min(y)),
                    };
                    from = g;
                }
                prop_assert_eq!(end, m.end);
            }

            let groups: Vec<String> = ix.groups_of(p, at).into_iter().map(|m| m.group).collect();
            let expect_groups: Vec<String> = NAMES
                .iter()
                .filter(|g| naive.membership(p, g, at).is_some())
                .map(|g| g.to_string())
                .collect();
            prop_assert_eq!(groups, expect_groups);

            let holders: BTreeMap<(String, String), Option<DateTime<Utc>>> = ix
                .holders_of(role, at)
                .into_iter()
                .map(|h| ((h.principal, h.path.assignment_id), h.path.end))
                .collect();
            let mut expect_holders = BTreeMap::new();
            for q in naive.principals() {
                for (id, end) in naive.grants(q, at, &|a: &Assignment| a.role == role) {
                    expect_holders.insert((q.to_owned(), id), end);
                }
            }
            prop_assert_eq!(holders, expect_holders);
        }
    }
}

/// The bulk build (reserved, from borrowed parts) holds and answers exactly what the
/// one-by-one build does, and the borrowed views agree with the owned ones.
#[test]
fn a_reserved_build_from_borrowed_parts_is_the_same_index() {
    let given = [
        assignment("a1", "u1", "r", "/", Window::ALWAYS),
        assignment("a2", "g1", "r", "/Sub-1", within(-1, 2)),
        assignment("a3", "u2", "eligible:r", "/sub-1/rg", until(5)),
    ];
    let mut one_by_one = Index::new();
    let mut bulk = Index::new();
    bulk.reserve(10, 10);
    for index in [&mut one_by_one, &mut bulk] {
        index.add_member("g1", "u1", within(-2, 3));
    }
    for a in &given {
        one_by_one.add_assignment(a.clone());
        assert!(!bulk.add_assignment_ref(AssignmentRef {
            id: &a.id,
            principal: &a.principal,
            role: &a.role,
            scope: &a.scope,
            window: a.window,
        }));
    }
    // Replacing by id, as the owned call does.
    assert!(bulk.add_assignment_ref(AssignmentRef {
        id: "a1",
        principal: "u1",
        role: "r",
        scope: "/",
        window: until(4),
    }));
    one_by_one.add_assignment(assignment("a1", "u1", "r", "/", until(4)));
    for at in [t(-1), t(0), t(2), t(4), t(6)] {
        for (p, role, scope) in [("u1", "r", "/sub-1/x"), ("u2", "eligible:r", "/sub-1/rg/x")] {
            assert_eq!(
                bulk.check(p, role, scope, at),
                one_by_one.check(p, role, scope, at)
            );
        }
    }
    let mut owned: Vec<Assignment> = bulk.assignments().collect();
    let mut borrowed: Vec<Assignment> = bulk
        .assignments_ref()
        .map(|a| assignment(a.id, a.principal, a.role, a.scope, a.window))
        .collect();
    owned.sort_by(|a, b| a.id.cmp(&b.id));
    borrowed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(owned, borrowed);
    assert_eq!(owned.len(), 3);
    let a2 = bulk.assignment_ref("a2").unwrap();
    assert_eq!(
        (a2.principal, a2.scope, a2.window),
        ("g1", "/Sub-1", within(-1, 2))
    );
    assert_eq!(bulk.assignment_ref("a9"), None);
}
