pub mod api_keys;
pub mod catalog;
pub mod login_limits;
pub mod seed;
pub mod sessions;
pub mod staff;
pub mod studios;
