-- Custom extensions of a catalog (accessPackageAssignmentRequestWorkflowExtension): the core's
-- JSON beside the catalog they belong to. They go with their catalog. Each extension's signing
-- secret is a sealed server secret named `custom-extension:{id}`, not kept here.
CREATE TABLE em_custom_extensions (
    id TEXT PRIMARY KEY,
    catalog_id TEXT NOT NULL REFERENCES em_catalogs (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX em_custom_extensions_catalog ON em_custom_extensions (catalog_id);
