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

/// A writer that will begin with `read_ahead` of `question`, queued behind the open batch:
/// it reads ahead, then lists what it asked. Returns its answers.
fn queued_reader(
    store: &Arc<dyn Store>,
    question: ReadAhead,
) -> tokio::task::JoinHandle<(
    Vec<eligo_store::Principal>,
    Vec<eligo_core::schedule::RoleSchedule>,
    Vec<eligo_core::request::ScheduleRequest>,
)> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut tx = store.write_reading_ahead(question.clone()).await.unwrap();
        tx.read_ahead(&question).await.unwrap();
        let (query, page) = question.requests.clone().unwrap();
        let answers = (
            tx.get_principals(&question.principals).await.unwrap(),
            tx.list_role_schedules(question.schedules.as_ref().unwrap())
                .await
                .unwrap(),
            tx.list_schedule_requests(&query, page).await.unwrap(),
        );
        tx.commit().await.unwrap();
        answers
    })
}

/// What the store answers `question` now.
async fn answered_by_the_store(
    store: &Arc<dyn Store>,
    question: &ReadAhead,
) -> (
    Vec<eligo_store::Principal>,
    Vec<eligo_core::schedule::RoleSchedule>,
    Vec<eligo_core::request::ScheduleRequest>,
) {
    let mut tx = read(store).await;
    let (query, page) = question.requests.clone().unwrap();
    (
        tx.get_principals(&question.principals).await.unwrap(),
        tx.list_role_schedules(question.schedules.as_ref().unwrap())
            .await
            .unwrap(),
        tx.list_schedule_requests(&query, page).await.unwrap(),
    )
}

/// A queued writer's first reads, asked by the member before it with that member's last
/// writes (`Store::write_reading_ahead`), see those writes: a second activation of
/// the same role by the same principal, queued behind the first in one batch, sees the first.
/// A writer whose question differs from another's is never given the other's answers.
async fn a_question_asked_by_the_member_before_sees_its_writes(store: Arc<dyn Store>) {
    seed(&store).await;
    let before = store.group_commits();
    let mut first = write(&store).await;
    let activated = schedule(18, ScheduleKind::Active, id(1), ga(), "/", 400, None);
    first.insert_role_schedule(&activated).await.unwrap();
    let mut waits = request(26, id(1), t(40));
    waits.role_definition_id = ga();
    waits.status = RequestStatus::PendingApproval;
    first.insert_schedule_request(&waits).await.unwrap();
    // (Not an update of a principal: that may take access away, and the batch commits.)
    first
        .insert_user(&user(3, "cat@x.com", "Cat"))
        .await
        .unwrap();
    let with_cat = ReadAhead {
        principals: vec![id(1), id(3), id(404)],
        ..ahead(Page::ALL)
    };

    let same = queued_reader(&store, with_cat.clone());
    until_waiting(&store, 1).await;
    // Asks of Ann alone, and only the second page of requests.
    let other_question = ReadAhead {
        principals: vec![id(1)],
        schedules: Some(ScheduleQuery {
            principal_ids: Some(vec![id(1)]),
            ..schedules()
        }),
        requests: Some((pending(), Page { top: 2, skip: 1 })),
    };
    let other = queued_reader(&store, other_question.clone());
    until_waiting(&store, 2).await;
    commit(first).await;
    let same = within("same", same).await.unwrap();
    let other = within("other", other).await.unwrap();

    assert_eq!(same, answered_by_the_store(&store, &with_cat).await);
    assert!(
        same.1.contains(&activated),
        "the first writer's activation is seen"
    );
    assert_eq!(
        same.2.first().map(|r| r.id),
        Some(id(26)),
        "and its request"
    );
    assert_eq!(same.0.len(), 2, "and the user it added: {:?}", same.0);
    assert_eq!(other, answered_by_the_store(&store, &other_question).await);
    assert_eq!(other.2.len(), 2, "the second page: {:?}", other.2);

    let answered = store.group_commits().answered_ahead - before.answered_ahead;
    match store.backend() {
        // Both were asked by the member before them, with its writes.
        "sqlite" => assert_eq!(answered, 2),
        // A question ends the statement of the writes before it, whose rows it would not
        // see: the first member's writes went before its commit (with its insert of a user,
        // not deferred) and the second writes nothing, so each writer asks for itself.
        _ => assert_eq!(answered, 0),
    }
}
contract!(
    a_question_asked_by_the_member_before_sees_its_writes =>
    a_question_asked_by_the_member_before_sees_its_writes_sqlite,
    a_question_asked_by_the_member_before_sees_its_writes_postgres,
);

