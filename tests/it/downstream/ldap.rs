//! The LDAP connector against a real slapd (from the testkit): resolving users, idempotent
//! group changes (groupOfNames with its placeholder, posixGroup), listing members, failures
//! mapped to their kind, reconnection after the server comes back, TLS (ldaps:// and StartTLS
//! with a private CA), concurrency, and settings validation.

use std::sync::Arc;

use eligo::connectors::ldap::{LdapConnector, LdapSettings, SECRET_FIELDS, dn, validate_target};
use eligo::connectors::{ConnectorError, Downstream, MemberIdentity};
use eligo_testkit::slapd::{Slapd, slapd, slapd_tls};
use serde_json::{Value, json};
use uuid::Uuid;

fn settings_json(server: &Slapd) -> Value {
    json!({
        "url": server.url(),
        "bindDn": server.admin_dn(),
        "bindPassword": server.admin_password(),
        "userBaseDn": server.people_dn(),
        "timeoutSeconds": 5,
    })
}

fn connector_with(server: &Slapd, extra: Value) -> LdapConnector {
    let mut settings = settings_json(server);
    for (key, value) in extra.as_object().expect("object") {
        settings[key] = value.clone();
    }
    LdapConnector::new(LdapSettings::parse(&settings).expect("valid settings"))
        .with_outbound(crate::harness::loopback())
}

fn connector(server: &Slapd) -> LdapConnector {
    connector_with(server, json!({}))
}

fn identity(upn: &str, mail: Option<&str>) -> MemberIdentity {
    MemberIdentity {
        principal_id: Uuid::new_v4(),
        user_principal_name: upn.to_string(),
        mail: mail.map(str::to_string),
        display_name: upn.to_string(),
    }
}

/// The references `members()` reports, sorted.
async fn listed(ldap: &LdapConnector, group: &str) -> Vec<String> {
    let mut refs: Vec<String> = ldap
        .members(group)
        .await
        .expect("members")
        .expect("LDAP lists members")
        .into_iter()
        .map(|m| m.reference)
        .collect();
    refs.sort();
    refs
}

#[tokio::test]
async fn resolves_by_upn_prefix_and_by_mail() {
    let Some(server) = slapd().await else { return };
    let alice = server.add_user("alice", "alice.smith@example.org").await;
    server.add_user("bob", "bob@example.org").await;

    let by_uid = connector(&server);
    let found = by_uid
        .resolve(&identity("alice@corp.example", None))
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(alice.as_str()));

    let by_mail = connector_with(
        &server,
        json!({ "userAttribute": "mail", "matchOn": "mail" }),
    );
    let found = by_mail
        .resolve(&identity(
            "someone@corp.example",
            Some("alice.smith@example.org"),
        ))
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(alice.as_str()));
    // No mail in Eligo: nobody to find.
    assert_eq!(
        by_mail.resolve(&identity("alice@corp.example", None)).await,
        Ok(None)
    );

    let by_upn = connector_with(
        &server,
        json!({ "userAttribute": "mail", "matchOn": "userPrincipalName" }),
    );
    let found = by_upn
        .resolve(&identity("bob@example.org", None))
        .await
        .unwrap();
    assert_eq!(
        found.as_deref(),
        Some(format!("uid=bob,{}", server.people_dn()).as_str())
    );
}

#[tokio::test]
async fn unknown_users_and_filter_injection_resolve_to_none() {
    let Some(server) = slapd().await else { return };
    server.add_user("alice", "alice@example.org").await;
    server.add_user("bob", "bob@example.org").await;
    let ldap = connector(&server);
    assert_eq!(
        ldap.resolve(&identity("nobody@corp.example", None)).await,
        Ok(None)
    );
    for attempt in ["*)(uid=*", "*", "alice)(|(uid=*", "al*", "\\2a"] {
        assert_eq!(
            ldap.resolve(&identity(&format!("{attempt}@corp.example"), None))
                .await,
            Ok(None),
            "{attempt}"
        );
    }
}

