//! `mqscope proxy` between real clients (mosquitto_sub/pub, `mqscope sub`, a scripted raw
//! client) and a real broker: what it reports, the faults it injects, the verdicts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::mqscope;
use super::support::pki::Pki;
use super::support::{Mosquitto, TempDir, free_port, wait_listening};

/// A running `mqscope proxy --json`, its stdout lines parsed as they come.
struct Proxy {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
    seen: Vec<Value>,
    stderr: mpsc::Receiver<String>,
}

impl Proxy {
    fn start(to: &str, args: &[&str]) -> Self {
        let mut all = vec!["--to", to];
        all.extend_from_slice(args);
        Self::start_with(&all, None)
    }

    /// With any arguments, and a config file when given.
    fn start_with(args: &[&str], config: Option<&std::path::Path>) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = mqscope();
        if let Some(config) = config {
            cmd.env("MQSCOPE_CONFIG", config);
        }
        cmd.args(["proxy", "--json", "--listen", &listen])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let (etx, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        wait_listening(port);
        Self {
            child,
            port,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen
                .push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
    }

    /// Waits until a line satisfies `pred`; returns it.
    fn wait_for(&mut self, secs: u64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut checked = 0;
        loop {
            self.drain();
            if let Some(v) = self.seen[checked..].iter().find(|v| pred(v)) {
                return v.clone();
            }
            checked = self.seen.len();
            assert!(
                Instant::now() < deadline,
                "no {what} within {secs} s; lines: {:#?}\nstderr: {:?}",
                self.seen,
                self.stderr.try_iter().collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM; returns every line (the final verdicts included) and the exit code.
    fn stop(mut self) -> (Vec<Value>, Option<i32>) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the proxy did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        self.drain();
        (std::mem::take(&mut self.seen), status.code())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is(v: &Value, ty: &str, event: Option<&str>, client: &str) -> bool {
    v["type"] == ty && event.is_none_or(|e| v["event"] == e) && v["client_id"] == client
}

fn last_verdict<'a>(lines: &'a [Value], client: &str) -> &'a Value {
    lines
        .iter()
        .rev()
        .find(|v| is(v, "verdict", None, client))
        .unwrap_or_else(|| panic!("no verdict for {client}: {lines:#?}"))
}

#[test]
#[expect(clippy::too_many_lines, reason = "one scenario, checked end to end")]
fn clients_subscriptions_and_packets_are_reported_and_the_password_never() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("proxy-report");
    let report = dir.path().join("report.json");
    let report_arg = report.display().to_string();
    let mut proxy = Proxy::start(&broker.url(), &["--packets", "--report", &report_arg]);
    let port = proxy.port.to_string();
    let mut sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "温度/#",
            "-t",
            "été/+",
        ])
        .args(["-i", "sub-温度", "-q", "1", "-k", "5", "-C", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    proxy.wait_for(10, "subscribe", |v| {
        is(v, "client", Some("subscribe"), "sub-温度")
    });
    let published = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "温度/室内",
            "-m",
            "21.5",
        ])
        .args([
            "-q",
            "1",
            "-i",
            "pub-🚀",
            "-u",
            "alice",
            "-P",
            "s3cret-PASS",
        ])
        .status()
        .unwrap();
    assert!(published.success());
    let mut got = String::new();
    sub.stdout.take().unwrap().read_to_string(&mut got).unwrap();
    assert_eq!(
        got.trim(),
        "21.5",
        "the message went through the proxy unchanged"
    );
    let _ = sub.wait();
    proxy.wait_for(10, "publisher's disconnect", |v| {
        is(v, "client", Some("disconnect"), "pub-🚀")
    });
    let (lines, code) = proxy.stop();
    assert_eq!(code, Some(143), "SIGTERM ends with 128 + 15");

