//! Why a connection attempt failed or a link dropped, in a form people and scripts can use.
//!
//! Every failure the connector or the session can see is classified into one [`CauseKind`] with a
//! stable snake_case code (used in `--json` output and by the doctor), plus the concrete detail
//! (the OS message, the certificate names, the reason string) in [`Cause::detail`].

use std::fmt;
use std::io;

/// A classified failure: what kind it is and the concrete detail behind it. Displays as the
/// explanation with the detail in parentheses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", .kind.explanation(), detail_suffix(.detail))]
pub struct Cause {
    pub kind: CauseKind,
    /// The concrete evidence: OS error text, certificate names, reason string, HTTP status...
    pub detail: String,
}

impl Cause {
    pub fn new(kind: CauseKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// The stable code, e.g. `tcp_refused`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Whether retrying without a change of configuration cannot help.
    pub fn is_permanent(&self) -> bool {
        self.kind.is_permanent()
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

/// A cause as the last word of a mode that cannot go on: the cause, its code and the hint
/// that fixes it.
#[derive(Debug, thiserror::Error)]
#[error("{0} [{code}]\nhint: {hint}", code = .0.code(), hint = .0.kind.hint())]
pub struct Fatal(pub Cause);

macro_rules! causes {
    ($($variant:ident => $code:literal, $permanent:literal, $explain:literal, $hint:literal;)*) => {
        /// The kinds of failure mqscope tells apart.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CauseKind {
            $($variant,)*
        }

        impl CauseKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [CauseKind] = &[$(CauseKind::$variant,)*];

            /// The stable snake_case code.
            pub fn code(self) -> &'static str {
                match self { $(CauseKind::$variant => $code,)* }
            }

            /// Whether retrying with the same configuration cannot succeed.
            pub fn is_permanent(self) -> bool {
                match self { $(CauseKind::$variant => $permanent,)* }
            }

            /// One line saying what happened, in plain words.
            pub fn explanation(self) -> &'static str {
                match self { $(CauseKind::$variant => $explain,)* }
            }

            /// One line saying what to try.
            pub fn hint(self) -> &'static str {
                match self { $(CauseKind::$variant => $hint,)* }
            }
        }
    };
}

