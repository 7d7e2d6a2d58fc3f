//! Principals as Graph shows them: each with its `@odata.type`, so mixed collections (members,
//! owners, transitive memberships) say what each entry is.

use eligo_core::directory::{Group, PrincipalKind, ServicePrincipal, User};
use eligo_store::Tx;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::service::directory::DirectoryObject;

pub fn user(u: &User) -> Value {
    let mut v = json!(u);
    v["@odata.type"] = json!("#microsoft.graph.user");
    v
}

/// Graph's `identities` of a user: its user principal name and the single sign-on identity
/// it is bound to, if any.
pub fn identities(u: &User, federated: Option<&eligo_store::SignInIdentityRow>) -> Value {
    use crate::service::directory::identities::{FEDERATED, USER_PRINCIPAL_NAME};
    let domain = u
        .user_principal_name
        .rsplit_once('@')
        .map_or("", |(_, d)| d);
    let mut list = vec![json!({
        "signInType": USER_PRINCIPAL_NAME,
        "issuer": domain,
        "issuerAssignedId": u.user_principal_name,
    })];
    if let Some(f) = federated {
        list.push(json!({
            "signInType": FEDERATED,
            "issuer": f.issuer,
            "issuerAssignedId": f.subject,
        }));
    }
    Value::Array(list)
}

pub fn group(g: &Group) -> Value {
    let mut v = json!(g);
    v["@odata.type"] = json!("#microsoft.graph.group");
    v["groupTypes"] = json!([]);
    v["mailEnabled"] = json!(false);
    v
}

pub fn service_principal(s: &ServicePrincipal) -> Value {
    let mut v = json!(s);
    v["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
    v
}

/// The directory object for `id`, or None if it no longer exists.
pub async fn load(tx: &mut dyn Tx, id: Uuid) -> ApiResult<Option<Value>> {
    Ok(match tx.principal_kind(id).await? {
        Some(PrincipalKind::User) => tx.get_user(id).await?.map(|u| user(&u)),
        Some(PrincipalKind::Group) => tx.get_group(id).await?.map(|g| group(&g)),
        Some(PrincipalKind::ServicePrincipal) => tx
            .get_service_principal(id)
            .await?
            .map(|s| service_principal(&s)),
        None => None,
    })
}

/// An object read by a directory use case, shaped as Graph shows it.
pub fn object(o: &DirectoryObject) -> Value {
    match o {
        DirectoryObject::User(u) => user(u),
        DirectoryObject::Group(g) => group(g),
        DirectoryObject::ServicePrincipal(s) => service_principal(s),
    }
}

/// Several of them, as a collection's values.
pub fn objects(all: &[DirectoryObject]) -> Vec<Value> {
    all.iter().map(object).collect()
}