/// A member whose last writes fail is rolled back alone; the question queued with them was
/// not asked (the statements stop at the failure), and the writer behind reads the store
/// without what the failed member wrote.
async fn a_question_behind_a_failing_member_reads_without_its_writes(store: Arc<dyn Store>) {
    seed(&store).await;
    let before = store.group_commits();
    let first = write(&store).await;
    let failing = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            tx.insert_role_schedule(&schedule(
                19,
                ScheduleKind::Active,
                id(1),
                ga(),
                "/",
                500,
                None,
            ))
            .await
            .unwrap();
            // Schedule 11 exists: a conflict, reported when the queued inserts are sent.
            tx.insert_role_schedule(&schedule(
                11,
                ScheduleKind::Active,
                id(1),
                ga(),
                "/",
                600,
                None,
            ))
            .await
            .unwrap();
            tx.commit().await
        })
    };
    until_waiting(&store, 1).await;
    let behind = queued_reader(&store, ahead(Page::ALL));
    until_waiting(&store, 2).await;
    commit(first).await;
    assert_conflict(
        within("failing", failing).await.unwrap(),
        "schedule 11 exists",
    );
    let behind = within("behind", behind).await.unwrap();
    assert!(
        !behind.1.iter().any(|s| s.id == id(19)),
        "the failed member's first insert was undone: {:?}",
        behind.1
    );
    assert_eq!(
        behind,
        answered_by_the_store(&store, &ahead(Page::ALL)).await
    );
    assert_eq!(
        store.group_commits().answered_ahead,
        before.answered_ahead,
        "nothing was answered ahead: the question was not asked"
    );
}
contract!(
    a_question_behind_a_failing_member_reads_without_its_writes =>
    a_question_behind_a_failing_member_reads_without_its_writes_sqlite,
    a_question_behind_a_failing_member_reads_without_its_writes_postgres,
);

/// On PostgreSQL the next writer's question ends the statement of the member's last writes,
/// whose data-modifying clauses it does not see: it is asked there only when it reads none of
/// the principals those writes are of. A question about others is answered ahead; one about
/// a principal the writes are of is read by its writer itself, and sees them. On SQLite the
/// question runs after the writes, and every one is answered ahead.
async fn a_question_is_answered_ahead_only_where_it_sees_the_writes(store: Arc<dyn Store>) {
    seed(&store).await;
    let mut tx = write(&store).await;
    tx.insert_user(&user(5, "eve@x.com", "Eve")).await.unwrap();
    commit(tx).await;
    let question = ahead(Page::ALL);
    // What the member writes last (deferred: sent with its commit), and whether the
    // question reads a principal it writes.
    let activation = |n, holder| {
        Some(schedule(
            n,
            ScheduleKind::Active,
            holder,
            ga(),
            "/",
            500,
            None,
        ))
    };
    let rounds = [
        // Eve's activation: Eve is not asked about.
        (activation(31, id(5)), None, false),
        // An activation of Ann's group, whose schedules are asked about.
        (activation(32, id(2)), None, true),
        // Eve's activation and a request of Ann's, whose requests are asked about.
        (activation(33, id(5)), Some(36), true),
    ];
    for (activation, ann_request, overlaps) in rounds {
        let before = store.group_commits().answered_ahead;
        let mut first = write(&store).await;
        if let Some(s) = &activation {
            first.insert_role_schedule(s).await.unwrap();
        }
        let waits = ann_request.map(|n| {
            let mut r = request(n, id(1), t(50));
            r.role_definition_id = ga();
            r.status = RequestStatus::PendingApproval;
            r
        });
        if let Some(r) = &waits {
            first.insert_schedule_request(r).await.unwrap();
        }
        let behind = queued_reader(&store, question.clone());
        until_waiting(&store, 1).await;
        commit(first).await;
        let behind = within("behind", behind).await.unwrap();

        assert_eq!(behind, answered_by_the_store(&store, &question).await);
        if let Some(s) = activation.as_ref().filter(|s| s.principal_id == id(2)) {
            assert!(behind.1.contains(s), "the group's activation is seen");
        }
        if let Some(r) = waits {
            assert_eq!(
                behind.2.first().map(|x| x.id),
                Some(r.id),
                "Ann's request is seen"
            );
        }
        let answered = store.group_commits().answered_ahead - before;
        let expected = match (store.backend(), overlaps) {
            ("sqlite", _) | (_, false) => 1,
            _ => 0,
        };
        assert_eq!(answered, expected, "{activation:?} {overlaps}");
    }
}
contract!(
    a_question_is_answered_ahead_only_where_it_sees_the_writes =>
    a_question_is_answered_ahead_only_where_it_sees_the_writes_sqlite,
    a_question_is_answered_ahead_only_where_it_sees_the_writes_postgres,
);