causes! {
    DnsFailed => "dns_failed", false,
        "the broker's host name could not be resolved",
        "check the spelling of the host in --broker, or use an IP address";
    TcpRefused => "tcp_refused", false,
        "nothing is listening on that port (connection refused)",
        "check that the broker runs and the port in --broker is right (1883 plain, 8883 TLS)";
    TcpTimeout => "tcp_timeout", false,
        "the TCP connection got no answer in time (firewall, wrong address or host down)",
        "check the address and any firewall between you and the broker; raise --connect-timeout";
    TcpUnreachable => "tcp_unreachable", false,
        "the network or host is unreachable from here",
        "check your routes, VPN and the broker address";
    TcpReset => "tcp_reset", false,
        "the connection was reset by the other side",
        "the broker or something in between dropped the connection; check the broker's log";
    NoConnack => "no_connack", false,
        "the server accepted the connection but never answered CONNECT",
        "the port may belong to another service, or the broker is overloaded; raise --connect-timeout";
    NotMqtt => "not_mqtt", true,
        "the server on that port does not speak MQTT",
        "check the port; for an HTTP server try ws://host:port/mqtt";
    TlsUnknownIssuer => "tls_unknown_issuer", true,
        "the broker's certificate is signed by a CA that is not trusted",
        "pass --ca-file with the CA that signed the broker's certificate";
    TlsHostnameMismatch => "tls_hostname_mismatch", true,
        "the broker's certificate is not valid for the host name used",
        "connect with a name the certificate lists, or fix the certificate's subject alternative names";
    TlsExpired => "tls_expired", true,
        "the broker's certificate has expired or is not valid yet",
        "renew the broker's certificate, or check this machine's clock";
    TlsBadCertificate => "tls_bad_certificate", true,
        "the broker's certificate was rejected",
        "check the certificate chain the broker sends; --insecure skips verification for a test";
    TlsHandshakeFailure => "tls_handshake_failure", true,
        "the TLS handshake failed: client and broker share no cipher or settings",
        "check the broker's TLS settings (ciphers, ALPN)";
    TlsProtocolVersion => "tls_protocol_version", true,
        "the broker only offers a TLS version this client refuses (TLS 1.2 or newer is required)",
        "enable TLS 1.2 or 1.3 on the broker";
    TlsClientCertRequired => "tls_client_cert_required", true,
        "the broker requires a client certificate",
        "pass --cert and --key with a certificate the broker trusts";
    TlsClientCertRejected => "tls_client_cert_rejected", true,
        "the broker rejected the client certificate",
        "pass --cert and --key with a certificate signed by a CA the broker trusts";
    NotTls => "not_tls", false,
        "the server did not answer the TLS handshake: the port looks like plain MQTT",
        "use mqtt:// instead of mqtts://, or the broker's TLS port (usually 8883)";
    ProtocolError => "protocol_error", false,
        "the broker sent a packet that breaks the MQTT protocol",
        "the broker, or a bridge or proxy in between, sent it: the detail and the packet log show the packet's first bytes; mqscope reconnects, report it to the broker's maintainers";
    TlsClosed => "tls_closed", false,
        "the server closed the connection during the TLS handshake, and it does not answer plain MQTT either",
        "check that this is the broker's TLS port and that it accepts this client (an address allow-list, a proxy in between); the broker's log says why";
    TlsExpected => "tls_expected", false,
        "the server closed on plain MQTT: the port looks like it expects TLS",
        "use mqtts:// for this port";
    WsUpgradeFailed => "ws_upgrade_failed", true,
        "the WebSocket upgrade was refused",
        "check the path in --broker (often /mqtt) and that the port serves MQTT over WebSocket";
    ProtocolVersionUnsupported => "protocol_version_unsupported", true,
        "the broker does not support the requested MQTT version",
        "use -V 3.1.1 (or -V auto) for this broker";
    BadCredentials => "bad_credentials", true,
        "the broker rejected the user name or password",
        "check --username and the password (MQSCOPE_PASSWORD or --password-file)";
    NotAuthorized => "not_authorized", true,
        "the broker refused to let this client connect (not authorized)",
        "check the credentials and the broker's ACL; anonymous access may be disabled";
    ServerUnavailable => "server_unavailable", false,
        "the broker says it is unavailable or busy",
        "wait and retry; check the broker's health";
    Banned => "banned", true,
        "the broker has banned this client",
        "ask the broker's operator why this client or address is banned";
    ClientIdRejected => "client_id_rejected", true,
        "the broker rejected the client id",
        "pick another --client-id (some brokers restrict length or characters)";
    AclDenied => "acl_denied", true,
        "the broker accepted the connection, but its access control denies this subscription or publication",
        "ask for access to those topics or use narrower filters (-t); the doctor's --no-publish skips its round trip";
    KeepaliveTimeout => "keepalive_timeout", false,
        "the broker stopped answering keep-alive pings",
        "the network path dropped packets or the broker stalled; a shorter --keep-alive notices sooner";
    ServerDisconnect => "server_disconnect", false,
        "the broker ended the session",
        "read the reason; a session taken over means another client uses the same client id";
    PeerClosed => "peer_closed", false,
        "the broker closed the connection",
        "the broker restarted, or another client with the same client id took over the session";
    ProxyRefused => "proxy_refused", false,
        "the proxy did not open a tunnel to the broker (it could not reach it, or did not answer as a proxy)",
        "check the broker's host and port as the proxy sees them, and that --proxy names a SOCKS5 or HTTP proxy";
    ProxyAuthFailed => "proxy_auth_failed", true,
        "the proxy refused the user name or password",
        "give the proxy's user in the URL (socks5://USER@host:port) and its password in MQSCOPE_PROXY_PASSWORD or --proxy-password-file";
    ProxyDenied => "proxy_denied", true,
        "the proxy does not allow a tunnel to this broker",
        "ask the proxy's administrator to allow the broker's host and port (its status is in the detail)";
    SessionTakenOver => "session_taken_over", false,
        "another client connected with the same client id, and the broker closed this connection",
        "give every client its own id: -i NAME (leave -i out and mqscope makes a random one)";
    ClientIdCollision => "client_id_collision", false,
        "the broker keeps closing this connection right after accepting it: probably another client with the same client id",
        "give every client its own id: -i NAME (leave -i out and mqscope makes a random one)";
    LocalError => "local_error", true,
        "mqscope could not set up the connection",
        "read the detail; check file paths and options";
}

