//! `Tx::read_ahead` (issue 18, throughput): the principal, schedules and requests an
//! activation is about to read, asked in one round trip. A read answered from it must be the
//! read the store would have answered: the same rows in the same order, principals unknown
//! included; and it is an answer only for exactly the same question with nothing written in
//! between.

use std::sync::Arc;

use eligo_core::request::RequestStatus;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use eligo_store::{Page, ReadAhead, RequestQuery, ScheduleQuery, Store};
use uuid::Uuid;

use crate::common::*;
use crate::requests::request;

fn ga() -> Uuid {
    ids::GLOBAL_ADMINISTRATOR.parse().unwrap()
}

fn reader() -> Uuid {
    ids::GLOBAL_READER.parse().unwrap()
}

/// Ann (1) and her group (2) hold schedules of two roles, several starting at the same time
/// (ordered by id then); Ann filed requests of which some wait for approval.
async fn seed(store: &Arc<dyn Store>) {
    let mut tx = write(store).await;
    tx.insert_user(&user(1, "ann@x.com", "Ann")).await.unwrap();
    tx.insert_group(&group(2, "Admins", true)).await.unwrap();
    for (n, holder, role, start) in [
        (17, id(1), ga(), 300),
        (12, id(2), ga(), 100),
        (15, id(1), ga(), 100),
        (11, id(1), ga(), 100),
        (13, id(1), reader(), 50),
        (14, id(2), ga(), 200),
    ] {
        let kind = if n % 2 == 0 {
            ScheduleKind::Eligible
        } else {
            ScheduleKind::Active
        };
        tx.insert_role_schedule(&schedule(n, kind, holder, role, "/", start, None))
            .await
            .unwrap();
    }
    for (n, created, status) in [
        (21, 10, RequestStatus::PendingApproval),
        (22, 30, RequestStatus::Provisioned),
        (23, 30, RequestStatus::PendingApproval),
        (24, 20, RequestStatus::PendingApproval),
        (25, 30, RequestStatus::PendingApproval),
    ] {
        let mut r = request(n, id(1), t(created));
        r.role_definition_id = ga();
        r.status = status;
        tx.insert_schedule_request(&r).await.unwrap();
    }
    commit(tx).await;
}

fn schedules() -> ScheduleQuery {
    ScheduleQuery {
        principal_ids: Some(vec![id(1), id(2)]),
        role_definition_id: Some(ga()),
        ..Default::default()
    }
}

fn pending() -> RequestQuery {
    RequestQuery {
        principal_id: Some(id(1)),
        role_definition_id: Some(ga()),
        status: Some(RequestStatus::PendingApproval),
        ..Default::default()
    }
}

fn ahead(page: Page) -> ReadAhead {
    ReadAhead {
        principals: vec![id(1), id(2), id(404)],
        schedules: Some(schedules()),
        requests: Some((pending(), page)),
    }
}

async fn what_is_read_ahead_is_what_the_store_answers(store: Arc<dyn Store>) {
    seed(&store).await;
    let second_page = Page { top: 2, skip: 1 };
    for page in [Page::ALL, second_page] {
        let mut plain = read(&store).await;
        let expected = (
            plain
                .get_principals(&[id(1), id(2), id(404)])
                .await
                .unwrap(),
            plain.list_role_schedules(&schedules()).await.unwrap(),
            plain
                .list_schedule_requests(&pending(), page)
                .await
                .unwrap(),
        );
        drop(plain);
        assert_eq!(expected.0.len(), 2);
        assert_eq!(expected.1.len(), 5);
        assert_eq!(
            expected.1.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![id(11), id(12), id(15), id(14), id(17)],
            "by start, then id"
        );

        let mut tx = write(&store).await;
        tx.read_ahead(&ahead(page)).await.unwrap();
        let answered = (
            tx.get_principals(&[id(1), id(2), id(404)]).await.unwrap(),
            tx.list_role_schedules(&schedules()).await.unwrap(),
            tx.list_schedule_requests(&pending(), page).await.unwrap(),
        );
        assert_eq!(answered, expected, "page {page:?}");
    }
}
contract!(
    what_is_read_ahead_is_what_the_store_answers =>
    what_is_read_ahead_is_what_the_store_answers_sqlite,
    what_is_read_ahead_is_what_the_store_answers_postgres,
);

/// A write after the read-ahead, deferred or not, is seen by the read after it; a read of
/// another question is answered by the store.
async fn a_write_in_between_or_another_question_goes_to_the_store(store: Arc<dyn Store>) {
    seed(&store).await;
    let mut tx = write(&store).await;
    tx.read_ahead(&ahead(Page::ALL)).await.unwrap();
    let added = schedule(18, ScheduleKind::Active, id(1), ga(), "/", 400, None);
    tx.insert_role_schedule(&added).await.unwrap();
    let seen = tx.list_role_schedules(&schedules()).await.unwrap();
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.last(), Some(&added), "the deferred insert is seen");

    tx.read_ahead(&ahead(Page::ALL)).await.unwrap();
    let mut approved = request(21, id(1), t(10));
    approved.role_definition_id = ga();
    approved.status = RequestStatus::Provisioned;
    assert!(tx.update_schedule_request(&approved).await.unwrap());
    let waiting = tx
        .list_schedule_requests(&pending(), Page::ALL)
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(25), id(23), id(24)],
        "the update is seen: 21 no longer waits"
    );

    tx.read_ahead(&ahead(Page::ALL)).await.unwrap();
    let only_ann = ScheduleQuery {
        principal_ids: Some(vec![id(1)]),
        ..schedules()
    };
    let ann = tx.list_role_schedules(&only_ann).await.unwrap();
    assert_eq!(
        ann.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![id(11), id(15), id(17), id(18)],
        "another question is not answered with the read-ahead"
    );
}
contract!(
    a_write_in_between_or_another_question_goes_to_the_store =>
    a_write_in_between_or_another_question_goes_to_the_store_sqlite,
    a_write_in_between_or_another_question_goes_to_the_store_postgres,
);
