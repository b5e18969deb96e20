pub mod adjustments;
pub mod clock;
pub mod money;
pub mod numbering;
pub mod pricing;
pub mod validate;
