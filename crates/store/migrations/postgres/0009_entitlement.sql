-- Entitlement management. Each record's JSON (`data`) is the truth; the other columns are
-- derived from it to look up and join on. Times are microseconds since the Unix epoch.

CREATE TABLE em_catalogs (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);

-- A group or a directory role in a catalog, once per catalog. No reference to the principal
-- or role: the resource outlives neither silently, the use cases check (see ARCHITECTURE.md).
CREATE TABLE em_resources (
    id TEXT PRIMARY KEY,
    catalog_id TEXT NOT NULL REFERENCES em_catalogs (id),
    origin_system TEXT NOT NULL,
    origin_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (catalog_id, origin_system, origin_id)
);
CREATE INDEX em_resources_origin ON em_resources (origin_system, origin_id);

CREATE TABLE em_resource_roles (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES em_resources (id) ON DELETE CASCADE,
    catalog_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX em_resource_roles_catalog ON em_resource_roles (catalog_id);
CREATE INDEX em_resource_roles_resource ON em_resource_roles (resource_id);

CREATE TABLE em_resource_scopes (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES em_resources (id) ON DELETE CASCADE,
    data TEXT NOT NULL
);
CREATE INDEX em_resource_scopes_resource ON em_resource_scopes (resource_id);

CREATE TABLE em_packages (
    id TEXT PRIMARY KEY,
    catalog_id TEXT NOT NULL REFERENCES em_catalogs (id),
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX em_packages_catalog ON em_packages (catalog_id);

-- A resource role at a scope in a package. A role in use cannot go (no cascade): removing a
-- resource from its catalog while a package uses it is refused.
CREATE TABLE em_role_scopes (
    package_id TEXT NOT NULL REFERENCES em_packages (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES em_resource_roles (id),
    scope_id TEXT NOT NULL REFERENCES em_resource_scopes (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (package_id, role_id, scope_id)
);
CREATE INDEX em_role_scopes_role ON em_role_scopes (role_id);

CREATE TABLE em_policies (
    id TEXT PRIMARY KEY,
    package_id TEXT NOT NULL REFERENCES em_packages (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX em_policies_package ON em_policies (package_id);

-- Separation of duties as declared: `package_id` declared `other_id` (or `group_id`)
-- incompatible; enforced both ways.
CREATE TABLE em_incompatible_packages (
    package_id TEXT NOT NULL REFERENCES em_packages (id) ON DELETE CASCADE,
    other_id TEXT NOT NULL REFERENCES em_packages (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (package_id, other_id)
);
CREATE INDEX em_incompatible_packages_other ON em_incompatible_packages (other_id);

CREATE TABLE em_incompatible_groups (
    package_id TEXT NOT NULL REFERENCES em_packages (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (package_id, group_id)
);
CREATE INDEX em_incompatible_groups_group ON em_incompatible_groups (group_id);
