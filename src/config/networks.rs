//! Address lists in the configuration (`ELIGO_TRUSTED_PROXIES`, `ELIGO_OUTBOUND_ALLOW`): CIDRs or
//! single addresses, separated by commas or spaces. Parsed here so the configuration needs
//! nothing of the modules that use the lists (`crate::auth::client_address`, `crate::outbound`).

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses a list of CIDRs or single addresses; empty gives an empty list.
pub fn parse(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is neither an address nor a CIDR"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn lists() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("10.0.0.0/8 ::1").unwrap().len(), 2);
        assert_eq!(parse("10.0.0.0/8, 172.16.0.1").unwrap().len(), 2);
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("proxy.local").is_err());
    }
}