/// A writer that adds an active schedule `n` of `holder` (a deferred write of that principal
/// alone) and commits, queued behind the open batch.
fn queued_activation(
    store: &Arc<dyn Store>,
    n: u128,
    holder: Uuid,
) -> tokio::task::JoinHandle<Result<(), eligo_store::StoreError>> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut tx = store.write().await?;
        tx.insert_role_schedule(&schedule(
            n,
            ScheduleKind::Active,
            holder,
            ga(),
            "/",
            700,
            None,
        ))
        .await?;
        tx.commit().await
    })
}

/// On SQLite a member asks the questions of the first two writers in line, so the second
/// decides on answers read before the writes of the one between them. Those answers are kept
/// only when the writes between are of principals the question does not read: a writer
/// between that activates Ann leaves the one behind it to read for itself (and see it); one
/// that activates somebody else leaves it its answers, which are still the store's.
async fn an_answer_read_two_writers_ahead_holds_only_past_writes_it_does_not_read(
    store: Arc<dyn Store>,
) {
    seed(&store).await;
    for (between_holder, n) in [(id(1), 31u128), (id(5), 32)] {
        let before = store.group_commits();
        let mut first = write(&store).await;
        if n == 31 {
            first
                .insert_user(&user(5, "eve@x.com", "Eve"))
                .await
                .unwrap();
        }
        let between = queued_activation(&store, n, between_holder);
        until_waiting(&store, 1).await;
        let behind = queued_reader(&store, ahead(Page::ALL));
        until_waiting(&store, 2).await;
        commit(first).await;
        within("between", between).await.unwrap().unwrap();
        let behind = within("behind", behind).await.unwrap();

        assert_eq!(
            behind,
            answered_by_the_store(&store, &ahead(Page::ALL)).await,
            "the writer behind, after a writer between of {between_holder}"
        );
        assert_eq!(
            behind.1.iter().any(|s| s.id == id(n)),
            between_holder == id(1),
            "the activation between is seen where it is Ann's: {:?}",
            behind.1
        );
        let answered = store.group_commits().answered_ahead - before.answered_ahead;
        if store.backend() == "sqlite" {
            let expected = u64::from(between_holder != id(1));
            assert_eq!(
                answered, expected,
                "answered ahead after a writer between of {between_holder}"
            );
        }
    }
}
contract!(
    an_answer_read_two_writers_ahead_holds_only_past_writes_it_does_not_read =>
    an_answer_read_two_writers_ahead_holds_only_past_writes_it_does_not_read_sqlite,
    an_answer_read_two_writers_ahead_holds_only_past_writes_it_does_not_read_postgres,
);

/// A writer that queues after the member before it began is asked by that member: on SQLite
/// with the writes it sends ahead, whose answer the writer waits for rather than reading for
/// itself; on PostgreSQL at the end of those writes' statement. Either way it is answered
/// ahead, with what the store answers.
async fn a_writer_that_queues_late_is_answered_by_the_member_before(store: Arc<dyn Store>) {
    seed(&store).await;
    let mut tx = write(&store).await;
    tx.insert_user(&user(5, "eve@x.com", "Eve")).await.unwrap();
    commit(tx).await;
    let before = store.group_commits();

    let first = write(&store).await;
    let (go, ready) = tokio::sync::oneshot::channel::<()>();
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            tx.insert_role_schedule(&schedule(
                33,
                ScheduleKind::Active,
                id(5),
                ga(),
                "/",
                700,
                None,
            ))
            .await?;
            let _ = ready.await;
            tx.commit().await
        })
    };
    until_waiting(&store, 1).await;
    let first = tokio::spawn(first.commit());
    // The second writer holds the batch now; the third queues behind it.
    within("the second writer's turn", async {
        while store.group_commits().waiting > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let third = queued_reader(&store, ahead(Page::ALL));
    until_waiting(&store, 1).await;
    go.send(()).unwrap();
    within("first", first).await.unwrap().unwrap();
    within("second", second).await.unwrap().unwrap();
    let third = within("third", third).await.unwrap();

    assert_eq!(
        third,
        answered_by_the_store(&store, &ahead(Page::ALL)).await
    );
    let after = store.group_commits();
    assert_eq!(
        after.answered_ahead - before.answered_ahead,
        1,
        "the third writer was answered by the second: {after:?}"
    );
    if store.backend() == "sqlite" {
        assert_eq!(after.sent_ahead - before.sent_ahead, 1, "{after:?}");
    }
}
contract!(
    a_writer_that_queues_late_is_answered_by_the_member_before =>
    a_writer_that_queues_late_is_answered_by_the_member_before_sqlite,
    a_writer_that_queues_late_is_answered_by_the_member_before_postgres,
);
