//! The address a request comes from, for throttling and the audit trail. Forwarding headers are
//! believed only from a peer in `ELIGO_TRUSTED_PROXIES`: anyone else could write any address into
//! `X-Forwarded-For` and throttle someone else, or dodge their own throttle. Behind trusted
//! proxies the client is the right-most address that is not itself a trusted proxy (the
//! left-most entries are whatever the client claimed).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::app::AppState;
use crate::config::ForwardedHeader;

/// The client's address: the socket peer, or (from a trusted proxy) the forwarded client.
/// Requests driven in-process (tests) have no peer and so none.
pub struct ClientAddress(pub Option<String>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        let address = client_address(
            peer,
            &parts.headers,
            &app.config.trusted_proxies,
            app.config.forwarded_header,
        );
        Ok(ClientAddress(address.map(|a| a.to_string())))
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the nearest
/// address in the header the proxies write (`which`; the other header is ignored, since a
/// proxy passes it through as the client sent it) that is not a trusted proxy, or the peer
/// when the header names none that parses.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    proxies: &[IpNet],
    which: ForwardedHeader,
) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    if !trusted(peer, proxies) {
        return Some(peer);
    }
    let chain = match which {
        ForwardedHeader::Forwarded => forwarded_for(headers),
        ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
    };
    // Walk from the nearest hop outwards; an unparsable hop ends the walk (everything beyond
    // it was written by someone we cannot vouch for).
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) => {
                client = canonical(*ip);
                if !trusted(client, proxies) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

/// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| parse_ip(s.trim()))
        .collect()
}

/// RFC 7239: `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_ip(v.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// An address as proxies write it: bare, with a port, or bracketed IPv6 with a port.
fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FORWARDED: ForwardedHeader = ForwardedHeader::Forwarded;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=198.51.100.1"),
        ]);
        assert_eq!(
            client_address(ip("192.0.2.7"), &h, &[], XFF),
            ip("192.0.2.7")
        );
        let proxies = crate::config::networks::parse("10.0.0.0/8").unwrap();
        for which in [XFF, FORWARDED] {
            assert_eq!(
                client_address(ip("192.0.2.7"), &h, &proxies, which),
                ip("192.0.2.7")
            );
            assert_eq!(client_address(None, &h, &proxies, which), None);
        }
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = crate::config::networks::parse("10.0.0.0/8, 172.16.0.1").unwrap();
        // The client prepended a lie; the proxies appended what they saw.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 172.16.0.1")]);
        assert_eq!(
            client_address(ip("10.1.2.3"), &h, &proxies, XFF),
            ip("203.0.113.9")
        );
        // Only the header the proxies write counts: the other is whatever the client sent.
        let h = headers(&[
            (
                "forwarded",
                "for=\"[2001:db8::1]:4711\";proto=https, for=10.9.9.9",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &proxies, XFF),
            ip("198.51.100.1")
        );
        // With Forwarded, ports and brackets are understood.
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &proxies, FORWARDED),
            ip("2001:db8::1")
        );
        let lie = headers(&[("forwarded", "for=9.9.9.9")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &lie, &proxies, XFF),
            ip("10.0.0.1"),
            "a client's Forwarded is not read behind an X-Forwarded-For proxy"
        );
        // No header: the proxy itself; garbage ends the walk at the last trusted hop.
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &proxies, XFF),
            ip("10.0.0.1")
        );
        let h = headers(&[("x-forwarded-for", "203.0.113.9, garbage, 10.2.2.2")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &proxies, XFF),
            ip("10.2.2.2")
        );
        // A mapped IPv4 peer counts as IPv4.
        assert_eq!(
            client_address(
                ip("::ffff:10.0.0.1"),
                &headers(&[("x-forwarded-for", "203.0.113.5")]),
                &proxies,
                XFF
            ),
            ip("203.0.113.5")
        );
    }
}
