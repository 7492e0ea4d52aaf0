//! Modes without a terminal UI, for scripts: `sub` and `pub`.

pub mod doctor;
pub mod publish;
pub mod render;
pub mod sub;
