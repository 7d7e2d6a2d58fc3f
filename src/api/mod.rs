//! The HTTP API: thin handlers that parse, call a use case in `service`, and shape the answer
//! like Microsoft Graph. Each module registers its routes with their OpenAPI descriptions.

pub mod access;
pub mod access_pass;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod body;
pub mod caller;
pub mod connectors;
pub mod directory_object;
pub mod entitlement;
pub mod groups;
pub mod health;
pub mod limits;
pub mod links;
pub mod me;
pub mod odata;
pub mod outbox;
pub mod passkeys;
pub mod pim;
pub mod pim_alerts;
pub mod policies;
pub mod reviews;
pub mod roles;
pub mod schemas;
pub mod scim;
pub mod scim_clients;
pub mod service_principals;
pub mod subscriptions;
pub mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::routes())
        .merge(access::routes())
        .merge(auth::routes())
        .merge(me::routes())
        .merge(passkeys::routes())
        .merge(users::routes())
        .merge(access_pass::routes())
        .merge(groups::routes())
        .merge(service_principals::routes())
        .merge(roles::routes())
        .merge(audit::routes())
        .merge(policies::routes())
        .merge(pim::routes())
        .merge(connectors::routes())
        .merge(outbox::routes())
        .merge(subscriptions::routes())
        .merge(alerts::routes())
        .merge(entitlement::routes())
        .merge(pim_alerts::routes())
        .merge(reviews::routes())
        .merge(scim_clients::routes())
}
