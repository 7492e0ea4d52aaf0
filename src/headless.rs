//! Modes without a terminal UI, for scripts: `sub`, `pub`, `doctor`, `clean-retained`,
//! `config`, `completions`, `man`.

pub mod clean;
pub mod config;
pub mod doctor;
pub mod publish;
pub mod render;
pub mod sub;
