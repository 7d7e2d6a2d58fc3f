//! Inbound SCIM: provisioning clients (found by their token's hash, revoked once) and the
//! sources of what they provisioned (externalId unique per client and kind, gone with the
//! principal).

use std::sync::Arc;

use eligo_store::{ScimClientRow, SourceRow, Store};
use serde_json::json;

use crate::common::*;

fn client(n: u128, hash: &str) -> ScimClientRow {
    ScimClientRow {
        id: id(n),
        display_name: format!("client {n}"),
        token_hash: hash.into(),
        created_by: Some(id(1)),
        created_at: t(n as i64),
        revoked_at: None,
    }
}

fn source(principal: u128, client: u128, kind: &str, external: Option<&str>) -> SourceRow {
    SourceRow {
        principal_id: id(principal),
        kind: kind.into(),
        client_id: id(client),
        external_id: external.map(String::from),
        attributes: json!({ "userName": format!("u{principal}") }),
        created_at: t(principal as i64),
    }
}

async fn scim_clients_and_sources(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_scim_client(&client(500, "hash-a")).await.unwrap();
    tx.insert_scim_client(&client(501, "hash-b")).await.unwrap();
    commit(tx).await;
    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_scim_client(&client(502, "hash-a")).await,
        "scim client",
    );
    drop(tx);

    let mut tx = read(&store).await;
    assert_eq!(
        tx.scim_client_by_token("hash-b").await.unwrap(),
        Some(client(501, "hash-b"))
    );
    assert_eq!(tx.scim_client_by_token("nope").await.unwrap(), None);
    assert_eq!(tx.list_scim_clients().await.unwrap().len(), 2);
    drop(tx);
    let mut tx = write(&store).await;
    assert!(tx.revoke_scim_client(id(500), t(900)).await.unwrap());
    assert!(
        !tx.revoke_scim_client(id(500), t(901)).await.unwrap(),
        "once"
    );
    assert!(!tx.revoke_scim_client(id(999), t(901)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_scim_client(id(500))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(t(900))
    );
    drop(tx);

    insert_users(
        &store,
        &[
            user(10, "a@x.example", "A"),
            user(11, "b@x.example", "B"),
            user(12, "c@x.example", "C"),
        ],
    )
    .await;
    let mut tx = write(&store).await;
    tx.put_source(&source(10, 500, "user", Some("ext-1")))
        .await
        .unwrap();
    tx.put_source(&source(11, 500, "user", None)).await.unwrap();
    // The same externalId under another client, or for another kind, is another object.
    tx.put_source(&source(12, 501, "user", Some("ext-1")))
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = write(&store).await;
    assert_conflict(
        tx.put_source(&source(11, 500, "user", Some("ext-1"))).await,
        "externalId",
    );
    drop(tx);
    // Replacing keeps the row's kind and client, changes its externalId and attributes.
    let mut tx = write(&store).await;
    let mut changed = source(11, 500, "user", Some("ext-2"));
    changed.attributes = json!({ "userName": "renamed" });
    tx.put_source(&changed).await.unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.find_by_external_id(id(500), "user", "ext-1")
            .await
            .unwrap(),
        Some(id(10))
    );
    assert_eq!(
        tx.find_by_external_id(id(501), "user", "ext-1")
            .await
            .unwrap(),
        Some(id(12))
    );
    assert_eq!(
        tx.find_by_external_id(id(500), "group", "ext-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(tx.get_source(id(11)).await.unwrap(), Some(changed));
    let listed: Vec<_> = tx
        .list_sourced(id(500), "user")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.principal_id)
        .collect();
    assert_eq!(listed, [id(10), id(11)], "oldest first");
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.delete_principal(id(10)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_source(id(10)).await.unwrap(),
        None,
        "gone with the principal"
    );
    assert_eq!(
        tx.find_by_external_id(id(500), "user", "ext-1")
            .await
            .unwrap(),
        None
    );
}

contract!(scim_clients_and_sources => scim_clients_and_sources_sqlite, scim_clients_and_sources_postgres);
