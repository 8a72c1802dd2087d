//! A small program for the kit's own tests. Its arguments are steps, run in order:
//!
//! - `out TEXT` / `err TEXT`: a line on stdout / stderr
//! - `env NAME`: the variable's value (or `<unset>`) on stdout
//! - `listen PORT`: accept TCP connections on 127.0.0.1:PORT from now on (and close them)
//! - `sleep MS`: pause
//! - `pidfile PATH`: write its process id to PATH
//! - `exit CODE`: exit with that code
//! - `wait`: run until killed
//!
//! With no `exit`, it exits 0 after the last step.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    while let Some(step) = args.next() {
        let mut operand = || {
            args.next()
                .unwrap_or_else(|| panic!("`{step}` needs an operand"))
        };
        match step.as_str() {
            "out" => println!("{}", operand()),
            "err" => eprintln!("{}", operand()),
            "env" => {
                let name = operand();
                println!(
                    "{}",
                    std::env::var(&name).unwrap_or_else(|_| "<unset>".into())
                );
            }
            "listen" => {
                let port: u16 = operand().parse().expect("a port");
                let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind");
                std::thread::spawn(move || for _ in listener.incoming() {});
            }
            "pidfile" => {
                std::fs::write(operand(), std::process::id().to_string()).expect("pid file")
            }
            "sleep" => std::thread::sleep(Duration::from_millis(operand().parse().expect("ms"))),
            "exit" => {
                let _ = std::io::stdout().flush();
                std::process::exit(operand().parse().expect("a code"));
            }
            "wait" => loop {
                std::thread::park();
            },
            other => panic!("unknown step {other:?}"),
        }
    }
}
