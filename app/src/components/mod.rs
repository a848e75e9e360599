pub mod layout;
pub mod server_check;
