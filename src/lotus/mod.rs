//! What the gateway knows of Lotus: its methods and permissions, its tokens, its JSON types, its addresses and CIDs.
//! The bottom of the crate: it imports nothing else of it.

pub mod address;
pub mod amount;
pub mod dialect;
pub mod gojson;
pub mod history;
pub mod methods;
pub mod miner;
pub mod paych;
pub mod perm;
pub mod rpc;
pub mod sealing;
pub mod token;
pub mod types;
pub mod verifreg;
pub mod wallet;

pub use perm::{Perm, PermSet};
