//! The store's side of entitlement management: catalogs, their resources with roles and root
//! scopes, access packages with their resource role scopes, assignment policies, and the
//! separation-of-duties rules. Each record is stored as the core's JSON beside the columns that
//! are looked up or joined on; the JSON is the truth and the columns are derived from it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::entitlement::assignment::{Assignment, AssignmentState};
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::extension::CustomExtension;
use eligo_core::entitlement::package::{AccessPackage, ResourceRoleScope};
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use eligo_core::entitlement::resource::{
    NewResource, OriginSystem, Resource, ResourceRole, ResourceScope,
};
use uuid::Uuid;

use crate::Result;

/// Which assignment requests to list (every field given must match).
#[derive(Debug, Clone, Default)]
pub struct AssignmentRequestQuery {
    pub target: Option<Uuid>,
    pub requestor: Option<Uuid>,
    pub package: Option<Uuid>,
    /// Only requests in this state (e.g. those waiting for approval).
    pub state: Option<RequestState>,
}

/// Which assignments to list (every field given must match).
#[derive(Debug, Clone, Default)]
pub struct AssignmentQuery {
    pub package: Option<Uuid>,
    pub target: Option<Uuid>,
    pub state: Option<AssignmentState>,
}

#[async_trait]
pub trait EntitlementTx: Send {
    // Catalogs.
    async fn insert_catalog(&mut self, catalog: &Catalog) -> Result<()>;
    /// Replaces the stored catalog with the same id. False when none.
    async fn update_catalog(&mut self, catalog: &Catalog) -> Result<bool>;
    async fn get_catalog(&mut self, id: Uuid) -> Result<Option<Catalog>>;
    /// Oldest first.
    async fn list_catalogs(&mut self) -> Result<Vec<Catalog>>;
    /// Removes the catalog with its resources. Refused by the database (an error) while it
    /// holds packages: the use case checks first and answers why. False when none.
    async fn delete_catalog(&mut self, id: Uuid) -> Result<bool>;

    // Resources, with their roles and root scope (written and removed together).
    /// A resource already in the catalog (same origin) is a `Conflict`.
    async fn insert_resource(&mut self, new: &NewResource) -> Result<()>;
    async fn get_resource(&mut self, id: Uuid) -> Result<Option<Resource>>;
    async fn find_resource(
        &mut self,
        catalog: Uuid,
        origin_system: OriginSystem,
        origin_id: &str,
    ) -> Result<Option<Resource>>;
    async fn list_resources(&mut self, catalog: Uuid) -> Result<Vec<Resource>>;
    /// Removes the resource, its roles and its scope. False when none.
    async fn delete_resource(&mut self, id: Uuid) -> Result<bool>;
    /// The roles of a catalog's resources (or of one resource).
    async fn list_resource_roles(
        &mut self,
        catalog: Uuid,
        resource: Option<Uuid>,
    ) -> Result<Vec<ResourceRole>>;
    async fn get_resource_role(&mut self, id: Uuid) -> Result<Option<ResourceRole>>;
    async fn list_resource_scopes(&mut self, resource: Uuid) -> Result<Vec<ResourceScope>>;
    async fn get_resource_scope(&mut self, id: Uuid) -> Result<Option<ResourceScope>>;
    /// The packages that use a role of this resource.
    async fn packages_using_resource(&mut self, resource: Uuid) -> Result<Vec<Uuid>>;
    /// The origin ids of every resource of this kind in any catalog, each once (the groups
    /// that are catalog resources are protected groups, threat-model rule 3).
    async fn catalog_origin_ids(&mut self, origin_system: OriginSystem) -> Result<Vec<String>>;
    /// The packages that use a role of any catalog's resource with this origin (a group or a
    /// directory role), each once.
    async fn packages_using_origin(
        &mut self,
        origin_system: OriginSystem,
        origin_id: &str,
    ) -> Result<Vec<Uuid>>;
    /// Removes every catalog's resource with this origin (with its roles and scope); the
    /// caller made sure no package uses them. How many went.
    async fn delete_resources_of_origin(
        &mut self,
        origin_system: OriginSystem,
        origin_id: &str,
    ) -> Result<u64>;

    // Custom extensions.
    async fn insert_custom_extension(&mut self, extension: &CustomExtension) -> Result<()>;
    /// False when none has this id.
    async fn update_custom_extension(&mut self, extension: &CustomExtension) -> Result<bool>;
    async fn get_custom_extension(&mut self, id: Uuid) -> Result<Option<CustomExtension>>;
    /// A catalog's extensions, oldest first.
    async fn list_custom_extensions(&mut self, catalog: Uuid) -> Result<Vec<CustomExtension>>;
    async fn delete_custom_extension(&mut self, id: Uuid) -> Result<bool>;

