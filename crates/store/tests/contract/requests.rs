//! Schedule requests (round trip, filters, order, paging) and the scheduler's queries: due
//! requests, due schedules (both flags, both times) and the next moment anything is due.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::activation::Ticket;
use eligo_core::approval::{Approval, Review, ReviewResult, StepStatus};
use eligo_core::policy::ApprovalStage;
use eligo_core::request::{
    ExpirationInfo, ExpirationType, RequestAction, RequestKind, RequestStatus, ScheduleInfo,
    ScheduleRequest,
};
use eligo_core::roles::{built_in_roles, ids};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{Page, RequestQuery, ScheduleQuery, Store};
use uuid::Uuid;

use crate::common::*;

const DAY: i64 = 86_400;

fn stage(days: u32) -> ApprovalStage {
    ApprovalStage {
        approval_stage_time_out_in_days: days,
        is_approver_justification_required: false,
        escalation_time_in_minutes: 0,
        is_escalation_enabled: false,
        primary_approvers: vec![],
        escalation_approvers: vec![],
        minimum_approvals: 1,
    }
}

fn ga() -> Uuid {
    ids::GLOBAL_ADMINISTRATOR.parse().unwrap()
}

fn ua() -> Uuid {
    ids::USER_ADMINISTRATOR.parse().unwrap()
}

/// A self-activation by `principal` filed at `created`, already provisioned.
pub(crate) fn request(n: u128, principal: Uuid, created: DateTime<Utc>) -> ScheduleRequest {
    ScheduleRequest {
        id: id(n),
        kind: RequestKind::Assignment,
        action: RequestAction::SelfActivate,
        principal_id: principal,
        role_definition_id: ga(),
        directory_scope_id: "/".into(),
        justification: None,
        ticket_info: None,
        schedule_info: ScheduleInfo {
            start_date_time: None,
            expiration: ExpirationInfo {
                kind: ExpirationType::AfterDuration,
                end_date_time: None,
                duration: Some(TimeDelta::hours(8)),
            },
        },
        granted_schedule: None,
        status: RequestStatus::Provisioned,
        status_detail: None,
        created_by: principal,
        created_date_time: created,
        completed_date_time: None,
        target_schedule_id: None,
        approval: None,
    }
}

/// A request awaiting approval: its stages start at `created`, each timing out after its days.
fn pending(n: u128, principal: Uuid, created: DateTime<Utc>, days: &[u32]) -> ScheduleRequest {
    let stages: Vec<_> = days.iter().map(|&d| stage(d)).collect();
    let mut step = n * 100;
    let approval = Approval::start(
        &stages,
        || {
            step += 1;
            id(step)
        },
        created,
    );
    ScheduleRequest {
        status: RequestStatus::PendingApproval,
        approval: Some(approval),
        ..request(n, principal, created)
    }
}

/// Denies a pending request at `now`: its stage completes and it no longer has a deadline.
fn deny(r: &mut ScheduleRequest, reviewer: Uuid, now: DateTime<Utc>) {
    let approval = r.approval.as_mut().expect("an approval");
    let step = approval.current().expect("a step in progress");
    approval.steps[step].reviews.push(Review {
        reviewed_by: reviewer,
        review_result: ReviewResult::Deny,
        justification: Some("no".into()),
        reviewed_date_time: now,
    });
    approval.steps[step].status = StepStatus::Completed;
    r.status = RequestStatus::Denied;
    r.completed_date_time = Some(now);
}

fn request_ids(requests: &[ScheduleRequest]) -> Vec<Uuid> {
    requests.iter().map(|r| r.id).collect()
}

fn ns(n: &[u128]) -> Vec<Uuid> {
    n.iter().map(|&n| id(n)).collect()
}

async fn insert_requests(store: &Arc<dyn Store>, requests: &[ScheduleRequest]) {
    let mut tx = write(store).await;
    for r in requests {
        tx.insert_schedule_request(r).await.unwrap();
    }
    commit(tx).await;
}

async fn update_request(store: &Arc<dyn Store>, request: &ScheduleRequest) {
    let mut tx = write(store).await;
    assert!(tx.update_schedule_request(request).await.unwrap());
    commit(tx).await;
}

async fn update_schedule(store: &Arc<dyn Store>, schedule: &RoleSchedule) {
    let mut tx = write(store).await;
    assert!(tx.update_role_schedule(schedule).await.unwrap());
    commit(tx).await;
}

