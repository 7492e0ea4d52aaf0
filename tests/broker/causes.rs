//! Every failure that can be produced locally maps to its cause code.

use mqscope::broker::{CauseKind, MqttVersion};

use super::support::fakes::{Behaviour, Blackhole, Fake};
use super::support::{Mosquitto, TempDir, free_port, password_file};
use super::{connected, first_failure, options};

#[tokio::test]
async fn refused_port_is_tcp_refused() {
    let url = format!("mqtt://127.0.0.1:{}", free_port());
    let cause = first_failure(options(&url, MqttVersion::V5)).await;
    assert_eq!(cause.kind, CauseKind::TcpRefused, "{cause}");
}

#[tokio::test]
async fn unresolvable_name_is_dns_failed() {
    let cause = first_failure(options("mqtt://nonexistent.invalid:1883", MqttVersion::V5)).await;
    assert_eq!(cause.kind, CauseKind::DnsFailed, "{cause}");
    assert!(
        cause.detail.contains("nonexistent.invalid"),
        "{}",
        cause.detail
    );
}

#[tokio::test]
async fn unanswered_syn_is_tcp_timeout() {
    let hole = Blackhole::start().await;
    let mut opts = options(&hole.url(), MqttVersion::V5);
    opts.connect_timeout = std::time::Duration::from_secs(1);
    let cause = first_failure(opts).await;
    assert_eq!(cause.kind, CauseKind::TcpTimeout, "{cause}");
}

#[tokio::test]
async fn silent_server_is_no_connack() {
    let fake = Fake::start(Behaviour::Silent).await;
    let mut opts = options(&fake.url(), MqttVersion::V5);
    opts.connect_timeout = std::time::Duration::from_secs(1);
    let cause = first_failure(opts).await;
    assert_eq!(cause.kind, CauseKind::NoConnack, "{cause}");
}

#[tokio::test]
async fn http_server_is_not_mqtt_and_suggests_websocket() {
    let fake = Fake::start(Behaviour::Http).await;
    let cause = first_failure(options(&fake.url(), MqttVersion::V5)).await;
    assert_eq!(cause.kind, CauseKind::NotMqtt, "{cause}");
    assert!(cause.detail.contains("ws://"), "{}", cause.detail);
}

#[tokio::test]
async fn close_on_connect_is_peer_closed() {
    let fake = Fake::start(Behaviour::CloseOnConnect).await;
    let cause = first_failure(options(&fake.url(), MqttVersion::V311)).await;
    assert_eq!(cause.kind, CauseKind::PeerClosed, "{cause}");
}

#[tokio::test]
async fn v5_to_a_v311_only_broker_is_protocol_version_unsupported() {
    let fake = Fake::start(Behaviour::V311Only).await;
    let cause = first_failure(options(&fake.url(), MqttVersion::V5)).await;
    assert_eq!(cause.kind, CauseKind::ProtocolVersionUnsupported, "{cause}");
}

#[tokio::test]
async fn auto_falls_back_to_v311() {
    use mqscope::broker::{BrokerEvent, LifecycleKind, Protocol};
    let fake = Fake::start(Behaviour::V311Only).await;
    let mut handle =
        mqscope::broker::BrokerHandle::spawn(options(&fake.url(), MqttVersion::Auto)).unwrap();
    let events = super::until(&mut handle, 10, super::is_connected).await;
    assert!(events.iter().any(|e| matches!(e,
        BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::FallbackToV311 { .. }))));
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    let LifecycleKind::Connected(info) = &l.kind else {
        unreachable!()
    };
    assert_eq!(info.protocol, Some(Protocol::V311));
}

