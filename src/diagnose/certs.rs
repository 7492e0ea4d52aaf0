//! Describes the certificates a TLS server presented: subject, issuer, names, validity.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// One certificate of the chain, as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// Negative when expired.
    pub days_left: i64,
}

impl CertInfo {
    pub fn to_json(&self) -> Value {
        json!({
            "subject": self.subject,
            "issuer": self.issuer,
            "names": self.names,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "days_left": self.days_left,
        })
    }

    pub fn describe(&self) -> String {
        let validity = if self.days_left < 0 {
            format!("EXPIRED {} days ago ({})", -self.days_left, self.not_after)
        } else {
            format!(
                "valid until {} ({} days left)",
                self.not_after, self.days_left
            )
        };
        let names = if self.names.is_empty() {
            "no subject alternative names".to_string()
        } else {
            self.names.join(", ")
        };
        format!(
            "{} · issued by {} · {names} · {validity}",
            self.subject, self.issuer
        )
    }
}

/// Parses a DER certificate; `None` when it cannot be read.
pub fn describe(der: &[u8], now: SystemTime) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => names.push(format!("DNS:{n}")),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        names.push(format!("IP:{ip}"));
                    }
                }
                _ => {}
            }
        }
    }
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let validity = cert.validity();
    let days_left = (validity.not_after.timestamp() - now_secs).div_euclid(86_400);
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: validity.not_before.to_string(),
        not_after: validity.not_after.to_string(),
        days_left,
    })
}
