//! Access package assignment requests and assignments on both backends: looked up by target,
//! requestor, package and state; an assignment's end is due to the scheduler until its expiry
//! is recorded, and never after.

use std::sync::Arc;

use eligo_core::directory::Relation;
use eligo_core::entitlement::assignment::{Access, Assignment, AssignmentState, Grant};
use eligo_core::entitlement::request::{
    AskedSchedule, AssignmentRequest, RequestState, RequestType,
};
use eligo_store::{AssignmentQuery, AssignmentRequestQuery, Store};

use crate::common::*;

fn request(n: u128, target: u128, requestor: u128, package: u128) -> AssignmentRequest {
    AssignmentRequest {
        id: id(n),
        request_type: RequestType::UserAdd,
        state: RequestState::PendingApproval,
        status: "PendingApproval".into(),
        justification: Some("audit".into()),
        requestor_id: id(requestor),
        target_id: id(target),
        access_package_id: id(package),
        assignment_policy_id: Some(id(90)),
        assignment_id: None,
        answers: vec![],
        schedule: AskedSchedule::default(),
        created_date_time: t(n as i64),
        completed_date_time: None,
        approval: None,
        callout: None,
    }
}

fn assignment(n: u128, target: u128, package: u128, end: Option<i64>) -> Assignment {
    Assignment {
        id: id(n),
        access_package_id: id(package),
        assignment_policy_id: id(90),
        catalog_id: id(1),
        target_id: id(target),
        state: AssignmentState::Delivered,
        status: "Delivered".into(),
        start_date_time: t(n as i64),
        end_date_time: end.map(t),
        expired_date_time: None,
        created_date_time: t(n as i64),
        created_by_request: id(n + 1000),
        last_request: id(n + 1000),
        grants: vec![Grant {
            resource_role_id: id(7),
            access: Access::Group {
                group: id(50),
                relation: Relation::Member,
            },
            delivered: true,
            independent: false,
            schedule_id: None,
        }],
    }
}

async fn requests_and_assignments(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_assignment_request(&request(1, 10, 10, 20))
        .await
        .unwrap();
    tx.insert_assignment_request(&request(2, 11, 12, 20))
        .await
        .unwrap();
    tx.insert_assignment_request(&request(3, 10, 10, 21))
        .await
        .unwrap();
    assert_conflict(
        tx.insert_assignment_request(&request(1, 10, 10, 20)).await,
        "id",
    );
    drop(tx);

    let mut tx = write(&store).await;
    for r in [
        request(1, 10, 10, 20),
        request(2, 11, 12, 20),
        request(3, 10, 10, 21),
    ] {
        tx.insert_assignment_request(&r).await.unwrap();
    }
    tx.insert_assignment(&assignment(5, 10, 20, Some(100)))
        .await
        .unwrap();
    tx.insert_assignment(&assignment(6, 11, 20, Some(50)))
        .await
        .unwrap();
    tx.insert_assignment(&assignment(7, 10, 21, None))
        .await
        .unwrap();
    let mut delivered = request(1, 10, 10, 20);
    delivered.state = RequestState::Delivered;
    delivered.assignment_id = Some(id(5));
    assert!(tx.update_assignment_request(&delivered).await.unwrap());
    assert!(
        !tx.update_assignment_request(&request(9, 1, 1, 1))
            .await
            .unwrap()
    );
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_assignment_request(id(1)).await.unwrap(),
        Some(delivered)
    );
    let ids = |rs: Vec<AssignmentRequest>| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    let mine = AssignmentRequestQuery {
        target: Some(id(10)),
        ..Default::default()
    };
    assert_eq!(
        ids(tx.list_assignment_requests(&mine).await.unwrap()),
        [id(3), id(1)],
        "newest first"
    );
    let done = AssignmentRequestQuery {
        state: Some(RequestState::Delivered),
        ..Default::default()
    };
    assert_eq!(
        ids(tx.list_assignment_requests(&done).await.unwrap()),
        [id(1)],
        "by state"
    );
    let by = AssignmentRequestQuery {
        requestor: Some(id(12)),
        ..Default::default()
    };
    assert_eq!(
        ids(tx.list_assignment_requests(&by).await.unwrap()),
        [id(2)]
    );
    let of = AssignmentRequestQuery {
        target: Some(id(10)),
        package: Some(id(21)),
        ..Default::default()
    };
    assert_eq!(
        ids(tx.list_assignment_requests(&of).await.unwrap()),
        [id(3)]
    );
    assert_eq!(
        tx.list_assignment_requests(&Default::default())
            .await
            .unwrap()
            .len(),
        3
    );

    let aids = |a: Vec<Assignment>| a.iter().map(|a| a.id).collect::<Vec<_>>();
    let q = |package: Option<u128>, target: Option<u128>, state| AssignmentQuery {
        package: package.map(id),
        target: target.map(id),
        state,
    };
    assert_eq!(
        aids(tx.list_assignments(&q(Some(20), None, None)).await.unwrap()),
        [id(5), id(6)]
    );
    assert_eq!(
        aids(tx.list_assignments(&q(None, Some(10), None)).await.unwrap()),
        [id(5), id(7)]
    );
    assert!(
        tx.list_assignments(&q(None, None, Some(AssignmentState::Expired)))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.get_assignment(id(7)).await.unwrap(),
        Some(assignment(7, 10, 21, None))
    );
    // Ends are due in order; one without an end never is.
    assert_eq!(
        aids(tx.due_assignments(t(100), 10).await.unwrap()),
        [id(6), id(5)]
    );
    assert_eq!(aids(tx.due_assignments(t(60), 10).await.unwrap()), [id(6)]);
    assert_eq!(tx.next_due().await.unwrap(), Some(t(50)));
    drop(tx);

    // Its expiry recorded, an assignment is due no more (a restart does not repeat it).
    let mut tx = write(&store).await;
    let mut ended = assignment(6, 11, 20, Some(50));
    ended.state = AssignmentState::Expired;
    ended.expired_date_time = Some(t(50));
    assert!(tx.update_assignment(&ended).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        aids(tx.due_assignments(t(1000), 10).await.unwrap()),
        [id(5)]
    );
    assert_eq!(tx.next_due().await.unwrap(), Some(t(100)));
    assert_eq!(
        aids(
            tx.list_assignments(&q(None, None, Some(AssignmentState::Expired)))
                .await
                .unwrap()
        ),
        [id(6)]
    );
}

