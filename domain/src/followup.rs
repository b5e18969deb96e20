pub mod emails;
pub mod gallery;
pub mod reminders;
