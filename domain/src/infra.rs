pub mod context;
pub mod db;
pub mod error;
pub mod secrets;
pub mod settings;
pub mod telemetry;
