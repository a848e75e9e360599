//! The pipeline Lakeline manages: its definition (the three jobs) and the tracker that turns the
//! jobs' runs into pipeline runs.

pub mod definition;
pub mod lineage;
pub mod tracker;
