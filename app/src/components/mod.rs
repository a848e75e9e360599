pub mod format;
pub mod layout;
pub mod live;
pub mod prediction;
pub mod quality_chart;
pub mod server_check;
pub mod session;
pub mod stage_card;
