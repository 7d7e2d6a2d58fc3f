//! Access reviews (migration 0018), on both backends: definitions due by their next start,
//! instances due by their stage end, decisions inserted in batches with their reviewers and
//! found by reviewer, and a definition's deletion taking its instances and decisions along.

use std::sync::Arc;

use eligo_core::directory::PrincipalKind;
use eligo_core::review::{
    Access, ApplyResult, Decision, DecisionItem, Definition, Instance, InstanceStatus, Party,
    Recommendation, ResourceRef, StageRun,
};
use eligo_store::Store;
use serde_json::json;

use crate::common::*;

fn party(n: u128) -> Party {
    Party {
        id: id(n),
        display_name: format!("p{n}"),
        user_principal_name: None,
        kind: PrincipalKind::User,
    }
}

fn definition(n: u128, start_at: i64) -> Definition {
    let body = json!({
        "displayName": format!("Review {n}"),
        "scope": { "query": format!("/groups/{}/members", id(900)) },
        "reviewers": [],
    });
    let mut d = Definition::read(&body, id(n), party(1), t(0)).expect("a valid definition");
    d.next_start = Some(t(start_at));
    d
}

fn instance(n: u128, def: u128, end: i64) -> Instance {
    Instance {
        id: id(n),
        definition_id: id(def),
        start_date_time: t(0),
        end_date_time: t(end),
        status: InstanceStatus::InProgress,
        stages: vec![StageRun {
            id: id(n + 1000),
            stage_id: "1".into(),
            start_date_time: t(0),
            end_date_time: t(end),
            status: InstanceStatus::InProgress,
        }],
        current_stage: 0,
        remind_at: None,
    }
}

fn decision(n: u128, instance: u128, reviewers: &[u128]) -> DecisionItem {
    DecisionItem {
        id: id(n),
        instance_id: id(instance),
        definition_id: id(10),
        stage: 0,
        principal: party(n),
        resource: ResourceRef {
            id: id(900),
            display_name: "G".into(),
            kind: "group".into(),
        },
        access: Access::GroupMember {
            group_id: id(900),
            direct: true,
        },
        decision: Decision::NotReviewed,
        recommendation: Recommendation::NoInfoAvailable,
        recommendation_reason: String::new(),
        justification: None,
        reviewed_by: None,
        reviewed_date_time: None,
        applied_by: None,
        applied_date_time: None,
        apply_result: ApplyResult::New,
        reviewers: reviewers.iter().map(|r| id(*r)).collect(),
        is_final: true,
        granted_at: None,
        last_used_at: None,
    }
}

async fn reviews_are_due_found_by_reviewer_and_deleted_whole(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_review_definition(&definition(10, 5))
        .await
        .unwrap();
    tx.insert_review_definition(&definition(11, 50))
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    let due = tx.due_review_definitions(t(5), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), [id(10)]);
    assert_eq!(tx.next_due().await.unwrap(), Some(t(5)));
    drop(tx);

    // A thousand decisions, in batches, each with two reviewers.
    let items: Vec<DecisionItem> = (0..1000u128)
        .map(|n| decision(2000 + n, 20, &[if n % 2 == 0 { 3 } else { 4 }, 5]))
        .collect();
    let mut tx = write(&store).await;
    tx.insert_review_instance(&instance(20, 10, 7))
        .await
        .unwrap();
    tx.insert_review_decisions(&items).await.unwrap();
    let mut changed = items[0].clone();
    changed.decision = Decision::Deny;
    tx.update_review_decisions(&[changed.clone()])
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.due_review_instances(t(7), 10).await.unwrap().len(), 1);
    assert!(tx.due_review_instances(t(6), 10).await.unwrap().is_empty());
    assert_eq!(
        tx.list_review_decisions(id(20), Some(0))
            .await
            .unwrap()
            .len(),
        1000
    );
    assert_eq!(
        tx.list_review_decisions(id(20), Some(1))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        tx.review_decisions_of_reviewer(id(3), None)
            .await
            .unwrap()
            .len(),
        500
    );
    assert_eq!(
        tx.review_decisions_of_reviewer(id(5), Some(id(20)))
            .await
            .unwrap()
            .len(),
        1000
    );
    assert_eq!(
        tx.review_instances_of_reviewer(id(4)).await.unwrap(),
        [id(20)]
    );
    assert_eq!(
        tx.get_review_decision(changed.id).await.unwrap(),
        Some(changed)
    );
    drop(tx);

    // Completed: no longer due.
    let mut done = instance(20, 10, 7);
    done.status = InstanceStatus::Completed;
    let mut tx = write(&store).await;
    tx.update_review_instance(&done).await.unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(
        tx.due_review_instances(t(100), 10)
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.delete_review_definition(id(10)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_review_instance(id(20)).await.unwrap(), None);
    assert!(
        tx.review_decisions_of_reviewer(id(5), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.list_review_definitions().await.unwrap().len(), 1);
}

contract!(reviews_are_due_found_by_reviewer_and_deleted_whole => reviews_sqlite, reviews_postgres);
