//! TLS against mosquitto with certificates generated at test time.

use std::path::Path;

use mqscope::broker::{BrokerOptions, CauseKind, MqttVersion};

use super::support::pki::Pki;
use super::support::{Mosquitto, TempDir};
use super::{connected, first_failure, options};

struct TlsBroker {
    broker: Mosquitto,
    pki: Pki,
}

fn tls_broker(cert: impl Fn(&Pki) -> (&Path, &Path), mtls: bool) -> TlsBroker {
    let dir = TempDir::new("tls");
    let pki = Pki::write(&dir);
    let (c, k) = cert(&pki);
    let listener = pki.listener(c, k, mtls);
    let broker = Mosquitto::in_dir(dir, &listener, "allow_anonymous true\n");
    TlsBroker { broker, pki }
}

fn tls_options(b: &TlsBroker, host: &str) -> BrokerOptions {
    let mut opts = options(
        &format!("mqtts://{host}:{}", b.broker.port),
        MqttVersion::V5,
    );
    opts.tls.ca_file = Some(b.pki.ca.clone());
    opts
}

fn good(pki: &Pki) -> (&Path, &Path) {
    (&pki.server_cert, &pki.server_key)
}

#[tokio::test]
async fn tls_happy_path_verifies_the_broker() {
    let b = tls_broker(good, false);
    connected(tls_options(&b, "127.0.0.1"))
        .await
        .shutdown()
        .await;
    connected(tls_options(&b, "localhost"))
        .await
        .shutdown()
        .await;
}

#[tokio::test]
async fn unknown_ca_is_tls_unknown_issuer() {
    let b = tls_broker(good, false);
    let mut opts = tls_options(&b, "127.0.0.1");
    opts.tls.ca_file = Some(b.pki.stranger_ca.clone());
    let cause = first_failure(opts).await;
    assert_eq!(cause.kind, CauseKind::TlsUnknownIssuer, "{cause}");
    // --insecure gets through (for tests only).
    let mut insecure = tls_options(&b, "127.0.0.1");
    insecure.tls.ca_file = None;
    insecure.tls.insecure = true;
    connected(insecure).await.shutdown().await;
}

#[tokio::test]
async fn wrong_name_is_tls_hostname_mismatch() {
    let b = tls_broker(|p| (&p.wrong_name_cert, &p.wrong_name_key), false);
    let cause = first_failure(tls_options(&b, "127.0.0.1")).await;
    assert_eq!(cause.kind, CauseKind::TlsHostnameMismatch, "{cause}");
}

#[tokio::test]
async fn expired_certificate_is_tls_expired() {
    let b = tls_broker(|p| (&p.expired_cert, &p.expired_key), false);
    let cause = first_failure(tls_options(&b, "127.0.0.1")).await;
    assert_eq!(cause.kind, CauseKind::TlsExpired, "{cause}");
}

#[tokio::test]
async fn mtls_needs_and_checks_the_client_certificate() {
    let b = tls_broker(good, true);
    let cause = first_failure(tls_options(&b, "127.0.0.1")).await;
    assert_eq!(cause.kind, CauseKind::TlsClientCertRequired, "{cause}");

    let mut stranger = tls_options(&b, "127.0.0.1");
    stranger.tls.cert = Some(b.pki.stranger_client_cert.clone());
    stranger.tls.key = Some(b.pki.stranger_client_key.clone());
    let cause = first_failure(stranger).await;
    assert_eq!(cause.kind, CauseKind::TlsClientCertRejected, "{cause}");

    let mut ok = tls_options(&b, "127.0.0.1");
    ok.tls.cert = Some(b.pki.client_cert.clone());
    ok.tls.key = Some(b.pki.client_key.clone());
    connected(ok).await.shutdown().await;
}

#[tokio::test]
async fn tls_to_a_plain_port_is_not_tls() {
    let broker = Mosquitto::plain();
    let dir = TempDir::new("pki");
    let pki = Pki::write(&dir);
    let mut opts = options(
        &format!("mqtts://127.0.0.1:{}", broker.port),
        MqttVersion::V5,
    );
    opts.tls.ca_file = Some(pki.ca.clone());
    let cause = first_failure(opts).await;
    assert_eq!(cause.kind, CauseKind::NotTls, "{cause}");
}