/// A 3.1.1-only broker that says nothing to an MQTT 5 CONNECT: `-V auto` tries 3.1.1 after
/// a short wait (not the whole connect timeout) and stays with it.
#[tokio::test]
async fn auto_falls_back_to_v311_when_v5_goes_unanswered() {
    use mqscope::broker::{BrokerEvent, LifecycleKind, Protocol};
    let fake = Fake::start(Behaviour::V311SilentToV5).await;
    let mut opts = options(&fake.url(), MqttVersion::Auto);
    opts.connect_timeout = std::time::Duration::from_secs(20);
    let started = std::time::Instant::now();
    let mut handle = mqscope::broker::BrokerHandle::spawn(opts).unwrap();
    let events = super::until(&mut handle, 15, super::is_connected).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let fallback = events.iter().find_map(|e| match e {
        BrokerEvent::Lifecycle(l) => match &l.kind {
            LifecycleKind::FallbackToV311 { cause } => Some(cause.clone()),
            _ => None,
        },
        _ => None,
    });
    let cause = fallback.expect("a fallback");
    assert_eq!(cause.kind, CauseKind::NoConnack);
    assert!(
        cause
            .detail
            .contains("MQTT 5 CONNECT went unanswered for 3 s"),
        "{}",
        cause.detail
    );
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    let LifecycleKind::Connected(info) = &l.kind else {
        unreachable!()
    };
    assert_eq!(info.protocol, Some(Protocol::V311));
    handle.shutdown().await;
}

/// A broker that answers nothing in either version is not a version problem: after the
/// 3.1.1 try, MQTT 5 again.
#[tokio::test]
async fn auto_goes_back_to_v5_when_311_goes_unanswered_too() {
    use mqscope::broker::{BrokerEvent, LifecycleKind, Protocol};
    let fake = Fake::start(Behaviour::Silent).await;
    let mut opts = options(&fake.url(), MqttVersion::Auto);
    opts.connect_timeout = std::time::Duration::from_secs(1);
    let mut handle = mqscope::broker::BrokerHandle::spawn(opts).unwrap();
    let mut protocols = Vec::new();
    super::until(&mut handle, 15, |e| {
        if let BrokerEvent::Lifecycle(l) = e {
            if let LifecycleKind::Connecting { protocol, .. } = &l.kind {
                protocols.push(*protocol);
            }
        }
        protocols.len() >= 3
    })
    .await;
    assert_eq!(protocols, [Protocol::V5, Protocol::V311, Protocol::V5]);
    handle.shutdown().await;
}

/// MQTT 5's DISCONNECT 0x8E names the takeover.
#[tokio::test]
async fn disconnect_0x8e_is_session_taken_over() {
    use mqscope::broker::{BrokerEvent, LifecycleKind};
    let fake = Fake::start(Behaviour::TakeoverV5).await;
    let mut handle =
        mqscope::broker::BrokerHandle::spawn(options(&fake.url(), MqttVersion::V5)).unwrap();
    let events = super::until(&mut handle, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Disconnected { .. }))
    })
    .await;
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    let LifecycleKind::Disconnected { cause, .. } = &l.kind else {
        unreachable!()
    };
    assert_eq!(cause.kind, CauseKind::SessionTakenOver, "{cause}");
    assert!(cause.kind.hint().contains("-i"), "{}", cause.kind.hint());
    handle.shutdown().await;
}

