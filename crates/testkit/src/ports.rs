//! Free loopback ports.
//!
//! A port found free is not reserved: another process may take it before the caller binds it.
//! Harnesses that start a binary on such a port retry on other ports when the binary exits during
//! start-up (see [`crate::process::StartFailure::Exited`]).

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};

/// Where [`free_range`] and its kin look: above the well-known and registered ports that services
/// on a developer machine tend to use.
const RANGE: std::ops::Range<u16> = 20_000..60_000;

/// How many random bases are tried before giving up.
const ATTEMPTS: usize = 1_000;

/// A TCP port free on 127.0.0.1, chosen by the operating system.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// The first of `len` consecutive TCP ports free on 127.0.0.1.
pub fn free_range(len: u16) -> u16 {
    free_range_on(len, &[IpAddr::V4(Ipv4Addr::LOCALHOST)])
}

/// The first of `len` consecutive TCP ports free on every one of `addrs` (for a system whose
/// processes listen on several loopback addresses with the same port).
///
/// Panics if no such range turns up after many random tries.
pub fn free_range_on(len: u16, addrs: &[IpAddr]) -> u16 {
    assert!(
        len > 0 && len < RANGE.end - RANGE.start,
        "range of {len} ports"
    );
    for _ in 0..ATTEMPTS {
        let base = fastrand::u16(RANGE.start..RANGE.end - len);
        let free = (base..base + len).all(|port| {
            addrs
                .iter()
                .all(|addr| TcpListener::bind((*addr, port)).is_ok())
        });
        if free {
            return base;
        }
    }
    panic!("no {len} consecutive free ports on {addrs:?}");
}

/// A port free on 127.0.0.1 for both TCP and UDP (a DNS server listens on both).
///
/// Panics if none turns up after many random tries.
pub fn free_tcp_udp_port() -> u16 {
    for _ in 0..ATTEMPTS {
        let port = fastrand::u16(RANGE);
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        {
            return port;
        }
    }
    panic!("no port free for TCP and UDP on 127.0.0.1");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn a_range_is_free_throughout_and_skips_taken_ports() {
        let base = free_range(5);
        assert!(RANGE.contains(&base) && RANGE.contains(&(base + 4)));
        let held: Vec<_> = (base..base + 5)
            .map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap())
            .collect();
        // While they are held, no range found may overlap them.
        for _ in 0..50 {
            let other = free_range(5);
            assert!(
                other + 5 <= base || other >= base + 5,
                "{other} overlaps {base}"
            );
        }
        drop(held);
    }

    #[test]
    fn a_range_on_several_addresses_is_free_on_each() {
        let addrs = [
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(127, 0, 9, 1)),
        ];
        let base = free_range_on(2, &addrs);
        for addr in addrs {
            for port in base..base + 2 {
                TcpListener::bind((addr, port)).unwrap();
            }
        }
    }

    #[test]
    fn a_tcp_udp_port_takes_both() {
        let port = free_tcp_udp_port();
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
