//! The web portal, driven in-process through its forms (`browser.rs`), and in a real
//! Chromium (`e2e.rs`).

pub mod browser;

mod access;
mod admin_directory;
mod admin_pim;
mod alerts;
mod approvals;
mod audit;
mod e2e;
mod e2e_passkey;
mod entitlement_admin;
mod layers;
mod my_roles;
mod passkeys;
mod picker;
mod review_admin;
mod reviews;
mod role_settings;
mod sign_in;
mod templates;
