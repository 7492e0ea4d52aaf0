//! Test harness: real mosquitto processes on free loopback ports, certificates made at test
//! time, a fault proxy and small fake servers. Everything stops when dropped.

#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod fakes;
pub mod hostile;
pub mod pki;
pub mod proxy;
pub mod tunnels;
pub mod wsbridge;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mqscope-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts TCP connections on the port.
pub fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on port {port}");
}

/// A real mosquitto process with its own configuration, killed on drop.
pub struct Mosquitto {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
    conf: PathBuf,
}

impl Mosquitto {
    /// A plain listener with anonymous access and an unlimited queue.
    pub fn plain() -> Self {
        Self::with_listener("", "allow_anonymous true\nmax_queued_messages 0\n")
    }

    /// `listener_opts` go under the listener line; `global` is written before it.
    pub fn with_listener(listener_opts: &str, global: &str) -> Self {
        let dir = TempDir::new("mosquitto");
        Self::in_dir(dir, listener_opts, global)
    }

    /// Like `with_listener`, in a directory the caller prepared (certificates, password file).
    pub fn in_dir(dir: TempDir, listener_opts: &str, global: &str) -> Self {
        let port = free_port();
        let log = dir.path().join("mosquitto.log");
        let conf = dir.write(
            "mosquitto.conf",
            &format!(
                "user root\npersistence false\nlog_dest file {}\nlog_type all\nper_listener_settings false\n{global}\nlistener {port} 127.0.0.1\n{listener_opts}\n",
                log.display()
            ),
        );
        let mut broker = Self {
            child: None,
            port,
            dir,
            conf,
        };
        broker.start();
        broker
    }

    /// Starts (again) on the same port with the same configuration.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto must be installed (apt-get install mosquitto)");
        self.child = Some(child);
        wait_listening(self.port);
    }

    /// Kills the broker (SIGKILL: no goodbye to clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes a mosquitto password file with these users.
pub fn password_file(dir: &TempDir, users: &[(&str, &str)]) -> PathBuf {
    let path = dir.path().join("passwd");
    for (i, (user, pass)) in users.iter().enumerate() {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        let status = cmd
            .arg("-b")
            .arg(&path)
            .arg(user)
            .arg(pass)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mosquitto_passwd");
        assert!(status.success());
    }
    path
}

/// Publishes a retained message (QoS 1, acknowledged) on each topic, through mqscope's own
/// connection layer; the payload is the topic.
pub async fn seed_retained(url: &str, topics: &[String]) {
    use mqscope::broker::{BrokerHandle, BrokerOptions, Command, PublishOutcome, PublishRequest};
    let opts = BrokerOptions::new(
        url.parse().unwrap(),
        mqscope::broker::options::random_client_id(),
    );
    let mut handle = BrokerHandle::spawn(opts).unwrap();
    let commands = handle.commands();
    let drain = tokio::spawn(async move {
        while handle.events.recv().await.is_some() {}
        handle
    });
    let mut replies = Vec::with_capacity(topics.len());
    for topic in topics {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let req = PublishRequest {
            topic: topic.clone(),
            payload: bytes::Bytes::from(topic.clone()),
            qos: 1,
            retain: true,
            properties: None,
        };
        commands.send(Command::Publish(req, tx)).await.unwrap();
        replies.push(rx);
    }
    for rx in replies {
        let outcome = rx.await;
        assert!(
            matches!(outcome, Ok(PublishOutcome::Acked { reason }) if reason < 0x80),
            "{outcome:?}"
        );
    }
    commands.send(Command::Shutdown).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
}

/// The brokers the round-trip, reconnect and clean-retained suites run against, so behaviour
/// is not tuned to one implementation: a mosquitto process, and rumqttd in-process (the demo's
/// embedded broker, whose listeners are each one protocol version).
pub enum TestBroker {
    Mosquitto(Mosquitto),
    #[cfg(feature = "embedded-broker")]
    Rumqttd(mqscope::demo::broker::Ports),
}

impl TestBroker {
    pub fn all() -> Vec<TestBroker> {
        vec![
            TestBroker::Mosquitto(Mosquitto::plain()),
            #[cfg(feature = "embedded-broker")]
            TestBroker::Rumqttd(mqscope::demo::broker::start(None).unwrap()),
        ]
    }

    pub fn name(&self) -> &'static str {
        match self {
            TestBroker::Mosquitto(_) => "mosquitto",
            #[cfg(feature = "embedded-broker")]
            TestBroker::Rumqttd(_) => "rumqttd",
        }
    }

    /// The URL to reach it in `version` (`auto` goes to the MQTT 5 listener).
    pub fn url(&self, version: mqscope::broker::MqttVersion) -> String {
        let _ = version;
        match self {
            TestBroker::Mosquitto(m) => m.url(),
            #[cfg(feature = "embedded-broker")]
            TestBroker::Rumqttd(p) => format!(
                "mqtt://127.0.0.1:{}",
                if version == mqscope::broker::MqttVersion::V311 {
                    p.v311
                } else {
                    p.v5
                }
            ),
        }
    }

    /// The port of the listener for `version`.
    pub fn port(&self, version: mqscope::broker::MqttVersion) -> u16 {
        self.url(version)
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap()
    }

    /// The largest payload it takes (rumqttd is configured for 1 MB in the demo).
    pub fn max_payload(&self) -> usize {
        match self {
            TestBroker::Mosquitto(_) => 256 << 20,
            #[cfg(feature = "embedded-broker")]
            TestBroker::Rumqttd(_) => 1 << 20,
        }
    }
}
