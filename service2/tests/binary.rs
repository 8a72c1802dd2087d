//! The `service2` binary keeps the interface contract.

const BIN: &str = env!("CARGO_BIN_EXE_service2");
const NAME: &str = "service2";

include!("../../crates/sample-service/tests/support/binary_contract.rs");