/// The built-in roles and users 10, 11 (schedules reference both).
async fn insert_roles_and_users(store: &Arc<dyn Store>) {
    let mut tx = write(store).await;
    for role in built_in_roles() {
        tx.insert_role_definition(&role).await.unwrap();
    }
    tx.insert_user(&user(10, "u1@x.com", "U1")).await.unwrap();
    tx.insert_user(&user(11, "u2@x.com", "U2")).await.unwrap();
    commit(tx).await;
}

/// A schedule for user 10 granted at `at` (seconds): the flags are what `RoleSchedule::new` owes.
fn granted(n: u128, kind: ScheduleKind, start: i64, end: Option<i64>, at: i64) -> RoleSchedule {
    RoleSchedule::new(
        id(n),
        kind,
        id(10),
        ga(),
        "/",
        (t(start), end.map(t)),
        AssignmentType::Assigned,
        Some(id(1)),
        t(at),
    )
}

async fn request_round_trip(store: Arc<dyn Store>) {
    let (alice, admin) = (id(10), id(2));
    let created = t_us(1_800_000_000, 123_456);
    let mut r = pending(1, alice, created, &[1, 2]);
    r.justification = Some("incident 42".into());
    r.ticket_info = Some(Ticket {
        number: "INC-42".into(),
        system: "ServiceNow".into(),
    });
    r.directory_scope_id = "/administrativeUnits/5c2d7e0a-0000-0000-0000-000000000001".into();
    assert_eq!(r.deadline(), Some(created + TimeDelta::days(1)));
    insert_requests(&store, std::slice::from_ref(&r)).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_schedule_request(r.id).await.unwrap(),
        Some(r.clone()),
        "every field round-trips, to the microsecond"
    );
    assert_eq!(tx.get_schedule_request(id(404)).await.unwrap(), None);
    drop(tx);

    // The same id twice is a conflict, and leaves the first. The insert is deferred: the
    // transaction's next statement reports it, or else its commit.
    let mut tx = write(&store).await;
    tx.insert_schedule_request(&request(1, id(11), t(5)))
        .await
        .expect("deferred");
    assert_conflict(
        tx.get_schedule_request(r.id).await,
        "the read after insert_schedule_request, same id",
    );
    drop(tx);
    let mut tx = write(&store).await;
    tx.insert_schedule_request(&request(1, id(11), t(5)))
        .await
        .expect("deferred");
    assert_conflict(
        tx.commit().await,
        "the commit after insert_schedule_request, same id",
    );
    assert_eq!(
        read(&store).await.get_schedule_request(r.id).await.unwrap(),
        Some(r.clone()),
        "the first is left"
    );

    // The first stage approves, the second starts; later the request is granted.
    let approved_at = created + TimeDelta::hours(3);
    let mut approval = r.approval.clone().unwrap();
    approval.steps[0].reviews.push(Review {
        reviewed_by: admin,
        review_result: ReviewResult::Approve,
        justification: None,
        reviewed_date_time: approved_at,
    });
    approval.steps[0].status = StepStatus::Completed;
    approval.steps[1].status = StepStatus::InProgress;
    approval.steps[1].started_date_time = Some(approved_at);
    r.approval = Some(approval);
    update_request(&store, &r).await;
    assert_eq!(
        read(&store).await.get_schedule_request(r.id).await.unwrap(),
        Some(r.clone())
    );

    r.status = RequestStatus::Provisioned;
    r.status_detail = Some("approved".into());
    r.completed_date_time = Some(approved_at);
    r.granted_schedule = Some(ScheduleInfo::effective(
        approved_at,
        Some(approved_at + TimeDelta::hours(8)),
    ));
    r.target_schedule_id = Some(id(77));
    update_request(&store, &r).await;

    let mut tx = write(&store).await;
    assert!(
        !tx.update_schedule_request(&request(999, alice, t(1)))
            .await
            .unwrap(),
        "updating an unknown request changes nothing"
    );
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.get_schedule_request(r.id).await.unwrap(), Some(r));
    assert_eq!(tx.get_schedule_request(id(999)).await.unwrap(), None);
    assert_eq!(
        tx.list_schedule_requests(&RequestQuery::default(), Page::ALL)
            .await
            .unwrap()
            .len(),
        1
    );
}
contract!(
    request_round_trip =>
    request_round_trip_sqlite,
    request_round_trip_postgres,
);

