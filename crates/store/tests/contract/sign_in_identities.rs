//! Single sign-on identities: one per account, one account per (issuer, subject), replaced
//! whole, gone with the principal.

use std::sync::Arc;

use eligo_store::{SignInIdentityRow, Store};

use crate::common::*;

fn identity(principal: u128, issuer: &str, subject: &str) -> SignInIdentityRow {
    SignInIdentityRow {
        principal_id: id(principal),
        issuer: issuer.into(),
        subject: subject.into(),
        linked_at: t(principal as i64),
    }
}

async fn sign_in_identities_bind_one_account_each(store: Arc<dyn Store>) {
    insert_users(
        &store,
        &[user(10, "a@x.example", "A"), user(11, "b@x.example", "B")],
    )
    .await;
    let a = identity(10, "https://idp.example", "sub-a");
    let mut tx = write(&store).await;
    tx.put_sign_in_identity(&a).await.unwrap();
    // The same subject at another issuer is another identity.
    tx.put_sign_in_identity(&identity(11, "https://other.example", "sub-a"))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    assert_conflict(
        tx.put_sign_in_identity(&identity(11, "https://idp.example", "sub-a"))
            .await,
        "sign-in identity",
    );
    drop(tx);

    let mut tx = read(&store).await;
    assert_eq!(tx.get_sign_in_identity(id(10)).await.unwrap(), Some(a));
    assert_eq!(
        tx.find_sign_in_identity("https://idp.example", "sub-a")
            .await
            .unwrap(),
        Some(id(10))
    );
    assert_eq!(
        tx.find_sign_in_identity("https://other.example", "sub-a")
            .await
            .unwrap(),
        Some(id(11))
    );
    assert_eq!(
        tx.find_sign_in_identity("https://idp.example", "SUB-A")
            .await
            .unwrap(),
        None,
        "subjects are compared exactly"
    );
    drop(tx);

    // Replacing moves the account to its new identity; the old one names nobody.
    let mut tx = write(&store).await;
    let moved = identity(10, "https://idp.example", "sub-a2");
    tx.put_sign_in_identity(&moved).await.unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_sign_in_identity(id(10)).await.unwrap(), Some(moved));
    assert_eq!(
        tx.find_sign_in_identity("https://idp.example", "sub-a")
            .await
            .unwrap(),
        None
    );
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.delete_sign_in_identity(id(10)).await.unwrap());
    assert!(!tx.delete_sign_in_identity(id(10)).await.unwrap(), "once");
    assert!(tx.delete_principal(id(11)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_sign_in_identity(id(10)).await.unwrap(), None);
    assert_eq!(
        tx.find_sign_in_identity("https://other.example", "sub-a")
            .await
            .unwrap(),
        None,
        "gone with the principal"
    );
}

contract!(sign_in_identities_bind_one_account_each => sign_in_identities_bind_one_account_each_sqlite, sign_in_identities_bind_one_account_each_postgres);