#[tokio::test]
async fn group_of_names_add_and_remove_are_idempotent() {
    let Some(server) = slapd().await else { return };
    let alice = server.add_user("alice", "alice@example.org").await;
    let bob = server.add_user("bob", "bob@example.org").await;
    let group = server.add_group_of_names("ops", &[&bob]).await;
    let ldap = connector(&server);

    let member = ldap
        .resolve(&identity("alice@corp.example", None))
        .await
        .unwrap()
        .unwrap();
    ldap.add(&group, &member).await.unwrap();
    ldap.add(&group, &member).await.unwrap();
    let mut both = vec![alice.clone(), bob.clone()];
    both.sort();
    assert_eq!(server.group_members(&group).await, both);
    assert_eq!(listed(&ldap, &group).await, both);

    ldap.remove(&group, &member).await.unwrap();
    ldap.remove(&group, &member).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec![bob.clone()]);

    let members = ldap.members(&group).await.unwrap().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].reference, bob);
    assert_eq!(members[0].display, "bob");
}

#[tokio::test]
async fn the_last_member_is_swapped_for_the_placeholder_and_back() {
    let Some(server) = slapd().await else { return };
    let alice = server.add_user("alice", "alice@example.org").await;
    let bob = server.add_user("bob", "bob@example.org").await;
    let group = server.add_group_of_names("ops", &[&alice]).await;
    let ldap = connector(&server);

    ldap.remove(&group, &alice).await.unwrap();
    assert_eq!(
        server.group_members(&group).await,
        vec![server.admin_dn().to_string()],
        "only the placeholder (the bind DN) is left"
    );
    assert_eq!(listed(&ldap, &group).await, Vec::<String>::new());
    // Removing again (nothing real left) is still a success, and the placeholder stays.
    ldap.remove(&group, &alice).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec![server.admin_dn()]);

    ldap.add(&group, &bob).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec![bob.clone()]);
    ldap.add(&group, &bob).await.unwrap();
    assert_eq!(listed(&ldap, &group).await, vec![bob.clone()]);

    // A placeholder of our own, given in another spelling than the one stored.
    let custom = connector_with(
        &server,
        json!({ "emptyGroupPlaceholder": "CN=Nobody, OU=Groups,DC=example,DC=org" }),
    );
    custom.remove(&group, &bob).await.unwrap();
    let stored = server.group_members(&group).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        dn::same(&stored[0], "cn=nobody,ou=groups,dc=example,dc=org"),
        "{stored:?}"
    );
    assert_eq!(listed(&custom, &group).await, Vec::<String>::new());
    custom.add(&group, &alice).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec![alice]);
}

#[tokio::test]
async fn posix_group_add_remove_and_members() {
    let Some(server) = slapd().await else { return };
    server.add_user("alice", "alice@example.org").await;
    server.add_user("bob", "bob@example.org").await;
    let group = server.add_posix_group("devs", 5000, &["bob"]).await;
    let ldap = connector_with(&server, json!({ "groupType": "posixGroup" }));

    let alice = ldap
        .resolve(&identity("alice@corp.example", None))
        .await
        .unwrap();
    assert_eq!(
        alice.as_deref(),
        Some("alice"),
        "posixGroup members are uids"
    );
    let alice = alice.unwrap();
    ldap.add(&group, &alice).await.unwrap();
    ldap.add(&group, &alice).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec!["alice", "bob"]);
    let members = ldap.members(&group).await.unwrap().unwrap();
    let mut shown: Vec<(String, String)> = members
        .into_iter()
        .map(|m| (m.reference, m.display))
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        vec![
            ("alice".to_string(), "alice".to_string()),
            ("bob".to_string(), "bob".to_string())
        ]
    );

    ldap.remove(&group, &alice).await.unwrap();
    ldap.remove(&group, &alice).await.unwrap();
    ldap.remove(&group, &"bob".to_string()).await.unwrap();
    assert!(server.group_members(&group).await.is_empty());
    assert_eq!(listed(&ldap, &group).await, Vec::<String>::new());
}