async fn request_list(store: Arc<dyn Store>) {
    use RequestKind::{Assignment, Eligibility};
    use RequestStatus::{Granted, PendingApproval, Provisioned, Revoked};
    let (u1, u2, admin) = (id(10), id(11), id(2));
    let au = "/administrativeUnits/5c2d7e0a-0000-0000-0000-000000000001";
    let build = |n: u128,
                 kind: RequestKind,
                 action: RequestAction,
                 principal: Uuid,
                 role: Uuid,
                 scope: &str,
                 status: RequestStatus,
                 created_by: Uuid,
                 created: i64| ScheduleRequest {
        kind,
        action,
        role_definition_id: role,
        directory_scope_id: scope.into(),
        status,
        created_by,
        ..request(n, principal, t(created))
    };
    let two = pending(2, u1, t(200), &[1]);
    let requests = [
        build(
            1,
            Eligibility,
            RequestAction::AdminAssign,
            u1,
            ga(),
            "/",
            Provisioned,
            admin,
            100,
        ),
        two,
        build(
            3,
            Assignment,
            RequestAction::SelfActivate,
            u2,
            ua(),
            au,
            Granted,
            u2,
            300,
        ),
        // Same creation time as 3: the larger id comes first.
        build(
            4,
            Assignment,
            RequestAction::AdminAssign,
            u2,
            ga(),
            au,
            Provisioned,
            admin,
            300,
        ),
        build(
            5,
            Eligibility,
            RequestAction::AdminRemove,
            u1,
            ua(),
            "/",
            Revoked,
            admin,
            400,
        ),
    ];
    // Inserted out of order: the order comes from the query.
    insert_requests(&store, &[requests[2].clone(), requests[0].clone()]).await;
    insert_requests(
        &store,
        &[
            requests[4].clone(),
            requests[1].clone(),
            requests[3].clone(),
        ],
    )
    .await;

    let mut tx = read(&store).await;
    let all = tx
        .list_schedule_requests(&RequestQuery::default(), Page::ALL)
        .await
        .unwrap();
    let mut newest_first = requests.to_vec();
    newest_first.reverse();
    assert_eq!(all, newest_first, "newest first, ties by id, every field");

    let cases: Vec<(&str, RequestQuery, Vec<Uuid>)> = vec![
        (
            "kind eligibility",
            RequestQuery {
                kind: Some(Eligibility),
                ..Default::default()
            },
            ns(&[5, 1]),
        ),
        (
            "kind assignment",
            RequestQuery {
                kind: Some(Assignment),
                targets: eligo_store::Targets::Roles,
                ..Default::default()
            },
            ns(&[4, 3, 2]),
        ),
        (
            "principal",
            RequestQuery {
                principal_id: Some(u1),
                ..Default::default()
            },
            ns(&[5, 2, 1]),
        ),
        (
            "unknown principal",
            RequestQuery {
                principal_id: Some(id(404)),
                ..Default::default()
            },
            vec![],
        ),
        (
            "role",
            RequestQuery {
                role_definition_id: Some(ga()),
                ..Default::default()
            },
            ns(&[4, 2, 1]),
        ),
        (
            "scope",
            RequestQuery {
                directory_scope_id: Some(au.into()),
                ..Default::default()
            },
            ns(&[4, 3]),
        ),
        (
            "status provisioned",
            RequestQuery {
                status: Some(Provisioned),
                ..Default::default()
            },
            ns(&[4, 1]),
        ),
        (
            "status pending approval",
            RequestQuery {
                status: Some(PendingApproval),
                ..Default::default()
            },
            ns(&[2]),
        ),
        (
            "created by",
            RequestQuery {
                created_by: Some(admin),
                ..Default::default()
            },
            ns(&[5, 4, 1]),
        ),
        (
            "every filter",
            RequestQuery {
                kind: Some(Assignment),
                targets: eligo_store::Targets::Roles,
                principal_id: Some(u2),
                role_definition_id: Some(ga()),
                directory_scope_id: Some(au.into()),
                status: Some(Provisioned),
                created_by: Some(admin),
            },
            ns(&[4]),
        ),
        (
            "every filter, nothing matches",
            RequestQuery {
                kind: Some(Assignment),
                targets: eligo_store::Targets::Roles,
                principal_id: Some(u2),
                role_definition_id: Some(ga()),
                directory_scope_id: Some(au.into()),
                status: Some(Provisioned),
                created_by: Some(u2),
            },
            vec![],
        ),
    ];
    for (what, query, expected) in cases {
        let found = tx.list_schedule_requests(&query, Page::ALL).await.unwrap();
        assert_eq!(request_ids(&found), expected, "{what}: {query:?}");
    }

    // Paging walks the same order.
    for (top, skip, expected) in [
        (2, 0, ns(&[5, 4])),
        (2, 2, ns(&[3, 2])),
        (2, 4, ns(&[1])),
        (2, 5, vec![]),
        (0, 0, vec![]),
        (10, 1, ns(&[4, 3, 2, 1])),
    ] {
        let found = tx
            .list_schedule_requests(&RequestQuery::default(), Page { top, skip })
            .await
            .unwrap();
        assert_eq!(request_ids(&found), expected, "top {top} skip {skip}");
    }
    let u1_only = RequestQuery {
        principal_id: Some(u1),
        ..Default::default()
    };
    let found = tx
        .list_schedule_requests(&u1_only, Page { top: 1, skip: 1 })
        .await
        .unwrap();
    assert_eq!(request_ids(&found), ns(&[2]), "paging after filtering");
    drop(tx);

    // An update moves the request between filters.
    let mut two = requests[1].clone();
    deny(&mut two, admin, t(250));
    update_request(&store, &two).await;
    let mut tx = read(&store).await;
    let status = |s| RequestQuery {
        status: Some(s),
        ..Default::default()
    };
    assert!(
        tx.list_schedule_requests(&status(PendingApproval), Page::ALL)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.list_schedule_requests(&status(RequestStatus::Denied), Page::ALL)
            .await
            .unwrap(),
        vec![two]
    );
}
contract!(request_list => request_list_sqlite, request_list_postgres);

