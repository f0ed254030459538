//! Planning analysis on per-building walking times: coverage, gaps, audit against the
//! standards, siting. No HTTP; the API, the CLI reports and the benchmarks share it.

pub mod audit;
pub mod coverage;
pub mod export;
pub mod gaps;
pub mod planner;
pub mod reach;
pub mod ridges;
pub mod siting;
pub mod stats;
pub mod world;

pub use coverage::{Level, UnitCoverage};
pub use planner::{Change, PlanError, Planner};
pub use world::WalkWorld;
