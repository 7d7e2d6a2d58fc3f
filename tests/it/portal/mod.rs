//! The web portal, driven in-process through its forms (`browser.rs`), and in a real
//! Chromium (`e2e.rs`).

pub mod browser;

mod sign_in;
