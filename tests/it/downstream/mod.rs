//! Downstream delivery against real components: slapd (LDAP), scim2-server (SCIM), maildev
//! (SMTP), and webhook receivers on loopback.

mod ldap;
mod mail;
pub(crate) mod scim;
mod webhook;