async fn due_requests(store: Arc<dyn Store>) {
    let (alice, admin) = (id(10), id(2));
    let a = pending(1, alice, t(1_000), &[1]); // due at 1_000 + DAY
    let b = pending(2, alice, t(500), &[2]); // due at 500 + 2 DAY
    let c = pending(3, alice, t(2_000), &[1, 1]); // due at 2_000 + DAY, then its second stage
    let mut no_approval = request(4, alice, t(0));
    no_approval.status = RequestStatus::PendingApproval; // no approval, so no deadline
    let mut decided = pending(5, alice, t(0), &[1]);
    decided.status = RequestStatus::Granted; // not waiting for approval any more
    assert_eq!(no_approval.deadline(), None);
    assert_eq!(decided.deadline(), None);
    insert_requests(
        &store,
        &[a.clone(), b.clone(), c.clone(), no_approval, decided],
    )
    .await;

    let mut tx = read(&store).await;
    for (now, limit, expected) in [
        (t(0), 10, vec![]),
        (t(1_000 + DAY) - TimeDelta::microseconds(1), 10, vec![]),
        (t(1_000 + DAY), 10, ns(&[1])),
        (t(2_000 + DAY), 10, ns(&[1, 3])),
        (t(500 + 2 * DAY), 10, ns(&[1, 3, 2])),
        (t(500 + 2 * DAY), 2, ns(&[1, 3])),
        (t(100 * DAY), 1, ns(&[1])),
    ] {
        let found = tx.due_schedule_requests(now, limit).await.unwrap();
        assert_eq!(request_ids(&found), expected, "now {now}, limit {limit}");
    }
    assert_eq!(
        tx.due_schedule_requests(t(1_000 + DAY), 10).await.unwrap(),
        vec![a.clone()],
        "due requests come back whole"
    );
    drop(tx);

    // A denied request is no longer due; one whose next stage started is due at its new deadline.
    let mut a = a;
    deny(&mut a, admin, t(1_500));
    update_request(&store, &a).await;
    let mut c = c;
    let next_start = t(2_500);
    let approval = c.approval.as_mut().unwrap();
    approval.steps[0].status = StepStatus::Completed;
    approval.steps[1].status = StepStatus::InProgress;
    approval.steps[1].started_date_time = Some(next_start);
    assert_eq!(c.deadline(), Some(t(2_500 + DAY)));
    update_request(&store, &c).await;

    let mut tx = read(&store).await;
    for (now, expected) in [
        (t(2_000 + DAY), vec![]),
        (t(2_500 + DAY), ns(&[3])),
        (t(500 + 2 * DAY), ns(&[3, 2])),
    ] {
        let found = tx.due_schedule_requests(now, 10).await.unwrap();
        assert_eq!(request_ids(&found), expected, "after updates, now {now}");
    }
}
contract!(due_requests => due_requests_sqlite, due_requests_postgres);

