use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::mpsc;

use super::*;
use crate::broker::event::BrokerEvent;
use crate::broker::pump::Stats;

/// A QoS 0 (or `qos`) PUBLISH; `props` are MQTT 5 property bytes, `None` for MQTT 3.1.1.
fn publish(topic: &str, payload: &[u8], qos: u8, props: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16::try_from(topic.len()).expect("short").to_be_bytes());
    body.extend(topic.as_bytes());
    if qos > 0 {
        body.extend(7u16.to_be_bytes());
    }
    if let Some(props) = props {
        wire::encode_varint(props.len(), &mut body);
        body.extend(props);
    }
    body.extend(payload);
    let mut packet = vec![0x30 | (qos << 1)];
    wire::encode_varint(body.len(), &mut packet);
    packet.extend(body);
    packet
}

const PINGRESP: [u8; 2] = [0xd0, 0x00];

struct Rig {
    direct: Direct,
    rx: mpsc::Receiver<BrokerEvent>,
}

fn rig(protocol: u8) -> Rig {
    let (tx, rx) = mpsc::channel(64);
    let out = Emitter::new(
        tx,
        Arc::new(Stats::default()),
        Arc::new(AtomicUsize::new(0)),
    );
    Rig {
        direct: Direct {
            out,
            order: Arc::default(),
            protocol: Arc::new(AtomicU8::new(protocol)),
        },
        rx,
    }
}

impl Rig {
    fn split(&self, buf: &mut BytesMut) -> Vec<u8> {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        self.direct
            .split(buf, at)
            .map(|b| b.to_vec())
            .unwrap_or_default()
    }

    fn topics(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(event) = self.rx.try_recv() {
            if let BrokerEvent::Message(m) = event {
                seen.push(m.topic);
            }
        }
        seen
    }
}

#[test]
fn qos0_messages_go_straight_out_with_what_rumqttc_would_have_given() {
    for protocol in [4, 5] {
        let props: Option<&[u8]> = (protocol == 5).then_some(&[0x03, 0x00, 0x01, b'j']);
        let one = publish("温度/x", b"{\"t\":21.5}", 0, props);
        let mut buf = BytesMut::from(&one[..]);
        let mut r = rig(protocol);
        assert!(r.split(&mut buf).is_empty(), "nothing for rumqttc");
        assert!(buf.is_empty());
        let Ok(BrokerEvent::Message(m)) = r.rx.try_recv() else {
            panic!("a message")
        };
        assert_eq!(m.topic, "温度/x");
        assert_eq!(&m.payload[..], b"{\"t\":21.5}");
        assert_eq!(
            (m.qos, m.retain, m.dup, m.wire_size),
            (0, false, false, one.len())
        );
        if protocol == 5 {
            let p = m.properties.expect("properties");
            assert_eq!(p.content_type.as_deref(), Some("j"));
        }
    }
}

#[test]
fn a_packet_cut_by_the_read_waits_for_the_rest() {
    let whole = [
        publish("été/a", b"1", 0, Some(&[])),
        publish("été/b", &[0xff; 300], 0, Some(&[])),
    ]
    .concat();
    let mut r = rig(5);
    for cut in 0..whole.len() {
        let mut buf = BytesMut::from(&whole[..cut]);
        assert!(r.split(&mut buf).is_empty());
        buf.extend_from_slice(&whole[cut..]);
        assert!(r.split(&mut buf).is_empty());
        assert_eq!(r.topics(), ["été/a", "été/b"], "cut at {cut}");
    }
}

#[test]
fn after_a_packet_for_rumqttc_nothing_overtakes_it_until_the_supervisor_handled_it() {
    let mut r = rig(5);
    let first = publish("a/0", b"0", 0, Some(&[]));
    let qos1 = publish("a/1", b"1", 1, Some(&[]));
    let after = publish("a/2", b"2", 0, Some(&[]));
    let mut buf = BytesMut::from(&[first.clone(), qos1.clone(), after.clone()].concat()[..]);
    // The first goes out; the QoS 1 one and everything after it go to rumqttc, in order.
    assert_eq!(r.split(&mut buf), [qos1.clone(), after.clone()].concat());
    assert_eq!(r.topics(), ["a/0"]);
    // rumqttc has two packets to hand back: a later QoS 0 message waits its turn.
    let late = publish("a/3", b"3", 0, Some(&[]));
    let mut buf = BytesMut::from(&late[..]);
    assert_eq!(r.split(&mut buf), late);
    r.direct.order.handled_one();
    r.direct.order.handled_one();
    let mut buf = BytesMut::from(&[PINGRESP.to_vec(), late.clone()].concat()[..]);
    assert_eq!(
        r.split(&mut buf),
        [PINGRESP.to_vec(), late.clone()].concat()
    );
    // The late message, the PINGRESP and the late message again.
    for _ in 0..3 {
        r.direct.order.handled_one();
    }
    let mut buf = BytesMut::from(&late[..]);
    assert!(r.split(&mut buf).is_empty(), "settled: the short way again");
    assert_eq!(r.topics(), ["a/3"]);
}

#[test]
fn aliases_unknown_protocols_and_what_the_parser_refuses_go_to_rumqttc() {
    // A topic alias (0x23): the session keeps the alias table.
    let alias = publish("t", b"x", 0, Some(&[0x23, 0x00, 0x01]));
    // A property the parser does not know (0xff).
    let refused = publish("t", b"x", 0, Some(&[0xff]));
    for packet in [alias, refused] {
        let mut r = rig(5);
        let after = publish("温度", b"y", 0, Some(&[]));
        let mut buf = BytesMut::from(&[packet.clone(), after.clone()].concat()[..]);
        assert_eq!(r.split(&mut buf), [packet, after].concat());
        assert!(r.topics().is_empty());
    }
    // Before the CONNECT was seen nobody knows how to read a PUBLISH.
    let mut r = rig(0);
    let packet = publish("t", b"x", 0, None);
    let mut buf = BytesMut::from(&packet[..]);
    assert_eq!(r.split(&mut buf), packet);
    assert!(r.topics().is_empty());
}

#[test]
fn hostile_topics_and_payloads_arrive_as_sent() {
    let mut r = rig(4);
    let topic = "t/\u{1b}]0;x\u{7}/🦀";
    let payload = [0u8, 0xff, 0x1b, b'[', b'2', b'J'];
    let mut buf = BytesMut::from(&publish(topic, &payload, 0, None)[..]);
    assert!(r.split(&mut buf).is_empty());
    let Ok(BrokerEvent::Message(m)) = r.rx.try_recv() else {
        panic!("a message")
    };
    // Escaping is the display's job: the connection layer keeps the bytes.
    assert_eq!((m.topic.as_str(), &m.payload[..]), (topic, &payload[..]));
}
