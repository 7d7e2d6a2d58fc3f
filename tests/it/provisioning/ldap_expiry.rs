//! Many memberships of an LDAP-mapped group ending at the same instant, delivered as one claimed
//! batch (one read per mapping, set-based bookkeeping): each member is removed from slapd and
//! audited exactly once even when the removal queued for the end and the scheduler's own job
//! are claimed together; slapd down when the batch runs loses nothing (every removal retried,
//! none recorded as done); a batch claimed by a server that died is delivered by another after
//! the lease, once.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo::provisioning::deliver::REMOVED;
use eligo_store::{AuditQuery, Page};
use eligo_testkit::slapd::{Slapd, slapd};
use serde_json::json;
use uuid::Uuid;

use super::{connector, deliver, map};
use crate::access::new_group;
use crate::harness::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";
/// Enough members for a batch to be a batch, few enough for a quick test.
const N: usize = 12;

struct Setup {
    t: TestApp,
    ldap: Slapd,
    group_dn: String,
    users: Vec<Uuid>,
}

/// `N` users, each an active member of a group mapped to slapd for 30 minutes (all ending at
/// the same instant), pushed downstream.
async fn setup(t: TestApp, ldap: Slapd) -> Setup {
    let uids: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    for uid in &uids {
        ldap.add_user(uid, &format!("{uid}@contoso.example")).await;
    }
    let group_dn = ldap.add_group_of_names("oncall", &[]).await;
    let group = new_group(&t, "On call", false).await;
    let c = connector(
        &t,
        "ldap",
        json!({ "url": ldap.url(), "bindDn": ldap.admin_dn(), "bindPassword": ldap.admin_password(),
                "userBaseDn": ldap.people_dn(), "timeoutSeconds": 5 }),
    )
    .await;
    map(&t, group, c, &group_dn).await;
    let mut users = Vec::new();
    for uid in &uids {
        let user = t.user(uid).await;
        let (status, body) = t
            .post(
                &format!("{G}/assignmentScheduleRequests"),
                BOOTSTRAP,
                json!({ "action": "adminAssign", "principalId": user, "groupId": group,
                        "accessId": "member", "justification": "on call tonight",
                        "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT30M" } } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        users.push(user);
    }
    assert_eq!(deliver(&t).await.failed, 0);
    assert_eq!(user_members(&ldap, &group_dn).await, N, "all pushed");
    Setup {
        t,
        ldap,
        group_dn,
        users,
    }
}

/// The people (not the placeholder) slapd lists in the group.
async fn user_members(ldap: &Slapd, group_dn: &str) -> usize {
    ldap.group_members(group_dn)
        .await
        .iter()
        .filter(|m| m.to_ascii_lowercase().starts_with("uid="))
        .count()
}

/// How many removal entries each user has.
async fn removals(t: &TestApp) -> HashMap<String, usize> {
    let mut tx = t.app.store.read().await.unwrap();
    let entries = tx
        .list_audit(
            &AuditQuery {
                activity: Some(REMOVED.into()),
                ..Default::default()
            },
            Page::ALL,
        )
        .await
        .unwrap();
    let mut per_user = HashMap::new();
    for e in entries {
        for target in e.target_resources.iter().filter(|r| r.kind == "User") {
            *per_user.entry(target.id.clone()).or_insert(0) += 1;
        }
    }
    per_user
}

fn once_each(per_user: &HashMap<String, usize>, users: &[Uuid]) {
    assert_eq!(per_user.len(), users.len(), "{per_user:?}");
    for u in users {
        assert_eq!(per_user.get(&u.to_string()), Some(&1), "{u}: {per_user:?}");
    }
}

async fn pending_or_running(t: &TestApp) -> usize {
    let mut tx = t.app.store.read().await.unwrap();
    let counts = tx.count_jobs().await.unwrap();
    counts
        .iter()
        .filter(|(s, _)| {
            matches!(
                s,
                eligo_store::JobStatus::Pending | eligo_store::JobStatus::Running
            )
        })
        .map(|(_, n)| *n as usize)
        .sum()
}

/// The scheduler's expiry jobs and the removals queued for the end are claimed in one batch:
/// every member leaves slapd once, with one audit entry, and the twin jobs are simply done.
async fn ends_together_once_each(t: TestApp, ldap: Slapd) {
    let s = setup(t, ldap).await;
    s.t.tick(TimeDelta::minutes(30)).await;
    let done = deliver(&s.t).await;
    assert_eq!(done.failed + done.retried, 0, "{done:?}");
    assert!(
        done.delivered >= 2 * N,
        "both jobs of every member: {done:?}"
    );
    assert_eq!(user_members(&s.ldap, &s.group_dn).await, 0);
    once_each(&removals(&s.t).await, &s.users);
    assert_eq!(pending_or_running(&s.t).await, 0);
    // Nothing is left to do, and doing it again changes nothing.
    s.t.tick(TimeDelta::minutes(1)).await;
    assert_eq!(deliver(&s.t).await, Default::default());
    once_each(&removals(&s.t).await, &s.users);
}

#[tokio::test]
async fn memberships_ending_together_leave_slapd_once_each() {
    let Some(ldap) = slapd().await else {
        return;
    };
    ends_together_once_each(TestApp::new().await, ldap).await;
}

#[tokio::test]
async fn memberships_ending_together_leave_slapd_once_each_on_postgresql() {
    let Some(ldap) = slapd().await else {
        return;
    };
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    ends_together_once_each(t, ldap).await;
}

#[tokio::test]
async fn slapd_down_when_the_removals_run_loses_none() {
    let Some(ldap) = slapd().await else {
        return;
    };
    let mut s = setup(TestApp::new().await, ldap).await;
    s.ldap.stop().await;
    s.t.tick(TimeDelta::minutes(30)).await;
    let done = deliver(&s.t).await;
    assert_eq!(done.delivered, 0, "{done:?}");
    assert!(
        done.retried >= N,
        "every removal waits for a retry: {done:?}"
    );
    assert!(
        removals(&s.t).await.is_empty(),
        "nothing recorded as removed"
    );
    // What was pushed is still on record, so the retry knows what to remove.
    let mut tx = s.t.app.store.read().await.unwrap();
    let mapping = tx.list_mappings(None, None).await.unwrap()[0].id;
    assert_eq!(tx.list_provisioned(mapping).await.unwrap().len(), N);
    drop(tx);

    s.ldap.start().await;
    // The backoff's longest first wait is well under ten minutes.
    s.t.clock.advance(TimeDelta::minutes(10));
    let done = deliver(&s.t).await;
    assert_eq!(done.failed + done.retried, 0, "{done:?}");
    assert_eq!(user_members(&s.ldap, &s.group_dn).await, 0);
    once_each(&removals(&s.t).await, &s.users);
    assert_eq!(pending_or_running(&s.t).await, 0);
}

#[tokio::test]
async fn removals_claimed_by_a_dead_server_are_delivered_after_its_lease() {
    let Some(ldap) = slapd().await else {
        return;
    };
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let s = setup(t, ldap).await;
    s.t.tick(TimeDelta::minutes(30)).await;
    // Another server claims every due job, then dies before delivering any.
    let now = s.t.clock.now_utc();
    let lease = s.t.app.config.outbox_lease;
    let mut tx = s.t.app.store.write().await.unwrap();
    let claimed = tx
        .claim_jobs(now, now + lease, 1000, "server-killed")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(claimed.len() >= N, "{}", claimed.len());
    // Within the lease the jobs are its own: nothing is delivered twice.
    assert_eq!(deliver(&s.t).await, Default::default());
    assert_eq!(user_members(&s.ldap, &s.group_dn).await, N);
    // After it, this server takes them over.
    s.t.clock.advance(lease + TimeDelta::seconds(1));
    let done = deliver(&s.t).await;
    assert_eq!(done.failed + done.retried, 0, "{done:?}");
    assert!(done.delivered >= N, "{done:?}");
    assert_eq!(user_members(&s.ldap, &s.group_dn).await, 0);
    once_each(&removals(&s.t).await, &s.users);
    assert_eq!(pending_or_running(&s.t).await, 0);
}