    let connect = lines
        .iter()
        .find(|v| is(v, "client", Some("connect"), "sub-温度"))
        .unwrap();
    assert_eq!(connect["keep_alive"], 5);
    assert_eq!(connect["protocol"], "3.1.1");
    let subscribe = lines
        .iter()
        .find(|v| is(v, "client", Some("subscribe"), "sub-温度"))
        .unwrap();
    let filters: Vec<&str> = subscribe["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filter"].as_str().unwrap())
        .collect();
    assert_eq!(filters, ["温度/#", "été/+"]);
    assert_eq!(subscribe["filters"][0]["granted"], 1);
    let pub_connect = lines
        .iter()
        .find(|v| is(v, "client", Some("connect"), "pub-🚀"))
        .unwrap();
    assert_eq!(
        (
            pub_connect["username"].clone(),
            pub_connect["password"].clone()
        ),
        (true.into(), true.into())
    );
    // Both directions of the PUBLISH are in the packet log, with the topic.
    let on_the_wire: Vec<&Value> = lines
        .iter()
        .filter(|v| v["type"] == "packet" && v["packet"] == "PUBLISH")
        .collect();
    assert!(
        on_the_wire
            .iter()
            .any(|p| p["direction"] == "client>broker" && p["topic"] == "温度/室内")
    );
    assert!(
        on_the_wire
            .iter()
            .any(|p| p["direction"] == "broker>client" && p["client_id"] == "sub-温度")
    );
    let all: String = lines.iter().map(Value::to_string).collect();
    assert!(!all.contains("s3cret-PASS"), "the password leaked");
    // The final verdicts, and the report with the same.
    let v = last_verdict(&lines, "pub-🚀");
    assert_eq!(v["connections"], 1);
    assert_eq!(v["backoff"], "too_few");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let ids: Vec<&str> = doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pub-🚀", "sub-温度"]);
    assert!(!std::fs::read_to_string(&report).unwrap().contains("s3cret"));
}

#[test]
fn mqscope_sub_backs_off_exponentially_with_jitter() {
    let broker = Mosquitto::plain();
    let mut proxy = Proxy::start(&broker.url(), &["--drop-every", "2s", "--down-for", "9s"]);
    let sub =
        super::Subscriber::start(&["-b", &proxy.url(), "-t", "été/#", "-V", "5", "-i", "mq-été"]);
    // Dropped at 2 s, then attempts at about +0.25, +0.5, +1, +2, +4 s while down, and +8 s
    // when the broker is back: six gaps.
    let v = proxy.wait_for(25, "a grade on six gaps", |v| {
        is(v, "verdict", None, "mq-été") && v["gaps_ms"].as_array().is_some_and(|g| g.len() >= 6)
    });
    drop(sub);
    assert_eq!(v["backoff"], "exponential", "{v}");
    let factor = v["factor"].as_f64().unwrap();
    assert!((1.7..=2.3).contains(&factor), "{v}");
    assert_eq!(v["jitter"], true, "mqscope jitters its delays ±20 %: {v}");
    assert_eq!(
        v["resubscribed"],
        Value::Null,
        "not reconnected to the broker yet: {v}"
    );
    // The outage is in the output too.
    proxy.wait_for(1, "the fault", |v| {
        v["type"] == "fault" && v["fault"] == "broker_down"
    });
}