impl fmt::Display for CauseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Classifies an I/O error seen while opening or using a TCP connection.
pub fn classify_tcp_io(err: &io::Error) -> CauseKind {
    use io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused => CauseKind::TcpRefused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => CauseKind::TcpReset,
        K::TimedOut => CauseKind::TcpTimeout,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => {
            CauseKind::TcpUnreachable
        }
        K::UnexpectedEof => CauseKind::PeerClosed,
        _ => CauseKind::LocalError,
    }
}

/// Classifies an error from the TLS layer, looking through `io::Error` to the `rustls::Error`.
pub fn classify_tls_io(err: &io::Error) -> Cause {
    if let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
    {
        return classify_rustls(tls);
    }
    let kind = match err.kind() {
        // The server closed or reset when it saw our ClientHello: it does not speak TLS.
        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => CauseKind::NotTls,
        io::ErrorKind::InvalidData => CauseKind::NotTls,
        _ => classify_tcp_io(err),
    };
    Cause::new(kind, err.to_string())
}

/// Classifies a rustls error into a cause with the certificate detail.
pub fn classify_rustls(err: &tokio_rustls::rustls::Error) -> Cause {
    use tokio_rustls::rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let kind = match err {
        E::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => CauseKind::TlsUnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => CauseKind::TlsHostnameMismatch,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => CauseKind::TlsExpired,
            _ => CauseKind::TlsBadCertificate,
        },
        E::AlertReceived(alert) => match alert {
            A::HandshakeFailure | A::InsufficientSecurity | A::NoApplicationProtocol => {
                CauseKind::TlsHandshakeFailure
            }
            A::ProtocolVersion => CauseKind::TlsProtocolVersion,
            A::CertificateRequired => CauseKind::TlsClientCertRequired,
            A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::UnsupportedCertificate
            | A::AccessDenied
            | A::DecryptError => CauseKind::TlsClientCertRejected,
            _ => CauseKind::TlsHandshakeFailure,
        },
        E::InvalidMessage(_) => CauseKind::NotTls,
        E::NoCertificatesPresented => CauseKind::TlsBadCertificate,
        E::PeerIncompatible(_) => CauseKind::TlsHandshakeFailure,
        _ => CauseKind::TlsHandshakeFailure,
    };
    Cause::new(kind, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for kind in CauseKind::ALL {
            let code = kind.code();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            assert!(!kind.explanation().is_empty() && !kind.hint().is_empty());
        }
        assert!(CauseKind::ALL.len() >= 27);
    }

    #[test]
    fn tcp_errors_map_to_codes() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(classify_tcp_io(&refused), CauseKind::TcpRefused);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(classify_tcp_io(&reset), CauseKind::TcpReset);
    }

    #[test]
    fn rustls_errors_look_through_io() {
        use tokio_rustls::rustls::{CertificateError, Error};
        let err = io::Error::new(
            io::ErrorKind::InvalidData,
            Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(classify_tls_io(&err).kind, CauseKind::TlsUnknownIssuer);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(classify_tls_io(&reset).kind, CauseKind::NotTls);
    }

    #[test]
    fn display_joins_explanation_and_detail() {
        let cause = Cause::new(CauseKind::TcpRefused, "os error 111");
        assert_eq!(
            cause.to_string(),
            "nothing is listening on that port (connection refused) (os error 111)"
        );
    }
}
