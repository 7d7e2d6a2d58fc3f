//! What an entitlement-management reader reads (see [`super::Reader`]).

use eligo_core::directory::Group;
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::resource::{Resource, ResourceRole};
use uuid::Uuid;

use super::Reader;
use super::packages::RoleScopeView;
use crate::failure::{Failure, UseCaseResult};

impl Reader<'_> {
    pub async fn catalogs(&self) -> UseCaseResult<Vec<Catalog>> {
        Ok(self.tx().await?.list_catalogs().await?)
    }

    pub async fn catalog(&self, id: Uuid) -> UseCaseResult<Catalog> {
        self.tx()
            .await?
            .get_catalog(id)
            .await?
            .ok_or_else(|| Failure::not_found("catalog"))
    }

    pub async fn resources(&self, catalog: Uuid) -> UseCaseResult<Vec<Resource>> {
        self.catalog(catalog).await?;
        Ok(self.tx().await?.list_resources(catalog).await?)
    }

    pub async fn resource_roles(&self, catalog: Uuid) -> UseCaseResult<Vec<ResourceRole>> {
        self.catalog(catalog).await?;
        Ok(self.tx().await?.list_resource_roles(catalog, None).await?)
    }

    /// Every package, or a catalog's (which must exist).
    pub async fn packages(&self, catalog: Option<Uuid>) -> UseCaseResult<Vec<AccessPackage>> {
        if let Some(c) = catalog {
            self.catalog(c).await?;
        }
        Ok(self.tx().await?.list_packages(catalog).await?)
    }

    pub async fn package(&self, id: Uuid) -> UseCaseResult<AccessPackage> {
        self.tx()
            .await?
            .get_package(id)
            .await?
            .ok_or_else(|| Failure::not_found("access package"))
    }

    /// A package's resource roles at their scopes, with the role, scope and resource each names.
    pub async fn role_scopes(&self, package: Uuid) -> UseCaseResult<Vec<RoleScopeView>> {
        let mut tx = self.tx().await?;
        let mut out = Vec::new();
        for role_scope in tx.list_role_scopes(package).await? {
            let (Some(role), Some(scope)) = (
                tx.get_resource_role(role_scope.role_id).await?,
                tx.get_resource_scope(role_scope.scope_id).await?,
            ) else {
                return Err(Failure::internal(
                    "resource role scope",
                    format!("{} names a missing role or scope", role_scope.id()),
                ));
            };
            let resource = tx.get_resource(role.resource_id).await?;
            out.push(RoleScopeView {
                role_scope,
                role,
                scope,
                resource,
            });
        }
        Ok(out)
    }

    /// Every policy, or a package's.
    pub async fn policies(&self, package: Option<Uuid>) -> UseCaseResult<Vec<AssignmentPolicy>> {
        Ok(self.tx().await?.list_assignment_policies(package).await?)
    }

    pub async fn policy(&self, id: Uuid) -> UseCaseResult<AssignmentPolicy> {
        self.tx()
            .await?
            .get_assignment_policy(id)
            .await?
            .ok_or_else(|| Failure::not_found("assignment policy"))
    }

    /// The packages `package` declared incompatible (`reverse`: those that declared it).
    pub async fn incompatible_packages(
        &self,
        package: Uuid,
        reverse: bool,
    ) -> UseCaseResult<Vec<AccessPackage>> {
        self.package(package).await?;
        let mut tx = self.tx().await?;
        let ids = if reverse {
            tx.packages_incompatible_with(package).await?
        } else {
            tx.incompatible_packages(package).await?
        };
        let mut out = Vec::new();
        for id in ids {
            out.extend(tx.get_package(id).await?);
        }
        Ok(out)
    }

    pub async fn incompatible_groups(&self, package: Uuid) -> UseCaseResult<Vec<Group>> {
        self.package(package).await?;
        let mut tx = self.tx().await?;
        let mut out = Vec::new();
        for id in tx.incompatible_groups(package).await? {
            out.extend(tx.get_group(id).await?);
        }
        Ok(out)
    }
}