/// A raw MQTT 3.1.1 client: enough to script what real clients get wrong.
mod raw {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&u16::try_from(s.len()).unwrap().to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn packet(first: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        let mut n = body.len();
        loop {
            let mut byte = u8::try_from(n % 128).unwrap();
            n /= 128;
            if n > 0 {
                byte |= 0x80;
            }
            out.push(byte);
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(body);
        out
    }

    pub fn connect(id: &str, clean: bool, keep_alive: u16) -> Vec<u8> {
        let mut body = Vec::new();
        string(&mut body, "MQTT");
        body.push(4);
        body.push(if clean { 0x02 } else { 0 });
        body.extend_from_slice(&keep_alive.to_be_bytes());
        string(&mut body, id);
        packet(0x10, &body)
    }

    pub fn subscribe(pkid: u16, filter: &str) -> Vec<u8> {
        let mut body = pkid.to_be_bytes().to_vec();
        string(&mut body, filter);
        body.push(1);
        packet(0x82, &body)
    }

    pub fn publish_qos1(topic: &str, pkid: u16, dup: bool, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        string(&mut body, topic);
        body.extend_from_slice(&pkid.to_be_bytes());
        body.extend_from_slice(payload);
        packet(if dup { 0x3A } else { 0x32 }, &body)
    }

    /// Reads one packet: (first byte, body). `None` when the connection ends.
    pub fn read(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
        let mut first = [0u8; 1];
        s.read_exact(&mut first).ok()?;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).ok()?;
            len += usize::from(b[0] & 0x7F) << shift;
            shift += 7;
            if b[0] & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0; len];
        s.read_exact(&mut body).ok()?;
        Some((first[0], body))
    }

    pub fn send(s: &mut TcpStream, bytes: &[u8]) -> bool {
        s.write_all(bytes).is_ok()
    }
}

/// Connects and waits for the CONNACK; `None` if the connection is closed first.
fn raw_connect(port: u16, id: &str, clean: bool) -> Option<(TcpStream, bool)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw::send(&mut s, &raw::connect(id, clean, 30));
    let (first, body) = raw::read(&mut s)?;
    assert_eq!(first, 0x20, "CONNACK");
    Some((s, body.first() == Some(&1)))
}

