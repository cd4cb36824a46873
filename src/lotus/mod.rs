//! What the gateway knows of Lotus: its methods and permissions, its JSON types, its addresses and CIDs.

pub mod address;
pub mod amount;
pub mod methods;
pub mod types;
