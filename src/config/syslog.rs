//! Where the audit trail's syslog copy goes (`ELIGO_AUDIT_EXPORT_SYSLOG`): a configuration value,
//! parsed here so the configuration needs nothing of the exporter (`crate::export`) that uses it.

use std::path::PathBuf;

/// Where `ELIGO_AUDIT_EXPORT_SYSLOG` sends the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTarget {
    /// A unix datagram socket (`/dev/log`, `unix:///run/eligo/audit.sock`).
    Unix(PathBuf),
    /// `udp://host:port`.
    Udp { host: String, port: u16 },
}

impl SyslogTarget {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if let Some(rest) = value.strip_prefix("udp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| format!("{value:?} has no port: give udp://host:port"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || host.contains(['/', '@', ' ']) {
                return Err(format!(
                    "{value:?} has no usable host: give udp://host:port"
                ));
            }
            let port: u16 = port
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{value:?}: the port must be 1 to 65535"))?;
            return Ok(Self::Udp {
                host: host.to_string(),
                port,
            });
        }
        let path = value.strip_prefix("unix://").unwrap_or(value);
        if path.starts_with('/') {
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        Err(format!(
            "{value:?} is neither an absolute unix socket path (/dev/log, unix:///run/syslog.sock) nor udp://host:port"
        ))
    }
}

impl std::fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Udp { host, port } if host.contains(':') => write!(f, "udp://[{host}]:{port}"),
            Self::Udp { host, port } => write!(f, "udp://{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            SyslogTarget::parse("/dev/log"),
            Ok(SyslogTarget::Unix("/dev/log".into()))
        );
        assert_eq!(
            SyslogTarget::parse("unix:///run/s.sock"),
            Ok(SyslogTarget::Unix("/run/s.sock".into()))
        );
        assert_eq!(
            SyslogTarget::parse("udp://127.0.0.1:514"),
            Ok(SyslogTarget::Udp {
                host: "127.0.0.1".into(),
                port: 514
            })
        );
        assert_eq!(
            SyslogTarget::parse("udp://[::1]:5514").unwrap().to_string(),
            "udp://[::1]:5514"
        );
        for bad in [
            "syslog.example:514",
            "udp://host",
            "udp://:514",
            "udp://h:0",
            "udp://h:70000",
            "relative/path",
            "tcp://h:514",
        ] {
            assert!(SyslogTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
