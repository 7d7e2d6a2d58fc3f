//! Rule 10: Eligo never calls an internal address (loopback, private, link-local, metadata
//! services...) unless `ELIGO_OUTBOUND_ALLOW` lists it; checked where the connection is made,
//! on IP literals and on names that resolve inside alike. A refused call sends nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use eligo::connectors::{ConnectorError, Downstream};
use eligo_core::roles::ids;
use serde_json::json;

use crate::harness::*;

/// A loopback server that counts every request it gets, whatever the path or method.
async fn counter() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let app = Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

#[tokio::test]
async fn a_subscription_aimed_inside_is_never_called() {
    let t = TestApp::configured(|c| c.outbound_allow = Vec::new()).await;
    let (addr, hits) = counter().await;
    for url in [
        format!("http://{addr}/hook"),
        format!("http://localhost:{}/hook", addr.port()),
    ] {
        let (status, body) = t
            .post(
                "/v1/subscriptions",
                BOOTSTRAP,
                json!({ "url": url, "secret": "subscriber-secret-0123456789", "eventTypes": ["*"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let p = t.user("someone").await;
    t.make_eligible(p, ids::SECURITY_ADMINISTRATOR).await;
    crate::provisioning::deliver(&t).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the internal receiver"
    );
    // The jobs say why (and are retried later, in case the allow list is changed).
    let mut jobs = crate::provisioning::jobs(&t, "pending").await;
    jobs.extend(crate::provisioning::jobs(&t, "failed").await);
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    for job in &jobs {
        let error = job["lastError"].as_str().unwrap();
        assert!(error.contains("ELIGO_OUTBOUND_ALLOW"), "{error}");
    }
}

#[tokio::test]
async fn connectors_refuse_internal_addresses_unless_allowed() {
    let (addr, hits) = counter().await;
    let webhook = eligo::connectors::webhook::WebhookSettings::parse(&json!({
        "url": format!("http://{addr}/hook"), "secret": "receiver-secret-0123456789",
    }))
    .unwrap();
    let scim = |base: String| {
        eligo::connectors::scim::ScimSettings::parse(
            &json!({ "baseUrl": base, "bearerToken": "scim-token-0123456789" }),
        )
        .unwrap()
    };
    let ldap = |url: String| {
        eligo::connectors::ldap::LdapSettings::parse(&json!({
            "url": url, "bindDn": "cn=admin,dc=example,dc=org", "bindPassword": "x",
            "userBaseDn": "dc=example,dc=org", "timeoutSeconds": 2,
        }))
        .unwrap()
    };
    let refused = |r: Result<(), ConnectorError>| match r {
        Err(ConnectorError::Misconfigured(m)) => assert!(m.contains("ELIGO_OUTBOUND_ALLOW"), "{m}"),
        other => panic!("not refused: {other:?}"),
    };
    let hook = eligo::connectors::webhook::WebhookConnector::new(webhook.clone());
    refused(hook.probe().await);
    for base in [
        format!("http://{addr}/scim/v2"),
        format!("http://localhost:{}/scim/v2", addr.port()),
        "http://169.254.169.254/latest".to_string(),
    ] {
        let c = eligo::connectors::scim::ScimConnector::new(scim(base)).unwrap();
        refused(c.probe().await);
    }
    for url in [
        format!("ldap://{addr}"),
        format!("ldap://localhost:{}", addr.port()),
        "ldap://10.0.0.1:389".to_string(),
    ] {
        let c = eligo::connectors::ldap::LdapConnector::new(ldap(url));
        refused(c.probe().await);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Listed in the allow list, the same receiver is called.
    let hook = eligo::connectors::webhook::WebhookConnector::new(webhook).with_outbound(loopback());
    let _ = hook.probe().await;
    assert!(
        hits.load(Ordering::SeqCst) > 0,
        "the allowed receiver was called"
    );
}