async fn due_schedules(store: Arc<dyn Store>) {
    use ScheduleKind::{Active, Eligible};
    insert_roles_and_users(&store).await;
    // All granted at 0: a later start is owed a start notice, any end an expiry.
    let s1 = granted(101, Active, 100, Some(200), 0);
    let s2 = granted(102, Eligible, 0, Some(150), 0);
    let s3 = granted(103, Active, 50, None, 0);
    let s4 = granted(104, Eligible, 0, None, 0);
    let mut s5 = granted(105, Active, 0, Some(120), 0);
    s5.end_pending = false; // already deactivated: nothing owed
    let s6 = granted(106, Active, 300, Some(400), 0);
    let mut s7 = granted(107, Eligible, 0, Some(160), 0);
    s7.principal_id = id(11);
    assert!(s1.start_pending && s1.end_pending);
    assert!(!s2.start_pending && s2.end_pending);
    assert!(s3.start_pending && !s3.end_pending);
    assert!(!s4.start_pending && !s4.end_pending);
    let all = [&s1, &s2, &s3, &s4, &s5, &s6, &s7];
    let mut tx = write(&store).await;
    for s in all.iter().rev() {
        tx.insert_role_schedule(s).await.unwrap();
    }
    commit(tx).await;

    let mut tx = read(&store).await;
    for s in all {
        assert_eq!(
            tx.get_role_schedule(s.id).await.unwrap().as_ref(),
            Some(s),
            "get_role_schedule round-trips the flags"
        );
    }
    assert_eq!(tx.get_role_schedule(id(404)).await.unwrap(), None);

    // The earliest pending moment first: a pending start, else the end.
    for (now, limit, expected) in [
        (49, 10, vec![]),
        (50, 10, ns(&[103])),
        (100, 10, ns(&[103, 101])),
        (150, 10, ns(&[103, 101, 102])),
        (199, 10, ns(&[103, 101, 102, 107])),
        (10_000, 10, ns(&[103, 101, 102, 107, 106])),
        (10_000, 3, ns(&[103, 101, 102])),
        (10_000, 0, vec![]),
    ] {
        let found = tx.due_role_schedules(t(now), limit).await.unwrap();
        assert_eq!(schedule_ids(&found), expected, "now {now}, limit {limit}");
    }
    assert_eq!(
        tx.due_role_schedules(t(100), 10).await.unwrap()[1],
        s1,
        "due schedules come back whole"
    );
    drop(tx);

    // The scheduler announces s1's start and s3's: s1 stays owed its end, s3 nothing.
    let mut s1 = s1;
    s1.start_pending = false;
    update_schedule(&store, &s1).await;
    let mut s3 = s3;
    s3.start_pending = false;
    update_schedule(&store, &s3).await;
    // s2 is extended: its end moves later and stays owed.
    let mut s2 = s2;
    s2.end_date_time = Some(t(1_000));
    update_schedule(&store, &s2).await;
    // s6 is deactivated before it starts: its end moves to now and it stays owed nothing.
    let mut s6 = s6;
    s6.end_date_time = Some(t(250));
    s6.start_pending = false;
    s6.end_pending = false;
    update_schedule(&store, &s6).await;

    let mut tx = write(&store).await;
    assert!(
        !tx.update_role_schedule(&granted(999, Active, 0, Some(1), 0))
            .await
            .unwrap(),
        "updating an unknown schedule changes nothing"
    );
    assert_eq!(tx.get_role_schedule(id(999)).await.unwrap(), None);
    commit(tx).await;

    let mut tx = read(&store).await;
    for (now, expected) in [
        (100, vec![]),
        (160, ns(&[107])),
        (200, ns(&[107, 101])),
        (10_000, ns(&[107, 101, 102])),
    ] {
        let found = tx.due_role_schedules(t(now), 10).await.unwrap();
        assert_eq!(schedule_ids(&found), expected, "after updates, now {now}");
    }
    for s in [&s1, &s2, &s3, &s6] {
        assert_eq!(tx.get_role_schedule(s.id).await.unwrap().as_ref(), Some(s));
    }
    let mut listed = tx
        .list_role_schedules(&ScheduleQuery::default())
        .await
        .unwrap();
    listed.sort_by_key(|s| s.id);
    assert_eq!(
        listed,
        vec![s1, s2, s3, s4, s5, s6, s7],
        "list_role_schedules reads the flags too"
    );
}
contract!(due_schedules => due_schedules_sqlite, due_schedules_postgres);

fn schedule_ids(schedules: &[RoleSchedule]) -> Vec<Uuid> {
    schedules.iter().map(|s| s.id).collect()
}

