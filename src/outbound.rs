//! Where Eligo may call out to (threat-model rule 10). Webhook receivers, SCIM and LDAP servers
//! are addresses an administrator typed; without a guard, a connector or subscription aimed at
//! `127.0.0.1`, `169.254.169.254` or an internal host turns Eligo into a door into its own
//! network (and an oracle of what answers there). Loopback, private, link-local, shared,
//! multicast, broadcast and unspecified addresses are refused unless `ELIGO_OUTBOUND_ALLOW`
//! lists them. The check runs on the resolved address at connect time (the HTTP clients resolve
//! through `Outbound::resolver`, IP literals are checked before sending, LDAP connects through
//! `Outbound::connect_tcp` to the very address it checked), so a name that resolves somewhere
//! else later is caught too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// The outbound policy: the special-purpose ranges refused, and the allow list that overrides.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    allow: Arc<Vec<IpNet>>,
}

/// A destination the policy refuses (its text names the address, never a credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} is a loopback, private, link-local or otherwise internal address; Eligo does not call it unless ELIGO_OUTBOUND_ALLOW lists it"
)]
pub struct Refused(pub IpAddr);

/// Why `Outbound::connect_tcp` did not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Refused(Refused),
    #[error("{0}")]
    Unreachable(String),
}

impl Outbound {
    /// Refuses internal addresses except those in `allow`.
    pub fn allowing(allow: Vec<IpNet>) -> Self {
        Self {
            allow: Arc::new(allow),
        }
    }

    /// May Eligo connect to `ip`?
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if self.allow.iter().any(|net| net.contains(&ip)) || !internal(ip) {
            Ok(())
        } else {
            Err(Refused(ip))
        }
    }

    /// Checks a URL whose host is an IP literal (names are checked when they resolve).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        let host = url.host_str().unwrap_or("");
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => self.check(ip),
            Err(_) => Ok(()),
        }
    }

    /// Resolves `host:port`, keeps the addresses the policy allows, and connects to the first
    /// that answers within `timeout`: the address checked is the address connected to, so a
    /// name that resolves elsewhere between a check and a connect (DNS rebinding) cannot slip
    /// through. For clients that take a ready stream (LDAP).
    pub async fn connect_tcp(
        &self,
        host: &str,
        port: u16,
        timeout: std::time::Duration,
    ) -> Result<tokio::net::TcpStream, ConnectError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let resolved: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| ConnectError::Unreachable(format!("cannot resolve {host}: {e}")))?
                .collect(),
        };
        let mut refused = None;
        let mut last = None;
        for addr in resolved {
            if let Err(r) = self.check(addr.ip()) {
                refused.get_or_insert(r);
                continue;
            }
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => last = Some(format!("{addr}: {e}")),
                Err(_) => last = Some(format!("{addr}: no answer within {timeout:?}")),
            }
        }
        Err(match (last, refused) {
            (Some(e), _) => ConnectError::Unreachable(format!("cannot connect to {host}: {e}")),
            (None, Some(r)) => ConnectError::Refused(r),
            (None, None) => ConnectError::Unreachable(format!("{host} has no address")),
        })
    }

    /// Resolves `host:port` and checks every address it resolves to. An unresolvable name is
    /// left to the connection to report.
    pub async fn check_host(&self, host: &str, port: u16) -> Result<(), Refused> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.check(ip);
        }
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            for addr in addrs {
                self.check(addr.ip())?;
            }
        }
        Ok(())
    }

    /// A DNS resolver for reqwest that drops refused addresses, and fails when none is left.
    pub fn resolver(&self) -> Arc<Resolver> {
        Arc::new(Resolver {
            outbound: self.clone(),
        })
    }
}

/// Addresses that are not the public internet.
fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || a == 0
                // Shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments, 192.0.0.0/24; benchmarking, 198.18.0.0/15.
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b))
                // Reserved, 240.0.0.0/4.
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                // NAT64 64:ff9b::/96 can reach IPv4 internals.
                || (first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

/// `reqwest::dns::Resolve` through the system resolver, keeping only permitted addresses.
pub struct Resolver {
    outbound: Outbound,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let outbound = self.outbound.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match outbound.check(a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            if permitted.is_empty()
                && let Some(e) = refused
            {
                return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The policy's refusal behind a failed request, if that is why it failed (the resolver's error
/// travels up reqwest's chain of sources).
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connects_only_to_an_address_it_checked() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let second = std::time::Duration::from_secs(2);
        // By default loopback is refused, by name or by address, and nothing is connected.
        for host in ["localhost", "127.0.0.1"] {
            assert!(matches!(
                Outbound::default().connect_tcp(host, port, second).await,
                Err(ConnectError::Refused(_))
            ));
        }
        // Allowed: the stream goes to the checked address.
        let allowed = Outbound::allowing(vec!["127.0.0.1/32".parse().unwrap()]);
        let stream = allowed
            .connect_tcp("127.0.0.1", port, second)
            .await
            .unwrap();
        assert_eq!(stream.peer_addr().unwrap().port(), port);
        // A name is connected through its allowed address only.
        let stream = allowed
            .connect_tcp("localhost", port, second)
            .await
            .unwrap();
        assert_eq!(stream.peer_addr().unwrap().ip(), ip("127.0.0.1"));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        let o = Outbound::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert_eq!(
                o.check(ip(refused)),
                Err(Refused(ip(refused).to_canonical())),
                "{refused}"
            );
        }
        for public in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
        ] {
            assert!(o.check(ip(public)).is_ok(), "{public}");
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_what_it_names() {
        let o = Outbound::allowing(crate::config::networks::parse("127.0.0.0/8, ::1").unwrap());
        assert!(o.check(ip("127.0.0.1")).is_ok());
        assert!(o.check(ip("::1")).is_ok());
        assert!(o.check(ip("::ffff:127.0.0.1")).is_ok());
        assert!(o.check(ip("10.0.0.1")).is_err());
        assert!(o.check(ip("169.254.169.254")).is_err());
    }

    #[test]
    fn literal_urls_are_checked_and_names_wait_for_resolution() {
        let o = Outbound::default();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(o.check_url(&url("http://127.0.0.1:8080/hook")).is_err());
        assert!(o.check_url(&url("http://[::1]/hook")).is_err());
        assert!(o.check_url(&url("https://hooks.example.com/x")).is_ok());
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused() {
        let o = Outbound::default();
        assert!(o.check_host("localhost", 389).await.is_err());
        assert!(o.check_host("[::1]", 389).await.is_err());
        let allowed =
            Outbound::allowing(crate::config::networks::parse("127.0.0.0/8, ::1").unwrap());
        assert!(allowed.check_host("localhost", 389).await.is_ok());
    }
}
