//! Modes without a terminal UI, for scripts: `sub`, `pub`, `doctor`, `clean-retained`.

pub mod clean;
pub mod doctor;
pub mod publish;
pub mod render;
pub mod sub;
