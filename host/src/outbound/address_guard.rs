//! Addresses no guest may connect to, whatever its allow-list says: the
//! Lambda Runtime API (a guest could take other invocations' events or
//! post their answers), link-local addresses (169.254.0.0/16 holds the
//! instance and container metadata services, and their credentials),
//! EC2's IPv6 metadata range (fd00:ec2::/32), and unspecified, broadcast
//! and multicast addresses.
//!
//! The check runs on every address a name resolves to, right before the
//! connection is made to that same address, so a name that resolves to a
//! forbidden address (DNS rebinding included) is refused as the address is.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressRefusal {
    /// The Runtime API's own address.
    #[error("{0} is the Lambda Runtime API, which guests may never call")]
    RuntimeApi(SocketAddr),
    /// A link-local or metadata address.
    #[error("{0} is a link-local or instance-metadata address, which guests may never call")]
    Metadata(IpAddr),
    /// Unspecified, broadcast or multicast.
    #[error("{0} is not a destination guests may connect to")]
    NotUnicast(IpAddr),
}

/// The check, with the Runtime API's addresses resolved once.
#[derive(Debug, Clone, Default)]
pub struct AddressGuard {
    runtime_api: Vec<SocketAddr>,
}

impl AddressGuard {
    /// A guard for this process: the Runtime API is `AWS_LAMBDA_RUNTIME_API`.
    pub fn from_env() -> Self {
        Self::new(std::env::var("AWS_LAMBDA_RUNTIME_API").ok().as_deref())
    }

    /// A guard for a Runtime API at `runtime_api` (`host:port`, as Lambda
    /// sets it, or a URL, as emulators may), if any.
    pub fn new(runtime_api: Option<&str>) -> Self {
        let runtime_api = runtime_api
            .map(|text| {
                let text = text
                    .strip_prefix("http://")
                    .or_else(|| text.strip_prefix("https://"))
                    .unwrap_or(text);
                text.split('/').next().unwrap_or(text)
            })
            .and_then(|address| address.to_socket_addrs().ok())
            .map(|addresses| addresses.map(canonical_socket).collect())
            .unwrap_or_default();
        Self { runtime_api }
    }

    /// Whether a guest may connect to `address`.
    ///
    /// # Errors
    /// The reason it may not.
    pub fn check(&self, address: SocketAddr) -> Result<(), AddressRefusal> {
        let address = canonical_socket(address);
        let ip = address.ip();
        if is_metadata_or_link_local(ip) {
            return Err(AddressRefusal::Metadata(ip));
        }
        if ip.is_unspecified() || ip.is_multicast() || ip == IpAddr::from([255, 255, 255, 255]) {
            return Err(AddressRefusal::NotUnicast(ip));
        }
        let reaches_runtime_api = self.runtime_api.iter().any(|api| {
            api.port() == address.port()
                && (api.ip() == ip || (api.ip().is_loopback() && ip.is_loopback()))
        });
        if reaches_runtime_api {
            return Err(AddressRefusal::RuntimeApi(address));
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:169.254.169.254`) as the IPv4
/// address they reach.
fn canonical_socket(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(address.ip().to_canonical(), address.port())
}

fn is_metadata_or_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            // fe80::/10, and EC2's IPv6 metadata range fd00:ec2::/32.
            (segments[0] & 0xffc0) == 0xfe80 || (segments[0] == 0xfd00 && segments[1] == 0x0ec2)
        }
    }
}

/// `fd00:ec2::254`, the instance metadata service over IPv6.
pub const EC2_IPV6_METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254);

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        let guard = AddressGuard::new(None);
        for refused in [
            "169.254.169.254:80",
            "169.254.170.2:80",
            "[::ffff:169.254.169.254]:80",
            "[fe80::1]:80",
            "[fd00:ec2::254]:80",
        ] {
            assert!(
                matches!(guard.check(addr(refused)), Err(AddressRefusal::Metadata(_))),
                "{refused}"
            );
        }
        assert!(
            guard
                .check(SocketAddr::new(EC2_IPV6_METADATA.into(), 80))
                .is_err()
        );
        assert!(guard.check(addr("0.0.0.0:80")).is_err());
        assert!(guard.check(addr("224.0.0.1:80")).is_err());
        assert!(guard.check(addr("127.0.0.1:80")).is_ok());
        assert!(guard.check(addr("[fd00:ec3::1]:80")).is_ok());
        assert!(guard.check(addr("93.184.216.34:443")).is_ok());
    }

    #[test]
    fn the_runtime_api_is_refused_on_any_loopback_address() {
        let guard = AddressGuard::new(Some("127.0.0.1:9001"));
        for refused in [
            "127.0.0.1:9001",
            "127.0.0.2:9001",
            "[::1]:9001",
            "[::ffff:127.0.0.1]:9001",
        ] {
            assert!(
                matches!(
                    guard.check(addr(refused)),
                    Err(AddressRefusal::RuntimeApi(_))
                ),
                "{refused}"
            );
        }
        assert!(guard.check(addr("127.0.0.1:9002")).is_ok());
        let emulator = AddressGuard::new(Some("http://127.0.0.1:9001/.rt"));
        assert!(emulator.check(addr("127.0.0.1:9001")).is_err());
    }
}
