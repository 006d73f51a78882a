//! The one integration-test binary: a module per API, plus shared helpers.

mod support;

#[cfg(feature = "cronofy")]
mod cronofy;

#[cfg(feature = "timesync")]
mod timesync;

#[cfg(all(feature = "timesync", feature = "sandbox"))]
mod timesync_sandbox;

#[cfg(all(feature = "cronofy", feature = "sandbox"))]
mod cronofy_sandbox;
