//! Eligo: a self-hosted just-in-time Privileged Identity Management server. This crate is the
//! server binary's library: HTTP API, authentication, use cases, configuration and the CLI.
//! The domain lives in `eligo-core`, storage in `eligo-store` (see ARCHITECTURE.md).

pub mod api;
pub mod app;
pub mod auth;
pub mod checkpoint;
pub mod cli;
pub mod clock;
pub mod clock_watch;
pub mod config;
pub mod connectors;
pub mod edge;
pub mod error;
pub mod export;
pub mod failure;
pub mod keys;
pub mod listener;
pub mod notify;
pub mod openapi;
pub mod outbound;
pub mod outbox;
pub mod portal;
pub mod provisioning;
pub mod router;
pub mod server;
pub mod service;
pub mod waker;
pub mod wiring;
