//! SCIM settings: every problem named by its field, defaults, and a token that never shows.

use eligo::connectors::scim::{
    SECRET_FIELDS, ScimConnector, ScimSettings, UserNameFrom, validate_target,
};
use serde_json::json;

/// The fields named in the errors for `settings`, sorted.
fn bad_fields(settings: serde_json::Value) -> Vec<String> {
    let errors = ScimSettings::parse(&settings).expect_err("should be refused");
    let mut fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
    fields.sort();
    fields
}

#[test]
fn good_settings_parse_with_defaults() {
    let s = ScimSettings::parse(&json!({
        "baseUrl": "https://app.example/scim/v2",
        "bearerToken": "abc.DEF-123_~+/=",
    }))
    .expect("valid");
    assert_eq!(s.base_url, "https://app.example/scim/v2");
    assert_eq!(s.bearer_token.expose(), "abc.DEF-123_~+/=");
    assert_eq!(s.user_name_from, UserNameFrom::UserPrincipalName);
    assert_eq!(s.timeout_seconds, 10);
    assert_eq!(s.ca_certificate_pem, None);

    let s = ScimSettings::parse(&json!({
        "baseUrl": "http://127.0.0.1:8080/",
        "bearerToken": "t",
        "userNameFrom": "mail",
        "timeoutSeconds": 120,
        "caCertificatePem": null,
    }))
    .expect("valid");
    assert_eq!(s.user_name_from, UserNameFrom::Mail);
    assert_eq!(s.timeout_seconds, 120);
    assert!(ScimConnector::new(s).is_ok());
    assert_eq!(SECRET_FIELDS, &["bearerToken"]);
}

#[test]
fn every_bad_field_is_named() {
    assert_eq!(
        bad_fields(json!({})),
        vec!["baseUrl".to_string(), "bearerToken".to_string()]
    );
    assert_eq!(
        bad_fields(json!({
            "baseUrl": "ftp://app.example/scim",
            "bearerToken": "has space",
            "userNameFrom": "sAMAccountName",
            "timeoutSeconds": 0,
            "caCertificatePem": "not a certificate",
            "password": "x",
        })),
        vec![
            "baseUrl",
            "bearerToken",
            "caCertificatePem",
            "password",
            "timeoutSeconds",
            "userNameFrom"
        ]
    );
    for url in [
        "https://app.example/scim?tenant=1",
        "https://user:pw@app.example/scim",
        "https://app.example/scim#frag",
        "/scim/v2",
        "not a url",
    ] {
        let settings = json!({ "baseUrl": url, "bearerToken": "t" });
        assert_eq!(bad_fields(settings), vec!["baseUrl"], "{url}");
    }
    for timeout in [json!(121), json!(-1), json!(1.5), json!("10")] {
        let settings = json!({ "baseUrl": "https://a.example", "bearerToken": "t", "timeoutSeconds": timeout });
        assert_eq!(bad_fields(settings), vec!["timeoutSeconds"], "{timeout}");
    }
    for token in [json!(""), json!(42), json!("line\nbreak")] {
        let settings = json!({ "baseUrl": "https://a.example", "bearerToken": token });
        assert_eq!(bad_fields(settings), vec!["bearerToken"], "{token}");
    }
    let errors = ScimSettings::parse(&json!("a string")).expect_err("not an object");
    assert_eq!(errors.len(), 1);
}

#[test]
fn debug_never_shows_the_token() {
    let token = "sup3r-s3cret-t0ken";
    let settings = ScimSettings::parse(&json!({
        "baseUrl": "https://app.example/scim/v2",
        "bearerToken": token,
    }))
    .expect("valid");
    let shown = format!("{settings:?}");
    assert!(!shown.contains(token), "{shown}");
    assert!(shown.contains("app.example"), "{shown}");
    let connector =
        ScimConnector::with_outbound(settings, crate::harness::loopback()).expect("connector");
    let shown = format!("{connector:?}");
    assert!(!shown.contains(token), "{shown}");
}

#[test]
fn a_private_ca_is_accepted_in_pem() {
    let settings = ScimSettings::parse(&json!({
        "baseUrl": "https://scim.internal",
        "bearerToken": "t",
        "caCertificatePem": CA_PEM,
    }))
    .expect("valid");
    assert!(ScimConnector::new(settings).is_ok());
}

#[test]
fn targets_are_group_ids_or_names() {
    for good in [
        "Payroll Admins",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "é \"q\"",
    ] {
        assert_eq!(validate_target(good), Ok(()), "{good:?}");
    }
    let long = "x".repeat(257);
    for bad in [
        "",
        "   ",
        "tab\there",
        "line\nbreak",
        " padded ",
        long.as_str(),
    ] {
        assert!(validate_target(bad).is_err(), "{bad:?}");
    }
}

/// A self-signed EC CA (`openssl req -x509`), valid until 2036.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUdowLZSZwca52T6ovPzjYuUXL8IAwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNRWxpZ28gVGVzdCBDQTAeFw0yNjExMjIwNDAyMjFaFw0zNjEx
MTkwNDAyMjFaMBgxFjAUBgNVBAMMDUVsaWdvIFRlc3QgQ0EwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAS4fUiUD22N/2R29KMY5K/HRQKENu0vuaS70Fb8Tb+8duLR
78Of2N+NdR6Iy7aJc0NW3lQNWwHamu5Gdpye4IZTo1MwUTAdBgNVHQ4EFgQUtNT4
Gj6eGRzIDn2JsIeI1sKt7IowHwYDVR0jBBgwFoAUtNT4Gj6eGRzIDn2JsIeI1sKt
7IowDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBL+e3Z1LFa9hiX
lG3aLUFqbKibhnEOcbb+w4hPaBIltwIhAJkUssoaAqgSQQC2mCuC3D/BmsZIuspJ
zdzrbZzj6Wef
-----END CERTIFICATE-----
";