/// Two clients with one client id against mosquitto, in both versions: mosquitto closes the
/// older connection without a word (even on MQTT 5), each reconnects and closes the other.
/// From the second close in a row soon after CONNACK the cause says it is probably a client-id
/// fight; the delays keep growing (short links never reset them).
#[tokio::test]
async fn two_clients_with_one_id_are_a_client_id_collision() {
    use mqscope::broker::{BrokerEvent, LifecycleKind};
    let broker = Mosquitto::plain();
    for version in [MqttVersion::V5, MqttVersion::V311] {
        let id = format!("twin-{}", mqscope::broker::options::random_client_id());
        let make = || {
            let mut o = options(&broker.url(), version);
            o.client_id.clone_from(&id);
            o.client_id_given = true;
            o
        };
        let mut a = mqscope::broker::BrokerHandle::spawn(make()).unwrap();
        let mut b = mqscope::broker::BrokerHandle::spawn(make()).unwrap();
        let mut causes = Vec::new();
        // Each client's delays, and which one saw the collision.
        let mut delays = [Vec::new(), Vec::new()];
        let mut seen = |e: &BrokerEvent, who: usize, delays: &mut [Vec<_>; 2]| {
            if let BrokerEvent::Lifecycle(l) = e {
                match &l.kind {
                    LifecycleKind::Disconnected { cause, .. } => {
                        causes.push(cause.kind);
                        if cause.kind == CauseKind::ClientIdCollision {
                            return Some(cause.clone());
                        }
                    }
                    LifecycleKind::Backoff { delay } => delays[who].push(*delay),
                    _ => {}
                }
            }
            None
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut found = None;
        while found.is_none() && tokio::time::Instant::now() < deadline {
            tokio::select! {
                Some(e) = a.events.recv() => found = seen(&e, 0, &mut delays).map(|c| (0, c)),
                Some(e) = b.events.recv() => found = seen(&e, 1, &mut delays).map(|c| (1, c)),
            }
        }
        let Some((who, cause)) = found else {
            panic!("{version:?}: no collision seen; causes {causes:?}")
        };
        assert!(cause.detail.contains(&id), "{}", cause.detail);
        assert!(cause.detail.contains("times in a row"), "{}", cause.detail);
        // Its next delay is longer than the one before: short links never reset them.
        let handle = if who == 0 { &mut a } else { &mut b };
        let before = delays[who].len();
        while delays[who].len() == before {
            let e = tokio::time::timeout(std::time::Duration::from_secs(5), handle.events.recv())
                .await
                .unwrap()
                .unwrap();
            if let BrokerEvent::Lifecycle(l) = &e {
                if let LifecycleKind::Backoff { delay } = &l.kind {
                    delays[who].push(*delay);
                }
            }
        }
        let d = &delays[who];
        assert!(d[d.len() - 1] > d[d.len() - 2], "{version:?}: {d:?}");
        a.shutdown().await;
        b.shutdown().await;
    }
}

/// The same pattern with a random client id is not called a collision (the id cannot clash).
#[tokio::test]
async fn repeated_closes_with_a_random_id_stay_peer_closed() {
    use mqscope::broker::{BrokerEvent, LifecycleKind};
    let fake = Fake::start(Behaviour::TakeoverV5).await;
    let mut opts = options(&fake.url(), MqttVersion::V311);
    opts.version = MqttVersion::V5;
    let mut handle = mqscope::broker::BrokerHandle::spawn(opts).unwrap();
    let mut kinds = Vec::new();
    super::until(&mut handle, 15, |e| {
        if let BrokerEvent::Lifecycle(l) = e {
            if let LifecycleKind::Disconnected { cause, .. } = &l.kind {
                kinds.push(cause.kind);
            }
        }
        kinds.len() >= 3
    })
    .await;
    assert!(
        kinds.iter().all(|k| *k == CauseKind::SessionTakenOver),
        "{kinds:?}"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn server_disconnect_carries_reason() {
    use mqscope::broker::{BrokerEvent, LifecycleKind};
    let fake = Fake::start(Behaviour::DisconnectV5).await;
    let mut handle =
        mqscope::broker::BrokerHandle::spawn(options(&fake.url(), MqttVersion::V5)).unwrap();
    let events = super::until(&mut handle, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Disconnected { .. }))
    })
    .await;
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    let LifecycleKind::Disconnected { cause, .. } = &l.kind else {
        unreachable!()
    };
    assert_eq!(cause.kind, CauseKind::ServerDisconnect, "{cause}");
    assert!(
        cause
            .detail
            .contains("0x8b server shutting down: maintenance"),
        "{}",
        cause.detail
    );
}

fn auth_broker() -> Mosquitto {
    let dir = TempDir::new("auth");
    let passwd = password_file(&dir, &[("alice", "correct-horse")]);
    Mosquitto::in_dir(
        dir,
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\n",
            passwd.display()
        ),
    )
}

