//! Notices the scheduler owes for access packages (migration 0013), on both backends: an
//! assignment's next "ends soon" reminder and a waiting request's escalation are due at their
//! time, counted by `next_due`, due no more once cleared (the transaction that sends them), and
//! cleared by the store when the assignment expires or the request stops waiting, so a restart
//! neither loses one nor sends one twice.

use std::sync::Arc;

use eligo_core::entitlement::assignment::{Assignment, AssignmentState};
use eligo_core::entitlement::request::{
    AskedSchedule, AssignmentRequest, RequestState, RequestType,
};
use eligo_store::Store;

use crate::common::*;

fn assignment(n: u128, end: i64) -> Assignment {
    Assignment {
        id: id(n),
        access_package_id: id(20),
        assignment_policy_id: id(90),
        catalog_id: id(1),
        target_id: id(10),
        state: AssignmentState::Delivered,
        status: "Delivered".into(),
        start_date_time: t(0),
        end_date_time: Some(t(end)),
        expired_date_time: None,
        created_date_time: t(0),
        created_by_request: id(n + 1000),
        last_request: id(n + 1000),
        grants: vec![],
    }
}

fn waiting(n: u128) -> AssignmentRequest {
    AssignmentRequest {
        id: id(n),
        request_type: RequestType::UserAdd,
        state: RequestState::PendingApproval,
        status: "PendingApproval".into(),
        justification: None,
        requestor_id: id(10),
        target_id: id(10),
        access_package_id: id(20),
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

async fn reminders_are_due_once(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    // Ends far away (their expiry is not what this is about).
    tx.insert_assignment(&assignment(1, 10_000)).await.unwrap();
    tx.insert_assignment(&assignment(2, 10_000)).await.unwrap();
    tx.insert_assignment(&assignment(3, 10_000)).await.unwrap();
    assert!(
        tx.set_assignment_reminder(id(1), Some(t(50)))
            .await
            .unwrap()
    );
    assert!(
        tx.set_assignment_reminder(id(2), Some(t(40)))
            .await
            .unwrap()
    );
    assert!(
        !tx.set_assignment_reminder(id(99), Some(t(1)))
            .await
            .unwrap()
    );
    commit(tx).await;

    let mut tx = read(&store).await;
    assert!(
        tx.due_assignment_reminders(t(39), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = tx.due_assignment_reminders(t(100), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|(a, at)| (a.id, *at)).collect::<Vec<_>>(),
        [(id(2), t(40)), (id(1), t(50))]
    );
    assert_eq!(due[0].0, assignment(2, 10_000));
    assert_eq!(tx.next_due().await.unwrap(), Some(t(40)));
    drop(tx);

    // Sent: the next one is owed instead (or none); an update of the record keeps it.
    let mut tx = write(&store).await;
    assert!(
        tx.set_assignment_reminder(id(2), Some(t(70)))
            .await
            .unwrap()
    );
    assert!(tx.update_assignment(&assignment(2, 10_000)).await.unwrap());
    assert!(tx.set_assignment_reminder(id(1), None).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    let due = tx.due_assignment_reminders(t(100), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|(a, at)| (a.id, *at)).collect::<Vec<_>>(),
        [(id(2), t(70))]
    );
    assert_eq!(tx.next_due().await.unwrap(), Some(t(70)));
    drop(tx);

    // Expired (or removed): nothing is owed any more.
    let mut tx = write(&store).await;
    let mut ended = assignment(2, 10_000);
    ended.state = AssignmentState::Expired;
    assert!(tx.update_assignment(&ended).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(
        tx.due_assignment_reminders(t(20_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Only the live assignments' ends remain due.
    assert_eq!(tx.next_due().await.unwrap(), Some(t(10_000)));
}

contract!(reminders_are_due_once => reminders_due_once_sqlite, reminders_due_once_postgres);

async fn escalation_notices_are_due_while_waiting(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_assignment_request(&waiting(1)).await.unwrap();
    tx.insert_assignment_request(&waiting(2)).await.unwrap();
    assert!(tx.set_request_notice(id(1), Some(t(30))).await.unwrap());
    assert!(tx.set_request_notice(id(2), Some(t(60))).await.unwrap());
    assert!(!tx.set_request_notice(id(99), Some(t(1))).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(tx.due_request_notices(t(29), 10).await.unwrap().is_empty());
    assert_eq!(
        tx.due_request_notices(t(30), 10).await.unwrap(),
        [waiting(1)]
    );
    assert_eq!(tx.next_due().await.unwrap(), Some(t(30)));
    drop(tx);

    // Sent (cleared), and an update that still waits keeps the other one owed.
    let mut tx = write(&store).await;
    assert!(tx.set_request_notice(id(1), None).await.unwrap());
    assert!(tx.update_assignment_request(&waiting(2)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.due_request_notices(t(100), 10).await.unwrap(),
        [waiting(2)]
    );
    drop(tx);

    // Decided: nothing owed.
    let mut tx = write(&store).await;
    let mut decided = waiting(2);
    decided.state = RequestState::Denied;
    assert!(tx.update_assignment_request(&decided).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(
        tx.due_request_notices(t(1000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.next_due().await.unwrap(), None);
}

contract!(escalation_notices_are_due_while_waiting => escalation_notices_due_sqlite, escalation_notices_due_postgres);
