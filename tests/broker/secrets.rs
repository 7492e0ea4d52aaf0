//! The password never appears in events, packet records, logs or `Debug` output.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use mqscope::broker::{BrokerEvent, BrokerHandle, MqttVersion};
use mqscope::secret::Secret;

use super::support::{Mosquitto, TempDir, password_file};
use super::{options, until};

const PASSWORD: &str = "Pa55-never-show-me-4711";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test process, at trace level, rumqttc's `log` records included.
fn captured_logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("only this test installs a subscriber");
        capture
    })
}

#[tokio::test]
async fn password_never_appears_anywhere() {
    let logs = captured_logs();
    let dir = TempDir::new("secret");
    let passwd = password_file(&dir, &[("alice", PASSWORD)]);
    let broker = Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\n",
            passwd.display()
        ),
    );

    for version in [MqttVersion::V5, MqttVersion::V311] {
        let mut opts = options(&broker.url(), version);
        opts.username = Some("alice".into());
        opts.password = Some(Secret::new(PASSWORD));
        opts.packet_log = true;
        assert!(!format!("{opts:?}").contains(PASSWORD), "Debug of options");

        let mut handle = BrokerHandle::spawn(opts.clone()).unwrap();
        let mut seen = until(&mut handle, 10, super::is_connected).await;
        // Refused too: the wrong password must not show either.
        let mut wrong = opts.clone();
        wrong.password = Some(Secret::new(format!("{PASSWORD}-wrong")));
        wrong.max_attempts = Some(1);
        let mut refused = BrokerHandle::spawn(wrong).unwrap();
        seen.extend(
            until(&mut refused, 10, |e| {
                matches!(e, BrokerEvent::Lifecycle(l)
                    if matches!(l.kind, mqscope::broker::LifecycleKind::GaveUp { .. }))
            })
            .await,
        );
        let connect = seen
            .iter()
            .find_map(|e| match e {
                BrokerEvent::Packet(p) if p.type_name() == "CONNECT" => Some(p.detail.clone()),
                _ => None,
            })
            .expect("CONNECT recorded");
        assert!(
            connect.contains("username=alice password=<redacted>"),
            "{connect}"
        );
        let all = format!("{seen:?}");
        assert!(!all.contains(PASSWORD), "events leak the password");
        handle.shutdown().await;
    }
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!text.is_empty(), "trace logging captured something");
    assert!(!text.contains(PASSWORD), "logs leak the password");
}
