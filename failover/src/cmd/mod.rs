//! The commands, one module each: its arguments, what it computes, and what it prints (text and
//! JSON). `activate` and `deactivate` are one command with two actions ([`update`]); `watch`
//! runs `evacuate` by itself when the external API's active region is confirmed down.

pub mod check;
pub mod console;
pub mod plan;
pub mod probe;
pub mod status;
pub mod update;
pub mod watch;
