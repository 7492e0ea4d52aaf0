//! The embedded broker: rumqttd in its own threads, MQTT 5 and 3.1.1 listeners on loopback, a
//! commit log of a few MB instead of rumqttd's hundreds.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Where the embedded broker listens.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub v5: u16,
    pub v311: u16,
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn server(name: &str, port: u16) -> ServerSettings {
    ServerSettings {
        name: name.to_string(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 5_000,
            // The fleet's camera snapshot is ~200 KB.
            max_payload_size: 1 << 20,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

/// Starts the broker in the background; returns when it is accepting connections.
pub fn start(v5_port: Option<u16>) -> anyhow::Result<Ports> {
    let ports = Ports {
        v5: match v5_port {
            Some(p) => p,
            None => free_port()?,
        },
        v311: free_port()?,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 1_000,
            max_outgoing_packet_count: 200,
            // A few MB of commit log per filter, not rumqttd's default of hundreds.
            max_segment_size: 1 << 20,
            max_segment_count: 4,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([(
            "v311".to_string(),
            server("v311", ports.v311),
        )])),
        v5: Some(HashMap::from([("v5".to_string(), server("v5", ports.v5))])),
        ..Config::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(target: "rumqttd", "embedded broker stopped: {e}");
            }
        })?;
    // Wait until both listeners are up. The check does not connect: rumqttd logs an ERROR for
    // every client that leaves (even with a proper DISCONNECT), which a first-time user reads
    // as "something is broken". The kernel's socket table says when a port listens.
    for port in [ports.v5, ports.v311] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !listening(port) {
            if std::time::Instant::now() > deadline {
                anyhow::bail!("the embedded broker did not start listening on port {port}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    Ok(ports)
}

/// Whether something listens on 127.0.0.1:`port`, from `/proc/net/tcp` (state 0A).
fn listening(port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        // No procfs: fall back to connecting (rumqttd will log that probe).
        return std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok();
    };
    let wanted = format!("0100007F:{port:04X}");
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let local = fields.nth(1);
        let state = fields.nth(1);
        local == Some(wanted.as_str()) && state == Some("0A")
    })
}
