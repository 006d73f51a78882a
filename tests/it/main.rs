//! The one integration-test binary: a module per API, plus the runtime.
