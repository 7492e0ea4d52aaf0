//! The rustls client configuration: trust roots, client certificates, ALPN, `--insecure`.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::cause::{Cause, CauseKind};
use super::options::TlsSettings;

/// Builds the client configuration; file problems become `local_error` causes naming the file.
pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, Cause> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| local(format!("TLS setup: {e}")))?;

    let builder = if settings.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        builder.with_root_certificates(root_store(settings)?)
    };

    let mut config = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => {
            let (chain, key) = cert_and_key(cert, key, ("--cert", "--key")).map_err(local)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| local(format!("--cert/--key do not form a usable pair: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => return Err(local("--cert needs --key".into())),
        (None, Some(_)) => return Err(local("--key needs --cert".into())),
    };
    config.alpn_protocols = settings
        .alpn
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
    Ok(Arc::new(config))
}

/// A certificate chain and its private key from PEM files; errors name the file and the flag
/// it came from (`flags`: the certificate's and the key's).
pub fn cert_and_key(
    cert: &std::path::Path,
    key: &std::path::Path,
    flags: (&str, &str),
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("{} {}: {e}", flags.0, cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{} {}: no certificate found",
            flags.0,
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{} {}: {e}", flags.1, key.display()))?;
    Ok((chain, key))
}

/// The server name for SNI and verification.
pub fn server_name(settings: &TlsSettings, host: &str) -> Result<ServerName<'static>, Cause> {
    let name = settings.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string())
        .map_err(|e| local(format!("'{name}' is not a valid TLS server name: {e}")))
}

fn root_store(settings: &TlsSettings) -> Result<RootCertStore, Cause> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = &settings.ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| local(format!("--ca-file {}: {e}", path.display())))?;
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(local(format!(
                "--ca-file {}: no valid certificate in the file",
                path.display()
            )));
        }
    } else {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err(local(
                "no trusted CA certificates found on this system: pass --ca-file".into(),
            ));
        }
    }
    Ok(roots)
}

fn local(detail: String) -> Cause {
    Cause::new(CauseKind::LocalError, detail)
}

/// `--insecure`: accept any certificate, but still check handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, tokio_rustls::rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        tokio_rustls::rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        tokio_rustls::rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
