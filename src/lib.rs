//! servicemap: a subdistrict's 15-minute living circle on a map.
//!
//! Data flows one way: files → [`store`] → [`index`] / [`walk`] → [`analysis`] → [`api`].
//! Nothing below [`api`] knows about HTTP; the same functions serve the CLI, the HTTP
//! handlers and the benchmarks.
#![deny(unsafe_code)] // src/sys.rs alone allows it (malloc_trim)

pub mod analysis;
pub mod api;
pub mod budgets;
pub mod cli;
pub mod edit;
pub mod generate;
pub mod import;
pub mod index;
pub mod model;
pub mod query;
pub mod render;
pub mod service;
mod stages;
pub mod store;
pub mod sys;
pub mod tiles;
pub mod walk;
