//! `service1`: one of the two team services behind the external API. Its API is
//! [`sample_service`]; this binary only names it.

fn main() -> std::process::ExitCode {
    sample_service::main("service1")
}
