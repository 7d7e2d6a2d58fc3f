//! Credentials (opaque JSON per principal and kind) and session tokens.

use std::sync::Arc;

use eligo_store::{Store, TokenRecord};
use serde_json::json;

use crate::common::*;

async fn credentials(store: Arc<dyn Store>) {
    let (alice, bob) = (id(10), id(11));
    insert_users(
        &store,
        &[
            user(10, "alice@x.com", "Alice"),
            user(11, "bob@x.com", "Bob"),
        ],
    )
    .await;

    let password = json!({"algorithm": "argon2id", "hash": "$argon2id$v=19$first"});
    let totp = json!({"secret": "JBSWY3DPEHPK3PXP", "digits": 6, "confirmed": false});
    let mut tx = write(&store).await;
    assert_eq!(tx.get_credential(alice, "password").await.unwrap(), None);
    tx.put_credential(alice, "password", &password, 100)
        .await
        .unwrap();
    tx.put_credential(alice, "totp", &totp, 100).await.unwrap();
    assert_eq!(
        tx.get_credential(alice, "password").await.unwrap(),
        Some(password.clone()),
        "visible inside the writing transaction"
    );
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_credential(alice, "password").await.unwrap(),
        Some(password.clone())
    );
    assert_eq!(
        tx.get_credential(alice, "totp").await.unwrap(),
        Some(totp.clone())
    );
    assert_eq!(
        tx.get_credential(alice, "clientSecret").await.unwrap(),
        None
    );
    assert_eq!(
        tx.get_credential(bob, "password").await.unwrap(),
        None,
        "credentials belong to one principal"
    );
    drop(tx);

    // put_credential replaces (upsert), and only the one kind.
    let new_password = json!({"algorithm": "argon2id", "hash": "$argon2id$v=19$second"});
    let mut tx = write(&store).await;
    tx.put_credential(alice, "password", &new_password, 200)
        .await
        .unwrap();
    tx.put_credential(bob, "password", &password, 200)
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_credential(alice, "password").await.unwrap(),
        Some(new_password)
    );
    assert_eq!(tx.get_credential(alice, "totp").await.unwrap(), Some(totp));
    assert_eq!(
        tx.get_credential(bob, "password").await.unwrap(),
        Some(password.clone())
    );
    drop(tx);

    // Credentials never outlive their principal.
    let mut tx = write(&store).await;
    assert!(tx.delete_principal(alice).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_credential(alice, "password").await.unwrap(), None);
    assert_eq!(tx.get_credential(alice, "totp").await.unwrap(), None);
    assert_eq!(
        tx.get_credential(bob, "password").await.unwrap(),
        Some(password)
    );
}
contract!(
    credentials =>
    credentials_sqlite,
    credentials_postgres,
);

async fn tokens(store: Arc<dyn Store>) {
    let alice = id(10);
    insert_users(&store, &[user(10, "alice@x.com", "Alice")]).await;

    let session = token("a1b2c3", alice);
    let bootstrap = TokenRecord {
        expires_at: None,
        amr: vec!["bootstrap".into()],
        channel: eligo_store::SessionChannel::Api,
        ..token("ffee00", alice)
    };
    let mut tx = write(&store).await;
    tx.insert_token(&session).await.unwrap();
    tx.insert_token(&bootstrap).await.unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.get_token("a1b2c3").await.unwrap(), Some(session.clone()));
    assert_eq!(
        tx.get_token("ffee00").await.unwrap(),
        Some(bootstrap.clone())
    );
    assert_eq!(tx.get_token("A1B2C3").await.unwrap(), None);
    assert_eq!(tx.get_token("unknown").await.unwrap(), None);
    drop(tx);

    // Step-up then revocation: both times round-trip, to the microsecond.
    let stepped_up = TokenRecord {
        last_mfa_at: Some(t_us(1_500, 654_321)),
        amr: vec!["pwd".into(), "otp".into()],
        channel: eligo_store::SessionChannel::Api,
        ..session.clone()
    };
    let mut tx = write(&store).await;
    tx.update_token(&stepped_up).await.unwrap();
    commit(tx).await;
    assert_eq!(
        read(&store).await.get_token("a1b2c3").await.unwrap(),
        Some(stepped_up.clone())
    );

    let revoked = TokenRecord {
        revoked_at: Some(t_us(2_000, 1)),
        ..stepped_up
    };
    let mut tx = write(&store).await;
    tx.update_token(&revoked).await.unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    let stored = tx.get_token("a1b2c3").await.unwrap().expect("token");
    assert_eq!(stored, revoked);
    assert_eq!(stored.revoked_at, Some(t_us(2_000, 1)));
    assert_eq!(stored.last_mfa_at, Some(t_us(1_500, 654_321)));
    assert_eq!(
        tx.get_token("ffee00").await.unwrap(),
        Some(bootstrap),
        "other tokens are untouched"
    );
    drop(tx);

    // A token hash is unique.
    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_token(&token("a1b2c3", alice)).await,
        "insert_token, same hash",
    );
    drop(tx);
    assert_eq!(
        read(&store).await.get_token("a1b2c3").await.unwrap(),
        Some(revoked)
    );
}
contract!(
    tokens =>
    tokens_sqlite,
    tokens_postgres,
);