    // Access packages.
    async fn insert_package(&mut self, package: &AccessPackage) -> Result<()>;
    async fn update_package(&mut self, package: &AccessPackage) -> Result<bool>;
    async fn get_package(&mut self, id: Uuid) -> Result<Option<AccessPackage>>;
    /// Every package (of one catalog), oldest first.
    async fn list_packages(&mut self, catalog: Option<Uuid>) -> Result<Vec<AccessPackage>>;
    /// Removes the package with its role scopes, policies and incompatibility rules (both
    /// directions). False when none.
    async fn delete_package(&mut self, id: Uuid) -> Result<bool>;

    /// False when the package has the role at the scope already.
    async fn add_role_scope(&mut self, role_scope: &ResourceRoleScope) -> Result<bool>;
    async fn remove_role_scope(&mut self, package: Uuid, role: Uuid, scope: Uuid) -> Result<bool>;
    async fn list_role_scopes(&mut self, package: Uuid) -> Result<Vec<ResourceRoleScope>>;

    // Assignment policies.
    async fn insert_assignment_policy(&mut self, policy: &AssignmentPolicy) -> Result<()>;
    async fn update_assignment_policy(&mut self, policy: &AssignmentPolicy) -> Result<bool>;
    async fn get_assignment_policy(&mut self, id: Uuid) -> Result<Option<AssignmentPolicy>>;
    /// Every policy (of one package), oldest first.
    async fn list_assignment_policies(
        &mut self,
        package: Option<Uuid>,
    ) -> Result<Vec<AssignmentPolicy>>;
    async fn delete_assignment_policy(&mut self, id: Uuid) -> Result<bool>;

    // Separation of duties, as declared (`package` declared `other` incompatible).
    /// False when declared already.
    async fn add_incompatible_package(
        &mut self,
        package: Uuid,
        other: Uuid,
        at: i64,
    ) -> Result<bool>;
    async fn remove_incompatible_package(&mut self, package: Uuid, other: Uuid) -> Result<bool>;
    /// What `package` declared.
    async fn incompatible_packages(&mut self, package: Uuid) -> Result<Vec<Uuid>>;
    /// The packages that declared `package` incompatible (the reverse direction).
    async fn packages_incompatible_with(&mut self, package: Uuid) -> Result<Vec<Uuid>>;
    async fn add_incompatible_group(&mut self, package: Uuid, group: Uuid, at: i64)
    -> Result<bool>;
    async fn remove_incompatible_group(&mut self, package: Uuid, group: Uuid) -> Result<bool>;
    async fn incompatible_groups(&mut self, package: Uuid) -> Result<Vec<Uuid>>;
    /// Every rule, for the separation-of-duties decision.
    async fn incompatibility_rules(
        &mut self,
    ) -> Result<eligo_core::entitlement::incompatible::Rules>;

    // Assignment requests.
    async fn insert_assignment_request(&mut self, request: &AssignmentRequest) -> Result<()>;
    /// Replaces the stored request with the same id. False when none.
    async fn update_assignment_request(&mut self, request: &AssignmentRequest) -> Result<bool>;
    async fn get_assignment_request(&mut self, id: Uuid) -> Result<Option<AssignmentRequest>>;
    /// Newest first.
    async fn list_assignment_requests(
        &mut self,
        query: &AssignmentRequestQuery,
    ) -> Result<Vec<AssignmentRequest>>;

    /// Requests waiting for approval whose current stage's deadline is at or before `now`,
    /// the earliest first, at most `limit` (`due_at`, kept from `AssignmentRequest::deadline`
    /// by every insert and update).
    async fn due_assignment_requests(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AssignmentRequest>>;

    // Assignments.
    async fn insert_assignment(&mut self, assignment: &Assignment) -> Result<()>;
    /// Replaces the stored assignment with the same id (its due time follows from it). False
    /// when none.
    async fn update_assignment(&mut self, assignment: &Assignment) -> Result<bool>;
    async fn get_assignment(&mut self, id: Uuid) -> Result<Option<Assignment>>;
    /// Oldest first.
    async fn list_assignments(&mut self, query: &AssignmentQuery) -> Result<Vec<Assignment>>;
    /// Live assignments whose end is at or before `now`, the earliest first, at most `limit`.
    async fn due_assignments(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Assignment>>;

    // Notices the scheduler owes (migration 0013).
    /// Sets (or clears) when the assignment's next "ends soon" reminder is owed. False when
    /// none. `update_assignment` clears it when the assignment expires.
    async fn set_assignment_reminder(
        &mut self,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool>;
    /// Assignments whose reminder is owed at or before `now`, the earliest first, at most
    /// `limit`, each with when it was owed.
    async fn due_assignment_reminders(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Assignment, DateTime<Utc>)>>;
    /// Sets (or clears) when the waiting request's current stage escalates (its escalation
    /// approvers are mailed then). False when none. `update_assignment_request` clears it once
    /// the request no longer waits for approval.
    async fn set_request_notice(&mut self, id: Uuid, at: Option<DateTime<Utc>>) -> Result<bool>;
    /// Requests whose escalation notice is owed at or before `now`, the earliest first, at most
    /// `limit`.
    async fn due_request_notices(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AssignmentRequest>>;
}
