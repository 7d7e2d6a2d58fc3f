//! Inbound SCIM 2.0 (issue 19, items 3 and 5): the protocol, bad input, and what a
//! provisioning client must never be able to do.

mod protocol;
mod security;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A provisioning client created by the break-glass Global Administrator: (id, token).
pub async fn client(t: &TestApp, name: &str) -> (Uuid, String) {
    let (status, body) = t
        .post(
            "/v1/scim/clients",
            BOOTSTRAP,
            json!({ "displayName": name }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (id_of(&body), body["token"].as_str().unwrap().to_string())
}

/// A SCIM request with `application/scim+json`.
pub async fn scim(
    t: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let uri = path.replace(' ', "%20").replace('"', "%22");
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/scim/v2{uri}"))
        .header("authorization", format!("Bearer {token}"));
    let req = match body {
        Some(b) => req
            .header("content-type", "application/scim+json")
            .body(Body::from(b.to_string())),
        None => {
            req = req.header("accept", "application/scim+json");
            req.body(Body::empty())
        }
    }
    .unwrap();
    t.raw(req).await
}

pub fn user_body(name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": format!("{name}@idp.example"),
        "externalId": format!("ext-{name}"),
        "name": { "givenName": name, "familyName": "Tester" },
        "displayName": format!("{name} Tester"),
        "emails": [{ "value": format!("{name}@mail.example"), "type": "work", "primary": true }],
        "active": true,
    })
}

/// Creates a user through SCIM and returns its id.
pub async fn scim_user(t: &TestApp, token: &str, name: &str) -> Uuid {
    let (status, body) = scim(t, Method::POST, "/Users", token, Some(user_body(name))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Uuid::parse_str(body["id"].as_str().unwrap()).unwrap()
}

pub async fn scim_group(t: &TestApp, token: &str, name: &str, members: &[Uuid]) -> Uuid {
    let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
    let (status, body) = scim(
        t,
        Method::POST,
        "/Groups",
        token,
        Some(json!({ "schemas": [GROUP], "displayName": name, "externalId": format!("g-{name}"), "members": members })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Uuid::parse_str(body["id"].as_str().unwrap()).unwrap()
}

pub fn patch_op(ops: Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": ops })
}

/// Asserts a SCIM error with this status and scimType.
pub fn scim_error(status: StatusCode, body: &Value, want: StatusCode, scim_type: Option<&str>) {
    assert_eq!(status, want, "{body}");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{body}"
    );
    assert_eq!(body["status"], json!(want.as_u16().to_string()), "{body}");
    if let Some(s) = scim_type {
        assert_eq!(body["scimType"], json!(s), "{body}");
    }
}