async fn next_due(store: Arc<dyn Store>) {
    insert_roles_and_users(&store).await;
    let next = |store: Arc<dyn Store>| async move { read(&store).await.next_due().await.unwrap() };
    assert_eq!(next(store.clone()).await, None, "nothing scheduled");

    // Nothing owed: a permanent schedule, a processed end, a request not awaiting approval.
    let permanent = granted(101, ScheduleKind::Eligible, 0, None, 0);
    let mut processed = granted(102, ScheduleKind::Active, 0, Some(50), 0);
    processed.end_pending = false;
    let mut done = pending(1, id(10), t(0), &[1]);
    done.status = RequestStatus::Granted;
    let mut tx = write(&store).await;
    tx.insert_role_schedule(&permanent).await.unwrap();
    tx.insert_role_schedule(&processed).await.unwrap();
    tx.insert_schedule_request(&done).await.unwrap();
    commit(tx).await;
    assert_eq!(next(store.clone()).await, None, "nothing owed");

    // A request's deadline, then an earlier end, then an earlier start: always the minimum.
    let deadline = t_us(10 * DAY, 7);
    let mut req = pending(2, id(10), deadline - TimeDelta::days(1), &[1]);
    insert_requests(&store, std::slice::from_ref(&req)).await;
    assert_eq!(next(store.clone()).await, Some(deadline));

    let end = t_us(5 * DAY, 3);
    let mut ending = granted(103, ScheduleKind::Active, 0, None, 0);
    ending.end_date_time = Some(end);
    ending.end_pending = true;
    let mut starting = granted(104, ScheduleKind::Active, 7 * DAY, Some(20 * DAY), 0);
    let mut tx = write(&store).await;
    tx.insert_role_schedule(&ending).await.unwrap();
    commit(tx).await;
    assert_eq!(next(store.clone()).await, Some(end));

    starting.start_date_time = t_us(2 * DAY, 1);
    let mut tx = write(&store).await;
    tx.insert_role_schedule(&starting).await.unwrap();
    commit(tx).await;
    assert_eq!(next(store.clone()).await, Some(t_us(2 * DAY, 1)));

    // Work done drops out, one kind at a time.
    starting.start_pending = false;
    update_schedule(&store, &starting).await;
    assert_eq!(next(store.clone()).await, Some(end));
    ending.end_pending = false;
    update_schedule(&store, &ending).await;
    assert_eq!(next(store.clone()).await, Some(deadline));
    deny(&mut req, id(2), deadline - TimeDelta::hours(1));
    update_request(&store, &req).await;
    assert_eq!(
        next(store.clone()).await,
        Some(t(20 * DAY)),
        "starting's end"
    );
    starting.end_pending = false;
    update_schedule(&store, &starting).await;
    assert_eq!(next(store.clone()).await, None);
}
contract!(next_due => next_due_sqlite, next_due_postgres);

async fn dropped_write_leaves_no_request(store: Arc<dyn Store>) {
    insert_roles_and_users(&store).await;
    let schedule = granted(101, ScheduleKind::Active, 100, Some(200), 0);
    let mut tx = write(&store).await;
    tx.insert_role_schedule(&schedule).await.unwrap();
    commit(tx).await;

    let r = pending(1, id(10), t(0), &[1]);
    let mut tx = write(&store).await;
    tx.insert_schedule_request(&r).await.unwrap();
    let mut changed = schedule.clone();
    changed.start_pending = false;
    changed.end_pending = false;
    assert!(tx.update_role_schedule(&changed).await.unwrap());
    assert_eq!(
        tx.get_schedule_request(r.id).await.unwrap(),
        Some(r.clone()),
        "a transaction sees its own writes"
    );
    assert_eq!(tx.next_due().await.unwrap(), Some(t(DAY)));
    drop(tx);

    let mut tx = read(&store).await;
    assert_eq!(tx.get_schedule_request(r.id).await.unwrap(), None);
    assert!(
        tx.list_schedule_requests(&RequestQuery::default(), Page::ALL)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.due_schedule_requests(t(DAY), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.get_role_schedule(schedule.id).await.unwrap(),
        Some(schedule)
    );
    assert_eq!(
        tx.next_due().await.unwrap(),
        Some(t(100)),
        "the schedule's start"
    );
}
contract!(
    dropped_write_leaves_no_request =>
    dropped_write_leaves_no_request_sqlite,
    dropped_write_leaves_no_request_postgres,
);