contract!(requests_and_assignments => requests_and_assignments_sqlite, requests_and_assignments_postgres);

/// A request waiting for approval owes the scheduler its stage's deadline while it waits, and
/// nothing once it is decided (or timed out), so a restart neither loses nor repeats it.
async fn approval_deadlines_are_due(store: Arc<dyn Store>) {
    use eligo_core::entitlement::approval::{ApprovalStage, RequestApproval};
    let stage = ApprovalStage {
        duration_before_automatic_denial: chrono::TimeDelta::seconds(30),
        is_approver_justification_required: false,
        is_escalation_enabled: false,
        duration_before_escalation: chrono::TimeDelta::zero(),
        primary_approvers: vec![],
        fallback_primary_approvers: vec![],
        escalation_approvers: vec![],
        fallback_escalation_approvers: vec![],
        minimum_approvals: 1,
    };
    let mut waiting = request(1, 10, 10, 20);
    let mut n = 100;
    waiting.approval = Some(RequestApproval::start(
        &[stage],
        || {
            n += 1;
            id(n)
        },
        t(10),
    ));
    let mut tx = write(&store).await;
    tx.insert_assignment_request(&waiting).await.unwrap();
    // Without approval stages a request owes nothing.
    tx.insert_assignment_request(&request(2, 11, 11, 20))
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(
        tx.due_assignment_requests(t(39), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = tx.due_assignment_requests(t(40), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0], waiting);
    assert_eq!(tx.next_due().await.unwrap(), Some(t(40)));
    drop(tx);

    let mut tx = write(&store).await;
    waiting.state = RequestState::Denied;
    waiting.status = "TimedOut".into();
    assert!(tx.update_assignment_request(&waiting).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(
        tx.due_assignment_requests(t(1000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.next_due().await.unwrap(), None);
}

contract!(approval_deadlines_are_due => approval_deadlines_due_sqlite, approval_deadlines_due_postgres);

/// A `scheduled` request owes the scheduler its start, and a request waiting for its custom
/// extension's callback the callback's timeout; neither once it is delivered, denied or
/// canceled.
async fn starts_and_callbacks_are_due(store: Arc<dyn Store>) {
    use eligo_core::entitlement::extension::Callout;
    use eligo_core::entitlement::policy::CustomExtensionStage;
    let mut scheduled = request(1, 10, 10, 20);
    scheduled.state = RequestState::Scheduled;
    scheduled.status = "Scheduled".into();
    scheduled.schedule.start_date_time = Some(t(50));
    let mut waiting = request(2, 11, 11, 20);
    waiting.status = "WaitingForCallback".into();
    waiting.callout = Some(Callout {
        instance_id: id(30),
        extension_id: id(31),
        stage: CustomExtensionStage::AssignmentRequestCreated,
        sent_date_time: t(10),
        deadline: t(70),
        approval_stages: None,
        outcome: None,
        detail: None,
    });
    let mut tx = write(&store).await;
    tx.insert_assignment_request(&scheduled).await.unwrap();
    tx.insert_assignment_request(&waiting).await.unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.next_due().await.unwrap(), Some(t(50)));
    assert!(
        tx.due_assignment_requests(t(49), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.due_assignment_requests(t(50), 10).await.unwrap(),
        [scheduled.clone()]
    );
    assert_eq!(
        tx.due_assignment_requests(t(70), 10).await.unwrap(),
        [scheduled.clone(), waiting.clone()]
    );
    drop(tx);

    let mut tx = write(&store).await;
    scheduled.state = RequestState::Canceled;
    if let Some(c) = waiting.callout.as_mut() {
        c.outcome = Some("resumed".into());
    }
    assert!(tx.update_assignment_request(&scheduled).await.unwrap());
    assert!(tx.update_assignment_request(&waiting).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(
        tx.due_assignment_requests(t(1000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.next_due().await.unwrap(), None);
}

contract!(starts_and_callbacks_are_due => starts_and_callbacks_due_sqlite, starts_and_callbacks_due_postgres);
