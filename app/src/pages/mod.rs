pub mod history;
pub mod pipeline;
pub mod settings;