#[tokio::test]
async fn plain_to_a_tls_port_is_tls_expected() {
    let b = tls_broker(good, false);
    let opts = options(
        &format!("mqtt://127.0.0.1:{}", b.broker.port),
        MqttVersion::V311,
    );
    let cause = first_failure(opts).await;
    assert_eq!(cause.kind, CauseKind::TlsExpected, "{cause}");
}

#[tokio::test]
async fn garbage_ca_file_is_a_local_error_at_start() {
    let dir = TempDir::new("pki");
    let pki = Pki::write(&dir);
    let mut opts = options("mqtts://127.0.0.1:8883", MqttVersion::V5);
    opts.tls.ca_file = Some(pki.garbage.clone());
    let Err(cause) = mqscope::broker::BrokerHandle::spawn(opts) else {
        panic!("a garbage CA file must be refused before connecting");
    };
    assert_eq!(cause.kind, CauseKind::LocalError);
    assert!(cause.detail.contains("garbage.pem"), "{}", cause.detail);
}

#[tokio::test]
async fn websocket_round_trip_and_upgrade_failures() {
    use super::support::fakes::{Behaviour, Fake};
    use super::support::wsbridge::WsBridge;
    use mqscope::broker::{PublishOutcome, PublishRequest};

    let broker = Mosquitto::plain();
    let bridge = WsBridge::start(broker.port).await;
    let url = format!("ws://127.0.0.1:{}/mqtt", bridge.port);
    let mut sub = connected(super::subscribing(
        options(&url, MqttVersion::V5),
        "ws/#",
        1,
    ))
    .await;
    let publisher = connected(options(&url, MqttVersion::V311)).await;
    let req = PublishRequest {
        topic: "ws/t".into(),
        payload: vec![7u8; 300_000].into(),
        qos: 1,
        retain: false,
        properties: None,
    };
    assert_eq!(
        publisher.publish(req).await,
        PublishOutcome::Acked { reason: 0 }
    );
    let got = super::messages(&mut sub, 1).await;
    assert_eq!(got[0].payload.len(), 300_000);

    let wrong_path = format!("ws://127.0.0.1:{}/other", bridge.port);
    let cause = first_failure(options(&wrong_path, MqttVersion::V5)).await;
    assert_eq!(cause.kind, CauseKind::WsUpgradeFailed, "{cause}");
    assert!(cause.detail.contains("404"), "{}", cause.detail);

    let plain = Mosquitto::plain();
    let cause = first_failure(options(
        &format!("ws://127.0.0.1:{}/", plain.port),
        MqttVersion::V5,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::WsUpgradeFailed, "{cause}");

    let http = Fake::start(Behaviour::Http).await;
    let cause = first_failure(options(
        &format!("ws://127.0.0.1:{}/", http.port),
        MqttVersion::V5,
    ))
    .await;
    assert_eq!(cause.kind, CauseKind::WsUpgradeFailed, "{cause}");
    assert!(cause.detail.contains("400"), "{}", cause.detail);
}

#[tokio::test]
async fn no_shared_cipher_is_tls_handshake_failure() {
    let dir = TempDir::new("tls");
    let pki = Pki::write(&dir);
    // TLS 1.3 with only a CCM suite, which rustls does not offer.
    let listener = format!(
        "{}tls_version tlsv1.3\nciphers_tls1.3 TLS_AES_128_CCM_SHA256\n",
        pki.listener(&pki.server_cert, &pki.server_key, false)
    );
    let broker = Mosquitto::in_dir(dir, &listener, "allow_anonymous true\n");
    let b = TlsBroker { broker, pki };
    let cause = first_failure(tls_options(&b, "127.0.0.1")).await;
    assert_eq!(cause.kind, CauseKind::TlsHandshakeFailure, "{cause}");
}
