//! Integration tests: the gateway in front of the simulated Lotus node, over real HTTP on 127.0.0.1.

mod common;

mod cache;
mod catalog;
mod cli;
mod client;
mod cluster;
mod deploy;
mod errors;
mod exposure;
mod faults;
mod layers;
mod limits;
mod modes;
mod monitoring;
mod permissions;
mod pool;
mod properties;
mod routes;
mod rpc;
mod spec;
mod streams;
mod table;
mod tipsets;
mod websocket;

mod res_chain;
mod res_market;
mod res_miners;
mod res_net;
mod res_paych;
mod res_state;
mod res_wallet;

mod miner;
mod res_miner_info;
mod res_miner_sectors;
mod res_miner_storage;
