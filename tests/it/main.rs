//! The one integration-test binary: a module per API, plus shared helpers.

// Some helpers serve only some APIs' tests.
#[cfg_attr(
    not(all(
        feature = "timesync",
        feature = "cronofy",
        feature = "graph",
        feature = "zendesk"
    )),
    allow(dead_code, unused_imports)
)]
mod support;

#[cfg(feature = "sandbox")]
mod spec_examples;

#[cfg(feature = "cronofy")]
mod cronofy;

#[cfg(feature = "graph")]
mod graph;

#[cfg(feature = "timesync")]
mod timesync;

#[cfg(feature = "zendesk")]
mod zendesk;

// The tour's Graph and Zendesk parts (examples/tour) in real-account mode.
#[cfg(all(feature = "sandbox", feature = "graph", feature = "zendesk"))]
mod tour_real;
