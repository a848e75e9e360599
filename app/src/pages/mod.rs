pub mod history;
pub mod pipeline;
pub mod run_detail;
pub mod settings;