#[tokio::test]
async fn failures_are_classified() {
    let Some(server) = slapd().await else { return };
    let alice = server.add_user("alice", "alice@example.org").await;
    let group = server.add_group_of_names("ops", &[]).await;

    let wrong_password = connector_with(&server, json!({ "bindPassword": "not-it" }));
    assert!(matches!(
        wrong_password.probe().await,
        Err(ConnectorError::Unauthorized(_))
    ));
    assert!(matches!(
        wrong_password.add(&group, &alice).await,
        Err(ConnectorError::Unauthorized(_))
    ));

    let ldap = connector(&server);
    ldap.probe().await.unwrap();
    let missing = format!("cn=missing,{}", server.groups_dn());
    for result in [
        ldap.add(&missing, &alice).await,
        ldap.remove(&missing, &alice).await,
        ldap.members(&missing).await.map(|_| ()),
    ] {
        assert!(
            matches!(&result, Err(ConnectorError::Misconfigured(m)) if m.contains(&missing)),
            "{result:?}"
        );
    }
    // A base DN that does not exist is a configuration problem too.
    let bad_base = connector_with(
        &server,
        json!({ "userBaseDn": "ou=nowhere,dc=example,dc=org" }),
    );
    assert!(matches!(
        bad_base.probe().await,
        Err(ConnectorError::Misconfigured(_))
    ));
    // A posixGroup handled as a groupOfNames.
    let posix = server.add_posix_group("devs", 5001, &[]).await;
    assert!(matches!(
        ldap.add(&posix, &alice).await,
        Err(ConnectorError::Misconfigured(_))
    ));

    // Nobody listening.
    let port = eligo_testkit::free_port();
    let nowhere = LdapConnector::new(
        LdapSettings::parse(&json!({
            "url": format!("ldap://127.0.0.1:{port}"),
            "bindDn": server.admin_dn(),
            "bindPassword": "x",
            "userBaseDn": server.people_dn(),
            "timeoutSeconds": 2,
        }))
        .unwrap(),
    )
    .with_outbound(crate::harness::loopback());
    assert!(matches!(
        nowhere.probe().await,
        Err(ConnectorError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections (the kernel's backlog) but never answers a request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let ldap = LdapConnector::new(
        LdapSettings::parse(&json!({
            "url": url,
            "bindDn": "cn=admin,dc=example,dc=org",
            "bindPassword": "x",
            "userBaseDn": "dc=example,dc=org",
            "timeoutSeconds": 1,
        }))
        .unwrap(),
    )
    .with_outbound(crate::harness::loopback());
    let result = ldap.probe().await;
    assert!(
        matches!(&result, Err(ConnectorError::Unavailable(m)) if m.contains("within 1 s")),
        "{result:?}"
    );
    let result = ldap.resolve(&identity("alice@corp.example", None)).await;
    assert!(
        matches!(result, Err(ConnectorError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn reconnects_after_the_server_comes_back() {
    let Some(mut server) = slapd().await else {
        return;
    };
    let alice = server.add_user("alice", "alice@example.org").await;
    let bob = server.add_user("bob", "bob@example.org").await;
    let group = server.add_group_of_names("ops", &[&bob]).await;
    let ldap = connector_with(&server, json!({ "timeoutSeconds": 2 }));
    ldap.add(&group, &alice).await.unwrap();

    server.stop().await;
    assert!(matches!(
        ldap.remove(&group, &alice).await,
        Err(ConnectorError::Unavailable(_))
    ));
    assert!(matches!(
        ldap.probe().await,
        Err(ConnectorError::Unavailable(_))
    ));

    server.start().await;
    ldap.remove(&group, &alice).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec![bob]);
    ldap.probe().await.unwrap();
}

#[tokio::test]
async fn a_restart_between_operations_is_invisible() {
    let Some(mut server) = slapd().await else {
        return;
    };
    let alice = server.add_user("alice", "alice@example.org").await;
    let group = server.add_group_of_names("ops", &[]).await;
    let ldap = connector(&server);
    ldap.probe().await.unwrap();
    server.stop().await;
    server.start().await;
    // The kept connection is dead; the operation reconnects by itself.
    ldap.add(&group, &alice).await.unwrap();
    assert_eq!(server.group_members(&group).await, vec![alice]);
}

#[tokio::test]
async fn ldaps_and_start_tls_with_a_private_ca() {
    let Some(server) = slapd_tls().await else {
        return;
    };
    let alice = server.add_user("alice", "alice@example.org").await;
    let group = server.add_group_of_names("ops", &[]).await;
    let ca = server.ca_pem().unwrap().to_string();

    let ldaps = connector_with(
        &server,
        json!({ "url": server.ldaps_url().unwrap(), "caCertificatePem": ca }),
    );
    ldaps.probe().await.unwrap();
    ldaps.add(&group, &alice).await.unwrap();
    assert_eq!(listed(&ldaps, &group).await, vec![alice.clone()]);

    let start_tls = connector_with(&server, json!({ "startTls": true, "caCertificatePem": ca }));
    start_tls.probe().await.unwrap();
    start_tls.remove(&group, &alice).await.unwrap();
    assert_eq!(listed(&start_tls, &group).await, Vec::<String>::new());

    // Without the CA, the server's certificate is not trusted.
    let untrusted = connector_with(&server, json!({ "url": server.ldaps_url().unwrap() }));
    assert!(matches!(
        untrusted.probe().await,
        Err(ConnectorError::Unavailable(_))
    ));
}

#[tokio::test]
async fn two_hundred_concurrent_changes_through_one_connector() {
    let Some(server) = slapd().await else { return };
    let uids: Vec<String> = (0..200).map(|i| format!("user{i:03}")).collect();
    let users: Vec<(&str, String)> = uids
        .iter()
        .map(|uid| (uid.as_str(), format!("{uid}@example.org")))
        .collect();
    let pairs: Vec<(&str, &str)> = users.iter().map(|(u, m)| (*u, m.as_str())).collect();
    let dns = server.add_users(&pairs).await;
    let group = server.add_group_of_names("many", &[]).await;
    let ldap = Arc::new(connector(&server));

    let changes = dns.iter().cloned().map(|dn| {
        let (ldap, group) = (ldap.clone(), group.clone());
        tokio::spawn(async move { ldap.add(&group, &dn).await })
    });
    for result in futures_join(changes).await {
        result.unwrap();
    }
    assert_eq!(server.group_members(&group).await.len(), 200);

    // Remove all but the first 10, while adding those 10 again.
    let changes = dns.iter().enumerate().map(|(i, dn)| {
        let (ldap, group, dn) = (ldap.clone(), group.clone(), dn.clone());
        tokio::spawn(async move {
            if i < 10 {
                ldap.add(&group, &dn).await
            } else {
                ldap.remove(&group, &dn).await
            }
        })
    });
    for result in futures_join(changes).await {
        result.unwrap();
    }
    let mut kept: Vec<String> = dns[..10].to_vec();
    kept.sort();
    assert_eq!(listed(&ldap, &group).await, kept);

    // Everyone out at once, racing for the last place.
    let changes = dns.iter().cloned().map(|dn| {
        let (ldap, group) = (ldap.clone(), group.clone());
        tokio::spawn(async move { ldap.remove(&group, &dn).await })
    });
    for result in futures_join(changes).await {
        result.unwrap();
    }
    assert_eq!(listed(&ldap, &group).await, Vec::<String>::new());
    assert_eq!(server.group_members(&group).await, vec![server.admin_dn()]);
}

async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, ConnectorError>>>,
) -> Vec<Result<T, ConnectorError>> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.expect("task"));
    }
    results
}

#[test]
fn good_settings_parse_with_defaults() {
    let settings = LdapSettings::parse(&json!({
        "url": "ldaps://dc1.corp.example:636",
        "bindDn": "CN=svc-eligo,OU=Service Accounts,DC=corp,DC=example",
        "bindPassword": "s3cret-value",
        "userBaseDn": "OU=Users,DC=corp,DC=example",
        "userAttribute": "sAMAccountName",
    }))
    .unwrap();
    assert!(!settings.start_tls);
    assert_eq!(settings.timeout_seconds, 10);
    assert_eq!(
        settings.placeholder(),
        "CN=svc-eligo,OU=Service Accounts,DC=corp,DC=example"
    );
    assert_eq!(settings.user_attribute.name(), "sAMAccountName");
    assert_eq!(SECRET_FIELDS, &["bindPassword"]);

    let debug = format!("{settings:?}");
    assert!(!debug.contains("s3cret-value"), "{debug}");
    assert!(debug.contains("svc-eligo"), "{debug}");
}

#[test]
fn every_bad_field_is_named() {
    let errors = LdapSettings::parse(&json!({
        "url": "ldaps://dc1.corp.example",
        "startTls": true,
        "bindDn": "not a dn",
        "bindPassword": "",
        "userBaseDn": "",
        "userAttribute": "objectGUID",
        "matchOn": "displayName",
        "groupType": "group",
        "emptyGroupPlaceholder": "cn=x,,dc=y",
        "caCertificatePem": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        "timeoutSeconds": 0,
        "colour": "blue",
    }))
    .unwrap_err();
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "bindDn",
            "bindPassword",
            "caCertificatePem",
            "colour",
            "emptyGroupPlaceholder",
            "groupType",
            "matchOn",
            "startTls",
            "timeoutSeconds",
            "userAttribute",
            "userBaseDn",
        ],
        "{errors:?}"
    );

    let fields_of = |value: Value| -> Vec<String> {
        LdapSettings::parse(&value)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    };
    assert_eq!(
        fields_of(json!({})),
        vec!["url", "bindDn", "bindPassword", "userBaseDn"]
    );
    assert_eq!(fields_of(json!("ldap://x")), vec!["settings"]);
    let base = |url: &str| json!({ "url": url, "bindDn": "cn=a,dc=b", "bindPassword": "p", "userBaseDn": "dc=b" });
    for url in [
        "http://dc1",
        "ldap://",
        "dc1.corp.example",
        "ldap://u:p@dc1",
        "ldap://dc1/dc=x?uid",
    ] {
        assert_eq!(fields_of(base(url)), vec!["url"], "{url}");
    }
    let mut plain_with_ca = base("ldap://dc1");
    plain_with_ca["caCertificatePem"] = json!("x");
    assert!(fields_of(plain_with_ca).contains(&"caCertificatePem".to_string()));
    let mut wrong_types = base("ldap://dc1");
    wrong_types["startTls"] = json!("yes");
    wrong_types["timeoutSeconds"] = json!(500);
    wrong_types["bindPassword"] = json!(42);
    let mut fields = fields_of(wrong_types);
    fields.sort();
    assert_eq!(fields, vec!["bindPassword", "startTls", "timeoutSeconds"]);
    assert!(LdapSettings::parse(&base("ldap://127.0.0.1:3389/")).is_ok());
}

#[test]
fn targets_are_group_dns() {
    assert!(validate_target("cn=ops,ou=groups,dc=example,dc=org").is_ok());
    assert!(validate_target("CN=Tier 0 Admins,OU=Groups,DC=corp,DC=example").is_ok());
    for bad in ["", "ops", "cn=ops,", "cn=a;b,dc=x"] {
        assert!(validate_target(bad).is_err(), "{bad}");
    }
}
