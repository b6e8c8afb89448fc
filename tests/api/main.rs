//! The integration test binary: every test starts the real router on a random port against a
//! real database (see `helpers::TestApp`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binary;
mod browser;
mod helpers;
mod pg;
mod smtp_sink;

mod admin;
mod administrators;
mod api_key;
mod attacks;
mod auth_jwt;
mod authtoken;
mod cache;
mod cli;
mod cli_changes;
mod edge;
mod faults;
mod instances;
mod issuances;
mod last_used;
mod live_tokens;
mod logs;
mod master_key;
mod me;
mod metrics;
mod oauth;
mod partitioning;
mod plumbing;
mod quotas;
mod rate_limit;
mod readme;
mod registry;
mod retention;
mod secrets_at_rest;
mod sign_in;
mod signing;
mod stock_clients;
mod swagger_browser;
mod token_create;
mod web;
mod web_browser;