#[test]
fn a_fixed_period_client_that_forgets_to_resubscribe_is_graded() {
    let broker = Mosquitto::plain();
    let proxy = Proxy::start(
        &broker.url(),
        &["--drop-every", "2s", "--down-for", "1500ms"],
    );
    let port = proxy.port;
    let client = std::thread::spawn(move || {
        let mut subscribed = false;
        let end = Instant::now() + Duration::from_secs(9);
        while Instant::now() < end {
            if let Some((mut s, _)) = raw_connect(port, "fixed-温度", true) {
                // Subscribes on its first connection only: the classic bug.
                if !subscribed {
                    raw::send(&mut s, &raw::subscribe(1, "温度/#"));
                    let _ = raw::read(&mut s);
                    subscribed = true;
                }
                while raw::read(&mut s).is_some() {}
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    client.join().unwrap();
    let (lines, _) = proxy.stop();
    let v = last_verdict(&lines, "fixed-温度");
    assert_eq!(v["backoff"], "fixed", "{v}");
    let period = v["base_ms"].as_u64().unwrap();
    assert!((290..=400).contains(&period), "{v}");
    assert_eq!(v["jitter"], false, "{v}");
    assert_eq!(
        v["hammering"], true,
        "retries faster than once a second: {v}"
    );
    assert_eq!(v["resubscribed"], false, "{v}");
    assert_eq!(v["missing"], serde_json::json!(["温度/#"]), "{v}");
}

#[test]
fn a_qos1_publish_in_flight_at_a_drop_is_counted_and_its_resend_seen() {
    let broker = Mosquitto::plain();
    // Each connection goes dark after 500 ms: the PUBLISH sent then is never acknowledged.
    let mut proxy = Proxy::start(
        &broker.url(),
        &["--blackhole-after", "500ms", "--drop-every", "1500ms"],
    );
    let (mut s, _) = raw_connect(proxy.port, "qos-été", false).expect("connected");
    std::thread::sleep(Duration::from_millis(700));
    raw::send(&mut s, &raw::publish_qos1("été/cmd", 7, false, b"on"));
    while raw::read(&mut s).is_some() {}
    // Reconnect with the session, re-send with DUP as MQTT asks, get the PUBACK.
    let (mut s, session) = raw_connect(proxy.port, "qos-été", false).expect("reconnected");
    assert!(session, "mosquitto kept the session");
    raw::send(&mut s, &raw::publish_qos1("été/cmd", 7, true, b"on"));
    let (first, body) = raw::read(&mut s).expect("PUBACK");
    assert_eq!((first, body), (0x40, vec![0, 7]));
    let v = proxy.wait_for(10, "the re-send", |v| {
        is(v, "verdict", None, "qos-été") && v["resent_dup"] == 1
    });
    assert_eq!(v["unacked_at_drop"], 1, "{v}");
    let (lines, _) = proxy.stop();
    let drop = lines
        .iter()
        .find(|v| is(v, "client", Some("disconnect"), "qos-été"))
        .unwrap();
    assert_eq!(drop["unacked"], serde_json::json!([7]), "{drop}");
    assert_eq!(drop["cause"], "dropped");
}

#[test]
fn a_black_hole_is_found_by_the_clients_own_keepalive() {
    let broker = Mosquitto::plain();
    let mut proxy = Proxy::start(&broker.url(), &["--blackhole-after", "1s"]);
    let port = proxy.port.to_string();
    let _sub = KillOnDrop(
        Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                "x",
                "-i",
                "ka-🚀",
                "-k",
                "5",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let closed = proxy.wait_for(25, "the client to give up", |v| {
        is(v, "client", Some("disconnect"), "ka-🚀")
    });
    assert_eq!(closed["cause"], "client_closed_black_hole", "{closed}");
    let up = closed["up_ms"].as_u64().unwrap();
    assert!(
        (5000..=16_000).contains(&up),
        "keep-alive 5 s finds it in a few seconds: {closed}"
    );
    proxy.wait_for(5, "the black-hole fault", |v| {
        v["fault"] == "connection_black_holed"
    });
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Time from CONNECT to CONNACK with a raw client.
fn connack_rtt(port: u16) -> Duration {
    let started = Instant::now();
    let _ = raw_connect(port, "rtt", true).expect("connected");
    started.elapsed()
}

#[test]
fn the_added_delay_is_what_was_asked() {
    let broker = Mosquitto::plain();
    let proxy = Proxy::start(&broker.url(), &["--delay", "200ms"]);
    let direct = (0..3).map(|_| connack_rtt(broker.port)).min().unwrap();
    let via = (0..3).map(|_| connack_rtt(proxy.port)).min().unwrap();
    // CONNECT and CONNACK each cross the delay once.
    let added = via.saturating_sub(direct) / 2;
    assert!(
        (Duration::from_millis(160)..=Duration::from_millis(240)).contains(&added),
        "added {added:?} each way (direct {direct:?}, via the proxy {via:?})"
    );
}

#[test]
fn garbage_is_forwarded_and_shown_in_hex_and_the_proxy_keeps_going() {
    let broker = Mosquitto::plain();
    let mut proxy = Proxy::start(&broker.url(), &[]);
    let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let g = proxy.wait_for(10, "the garbage line", |v| v["type"] == "garbage");
    assert!(
        g["head_hex"].as_str().unwrap().starts_with("47 45 54"),
        "{g}"
    );
    drop(s);
    // Still serving.
    let (_s, _) = raw_connect(proxy.port, "after-garbage", true).expect("connected");
    proxy.wait_for(10, "the next client", |v| {
        is(v, "client", Some("connack"), "after-garbage")
    });
}

#[test]
fn tls_on_both_sides_and_an_unreachable_upstream_are_handled() {
    let dir = TempDir::new("proxy-tls");
    let pki = Pki::write(&dir);
    let listener = pki.listener(&pki.server_cert, &pki.server_key, false);
    let cert = pki.server_cert.display().to_string();
    let key = pki.server_key.display().to_string();
    let ca = pki.ca.display().to_string();
    let broker = Mosquitto::in_dir(dir, &listener, "allow_anonymous true\n");
    let to = format!("mqtts://127.0.0.1:{}", broker.port);
    let mut proxy = Proxy::start(
        &to,
        &[
            "--ca-file",
            &ca,
            "--listen-tls",
            "--listen-cert",
            &cert,
            "--listen-key",
            &key,
        ],
    );
    let port = proxy.port.to_string();
    let out = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--cafile",
            &ca,
            "-t",
            "tls/é",
            "-m",
            "x",
        ])
        .args(["-i", "tls-client", "-q", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ack = proxy.wait_for(10, "CONNACK over TLS", |v| {
        is(v, "client", Some("connack"), "tls-client")
    });
    assert_eq!(ack["code"], 0);

    // Nothing listens upstream: the client's connection shows the cause.
    let dead = free_port();
    let mut proxy = Proxy::start(&format!("mqtt://127.0.0.1:{dead}"), &[]);
    let _ = raw_connect(proxy.port, "lonely", true);
    let closed = proxy.wait_for(10, "the upstream failure", |v| {
        is(v, "client", Some("disconnect"), "lonely")
    });
    assert_eq!(closed["cause"], "tcp_refused", "{closed}");
}

/// `mqscope proxy ARGS` run to its end (usage errors end at once).
fn proxy_usage(args: &[&str]) -> std::process::Output {
    let mut c = mqscope();
    c.arg("proxy").args(args);
    super::run(c, b"", 10)
}

#[test]
fn bad_flags_and_a_busy_port_are_usage_errors() {
    let out = proxy_usage(&["--to", "mqtt://127.0.0.1:1", "--delay", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--delay") && err.contains("200ms"), "{err}");

    let out = proxy_usage(&[
        "--to",
        "mqtt://127.0.0.1:1",
        "--json",
        "--delay",
        "10ms",
        "--jitter",
        "50ms",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jitter"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = proxy_usage(&["--to", "mqtt://127.0.0.1:1", "--json", "--listen", &addr]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen") && err.contains("in use"), "{err}");
}

#[cfg(feature = "embedded-broker")]
#[test]
fn the_proxy_works_in_front_of_rumqttd_too() {
    let ports = mqscope::demo::broker::start(None).unwrap();
    let mut proxy = Proxy::start(&format!("mqtt://127.0.0.1:{}", ports.v311), &[]);
    let port = proxy.port.to_string();
    // Not "温度/#": rumqttd 0.20's router panics on a topic that starts with a multi-byte
    // character (it slices `topic[..1]`).
    let sub_args = ["-t", "plant/温度/#", "-i", "r-sub", "-C", "1", "-W", "10"];
    let mut sub = KillOnDrop(
        Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(sub_args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    proxy.wait_for(10, "subscribe", |v| {
        is(v, "client", Some("subscribe"), "r-sub")
    });
    let pub_args = ["-t", "plant/温度/x", "-m", "7", "-i", "r-pub"];
    let published = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port])
        .args(pub_args)
        .status()
        .unwrap();
    assert!(published.success());
    let mut got = String::new();
    let mut out = sub.0.stdout.take().unwrap();
    out.read_to_string(&mut got).unwrap();
    assert_eq!(got.trim(), "7");
}

#[test]
fn a_websocket_upstream_carries_the_same_bytes() {
    use super::support::wsbridge::WsBridge;
    let broker = Mosquitto::plain();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bridge = runtime.block_on(WsBridge::start(broker.port));
    let to = format!("ws://127.0.0.1:{}/mqtt", bridge.port);
    let mut proxy = Proxy::start(&to, &[]);
    let port = proxy.port.to_string();
    let out = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "ws/été",
            "-m",
            "x",
            "-q",
            "1",
        ])
        .args(["-i", "ws-client"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ack = proxy.wait_for(10, "CONNACK over ws", |v| {
        is(v, "client", Some("connack"), "ws-client")
    });
    assert_eq!(ack["code"], 0);
    drop(bridge);
}

#[test]
fn bandwidth_paces_a_large_publish_and_refuse_turns_every_client_away() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("proxy-bw");
    let payload = dir.write("payload.bin", &"x".repeat(60 * 1024));
    let payload = payload.display().to_string();
    let proxy = Proxy::start(&broker.url(), &["--bandwidth", "20K"]);
    let port = proxy.port.to_string();
    let started = Instant::now();
    let out = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "bw/été",
            "-f",
            &payload,
            "-q",
            "1",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 60 KiB at 20 KiB/s: about three seconds on the way in.
    assert!(
        (Duration::from_millis(2500)..Duration::from_secs(8)).contains(&took),
        "took {took:?}"
    );

    let mut proxy = Proxy::start(&broker.url(), &["--refuse"]);
    assert!(raw_connect(proxy.port, "turned-away", true).is_none());
    let closed = proxy.wait_for(10, "the refusal", |v| {
        is(v, "client", Some("disconnect"), "turned-away")
    });
    assert_eq!(closed["cause"], "broker_down", "{closed}");
    proxy.wait_for(1, "the fault at start", |v| v["fault"] == "broker_down");
}

#[test]
fn a_profile_names_the_upstream_and_without_one_to_is_required() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("proxy-profile");
    let config = dir.write(
        "config.toml",
        &format!("[profiles.usine]\nurl = \"{}\"\n", broker.url()),
    );
    let mut proxy = Proxy::start_with(&["-P", "usine"], Some(&config));
    let (_s, _) = raw_connect(proxy.port, "via-profile-été", true).expect("connected");
    let ack = proxy.wait_for(10, "CONNACK", |v| {
        is(v, "client", Some("connack"), "via-profile-été")
    });
    assert_eq!(ack["code"], 0);

    let out = proxy_usage(&["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--to URL is required"), "{err}");
}

#[test]
fn plain_lines_escape_what_a_client_sends_and_a_large_publish_passes_whole() {
    let broker = Mosquitto::plain();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = mqscope();
    cmd.args(["proxy", "--listen", &listen, "--to", &broker.url()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let child = cmd.spawn().unwrap();
    let mut child = KillOnDrop(child);
    wait_listening(port);
    // A client id with an escape sequence and a newline: a terminal must never get them raw.
    // mosquitto refuses such an id (it closes): the proxy has read the CONNECT all the same.
    let _ = raw_connect(port, "evil\u{1b}[2J\nid-温度", true);
    // 2 MiB through the proxy, to a subscriber on the same proxy.
    let p = port.to_string();
    let mut sub = KillOnDrop(
        Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &p,
                "-t",
                "big/été",
                "-C",
                "1",
                "-W",
                "15",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let dir = TempDir::new("proxy-big");
    let big = "0123456789abcdef".repeat(128 * 1024);
    let file = dir.write("big.txt", &big);
    let sent = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &p,
            "-t",
            "big/été",
            "-q",
            "1",
            "-f",
        ])
        .arg(&file)
        .status()
        .unwrap();
    assert!(sent.success());
    let mut got = Vec::new();
    sub.0.stdout.take().unwrap().read_to_end(&mut got).unwrap();
    assert_eq!(
        got.len(),
        big.len() + 1,
        "the payload and mosquitto_sub's newline"
    );
    assert_eq!(&got[..big.len()], big.as_bytes());

    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        !out.contains('\u{1b}'),
        "an escape reached the output: {out:?}"
    );
    assert!(out.contains("evil\\x1b[2J"), "{out}");
    assert!(out.contains("CONNECT from"), "{out}");
}

#[test]
fn a_connection_dark_from_the_start_never_reaches_the_broker() {
    let broker = Mosquitto::plain();
    let mut proxy = Proxy::start(&broker.url(), &["--blackhole-after", "0s"]);
    assert!(
        raw_connect(proxy.port, "dark-été", true).is_none(),
        "no CONNACK through a black hole"
    );
    proxy.wait_for(10, "the CONNECT", |v| {
        is(v, "client", Some("connect"), "dark-été")
    });
    let (lines, _) = proxy.stop();
    assert!(
        !lines
            .iter()
            .any(|v| is(v, "client", Some("connack"), "dark-été")),
        "the broker answered a CONNECT it should never have seen: {lines:#?}"
    );
    assert!(!broker.log().contains("dark-"), "{}", broker.log());
}
