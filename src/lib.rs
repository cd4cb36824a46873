//! lotus-rest: a resource-oriented REST API with a generated OpenAPI spec in front of Lotus.

pub mod addr;
pub mod auth;
pub mod error;
pub mod lotus;
pub mod upstream;

/// What every handler can reach.
pub struct AppState {
    pub auth: auth::AuthConfig,
    pub node: upstream::Client,
}