#[tokio::test]
async fn credentials_refusals_in_both_versions() {
    let broker = auth_broker();
    for version in [MqttVersion::V5, MqttVersion::V311] {
        // mosquitto answers "not authorized" for a wrong password, an unknown user and no user.
        let mut wrong = options(&broker.url(), version);
        wrong.username = Some("alice".into());
        wrong.password = Some(mqscope::secret::Secret::new("wrong"));
        let cause = first_failure(wrong).await;
        assert_eq!(cause.kind, CauseKind::NotAuthorized, "{version:?}: {cause}");

        let mut unknown = options(&broker.url(), version);
        unknown.username = Some("mallory".into());
        unknown.password = Some(mqscope::secret::Secret::new("x"));
        assert_eq!(first_failure(unknown).await.kind, CauseKind::NotAuthorized);

        let anonymous = options(&broker.url(), version);
        assert_eq!(
            first_failure(anonymous).await.kind,
            CauseKind::NotAuthorized
        );

        let mut right = options(&broker.url(), version);
        right.username = Some("alice".into());
        right.password = Some(mqscope::secret::Secret::new("correct-horse"));
        connected(right).await.shutdown().await;
    }
}

#[tokio::test]
async fn permanent_causes_are_not_retried() {
    use mqscope::broker::{BrokerEvent, LifecycleKind};
    let broker = auth_broker();
    let mut handle =
        mqscope::broker::BrokerHandle::spawn(options(&broker.url(), MqttVersion::V5)).unwrap();
    let events = super::until(&mut handle, 10, |e| {
        matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::GaveUp { .. }))
    })
    .await;
    let attempts = events
        .iter()
        .filter(|e| matches!(e, BrokerEvent::Lifecycle(l) if matches!(l.kind, LifecycleKind::Connecting { .. })))
        .count();
    assert_eq!(
        attempts, 1,
        "not authorized must not be retried automatically"
    );
    let Some(BrokerEvent::Lifecycle(l)) = events.last() else {
        unreachable!()
    };
    assert!(matches!(
        l.kind,
        LifecycleKind::GaveUp {
            permanent: true,
            ..
        }
    ));
}

#[tokio::test]
async fn v5_refusal_codes_map_to_causes_with_the_reason_string() {
    for (code, kind) in [
        (0x86, CauseKind::BadCredentials),
        (0x88, CauseKind::ServerUnavailable),
        (0x89, CauseKind::ServerUnavailable),
        (0x8A, CauseKind::Banned),
        (0x85, CauseKind::ClientIdRejected),
        (0x84, CauseKind::ProtocolVersionUnsupported),
    ] {
        let fake = Fake::start(Behaviour::RefuseV5(code)).await;
        let cause = first_failure(options(&fake.url(), MqttVersion::V5)).await;
        assert_eq!(cause.kind, kind, "{code:#04x}: {cause}");
        assert!(
            cause.detail.contains("go away"),
            "reason string kept: {}",
            cause.detail
        );
    }
}

#[tokio::test]
async fn empty_client_id_is_refused_locally_without_clean_start() {
    let mut opts = options("mqtt://127.0.0.1:1883", MqttVersion::V311);
    opts.client_id = String::new();
    opts.clean_start = false;
    let Err(cause) = mqscope::broker::BrokerHandle::spawn(opts) else {
        panic!("an empty client id cannot resume a session");
    };
    assert_eq!(cause.kind, CauseKind::LocalError);
}

#[tokio::test]
async fn mosquitto_rejects_a_client_id_it_does_not_accept() {
    // mosquitto refuses client ids longer than 23 bytes only in strict mode; an id with a
    // wildcard-free but invalid UTF-8 sequence cannot be sent, so use its clientid_prefixes.
    let broker = Mosquitto::with_listener("", "allow_anonymous true\nclientid_prefixes ok-\n");
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let mut opts = options(&broker.url(), version);
        opts.client_id = "wrong-prefix".into();
        let cause = first_failure(opts).await;
        assert!(
            matches!(
                cause.kind,
                CauseKind::ClientIdRejected | CauseKind::NotAuthorized
            ),
            "{version:?}: {cause}"
        );
    }
}
