//! The one integration-test binary: a module per API, plus shared helpers.

mod support;

#[cfg(feature = "cronofy")]
mod cronofy;

#[cfg(feature = "timesync")]
mod timesync;
