//! Certificates generated at test time: a CA, server certificates (right SAN, wrong SAN,
//! expired), client certificates from the same CA and from a stranger CA.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::TempDir;

pub struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf certificate and its key, as PEM.
    pub fn issue(&self, cn: &str, sans: &[&str], client: bool, expired: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(ToString::to_string).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Every file a TLS test needs, written into one directory.
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub wrong_name_cert: PathBuf,
    pub wrong_name_key: PathBuf,
    pub expired_cert: PathBuf,
    pub expired_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub stranger_ca: PathBuf,
    pub stranger_client_cert: PathBuf,
    pub stranger_client_key: PathBuf,
    pub garbage: PathBuf,
}

impl Pki {
    pub fn write(dir: &TempDir) -> Self {
        let ca = Ca::new("mqscope test CA");
        let stranger = Ca::new("stranger CA");
        let (server_cert, server_key) =
            ca.issue("broker", &["localhost", "127.0.0.1"], false, false);
        let (wrong_cert, wrong_key) = ca.issue("elsewhere", &["elsewhere.example"], false, false);
        let (expired_cert, expired_key) =
            ca.issue("broker", &["localhost", "127.0.0.1"], false, true);
        let (client_cert, client_key) = ca.issue("client", &[], true, false);
        let (stranger_cert, stranger_key) = stranger.issue("intruder", &[], true, false);
        Self {
            ca: dir.write("ca.pem", &ca.pem()),
            server_cert: dir.write("server.pem", &server_cert),
            server_key: dir.write("server.key", &server_key),
            wrong_name_cert: dir.write("wrong.pem", &wrong_cert),
            wrong_name_key: dir.write("wrong.key", &wrong_key),
            expired_cert: dir.write("expired.pem", &expired_cert),
            expired_key: dir.write("expired.key", &expired_key),
            client_cert: dir.write("client.pem", &client_cert),
            client_key: dir.write("client.key", &client_key),
            stranger_ca: dir.write("stranger-ca.pem", &stranger.pem()),
            stranger_client_cert: dir.write("stranger-client.pem", &stranger_cert),
            stranger_client_key: dir.write("stranger-client.key", &stranger_key),
            garbage: dir.write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n"),
        }
    }

    /// mosquitto listener lines for a TLS listener with this certificate pair.
    pub fn listener(&self, cert: &std::path::Path, key: &std::path::Path, mtls: bool) -> String {
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {}\n",
            self.ca.display(),
            cert.display(),
            key.display(),
            mtls
        )
    }
}
