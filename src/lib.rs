//! lotus-rest: a resource-oriented REST API with a generated OpenAPI spec in front of Lotus.
//!
//! The modules, from the bottom up: `lotus` (what the gateway knows of Lotus; it imports nothing else of the
//! crate), `sim` (the simulated node, on `lotus` alone), then `error`, `metrics`, `upstream`, `shape`, `streams`,
//! `hangup`, `head`, `auth`, `ratelimit`, `settings`; `state` (what every handler can reach), `extract` (what a handler takes
//! from a request), `routes`, `middleware`, `openapi`, `app` (the routes and middleware made into one application)
//! and `server`. Each imports only from below it.

pub mod addr;
pub mod app;
pub mod auth;
pub mod cluster;
pub mod error;
pub mod extract;
pub mod hangup;
pub mod head;
pub mod lean;
pub mod logging;
pub mod lotus;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pool;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod settings;
pub mod shape;
pub mod sim;
pub mod state;
pub mod streams;
pub mod tls;
pub mod upstream;

pub use app::{app, openapi, openapi_with, HttpOptions, Spec};
pub use state::{AppState, HeadTracker, Limits, Network, Readiness, READY_FOR};
