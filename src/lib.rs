//! mqscope: explore and debug MQTT. The library holds everything but the binary's entry point,
//! so tests and headless modes use the same core as the TUI.

pub mod alert;
pub mod broker;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod expr;
pub mod fuzz;
pub mod headless;
pub mod logging;
pub mod payload;
#[cfg(test)]
mod props;
pub mod proxy;
pub mod random;
pub mod record;
pub mod retained;
pub mod sanitize;
pub mod secret;
pub mod series;
pub mod signals;
pub mod size;
pub mod source;
pub mod store;
pub mod sys;
pub mod timeline;
pub mod topic;
pub mod tui;
pub mod watch;
pub mod width;
