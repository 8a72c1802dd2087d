//! The `service1` binary keeps the interface contract.

const BIN: &str = env!("CARGO_BIN_EXE_service1");
const NAME: &str = "service1";

include!("../../crates/sample-service/tests/support/binary_contract.rs");
