pub mod audit;
pub mod history;
pub mod pipeline;
pub mod run_detail;
pub mod settings;
pub mod sign_in;
pub mod tokens;
pub mod users;
