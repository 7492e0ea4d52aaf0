//! Cloud brokers: profile templates (`config init --template`) and what the doctor knows of
//! each provider's typical failures, recognised from the broker's host name.

use crate::broker::{BrokerOptions, Cause, CauseKind};

/// A cloud broker the templates and the doctor know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cloud {
    #[value(name = "aws-iot")]
    AwsIot,
    #[value(name = "azure-iot-hub")]
    AzureIotHub,
    #[value(name = "hivemq-cloud")]
    HivemqCloud,
    #[value(name = "emqx-cloud")]
    EmqxCloud,
}

impl Cloud {
    /// The template's name, also its profile's.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::AwsIot => "aws-iot",
            Cloud::AzureIotHub => "azure-iot-hub",
            Cloud::HivemqCloud => "hivemq-cloud",
            Cloud::EmqxCloud => "emqx-cloud",
        }
    }

    /// The commented profile, as `[profiles.NAME]`.
    pub fn template(self) -> &'static str {
        match self {
            Cloud::AwsIot => include_str!("../../assets/cloud/aws-iot.toml"),
            Cloud::AzureIotHub => include_str!("../../assets/cloud/azure-iot-hub.toml"),
            Cloud::HivemqCloud => include_str!("../../assets/cloud/hivemq-cloud.toml"),
            Cloud::EmqxCloud => include_str!("../../assets/cloud/emqx-cloud.toml"),
        }
    }

    /// The provider a broker's host name belongs to.
    pub fn of_host(host: &str) -> Option<Self> {
        let host = host.to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        if host.ends_with(".amazonaws.com") && host.contains(".iot.") {
            Some(Cloud::AwsIot)
        } else if host.ends_with(".azure-devices.net") {
            Some(Cloud::AzureIotHub)
        } else if host.ends_with(".hivemq.cloud") {
            Some(Cloud::HivemqCloud)
        } else if host.ends_with(".emqxsl.com") || host.ends_with(".emqx.cloud") {
            Some(Cloud::EmqxCloud)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            Cloud::AwsIot => "AWS IoT Core",
            Cloud::AzureIotHub => "Azure IoT Hub",
            Cloud::HivemqCloud => "HiveMQ Cloud",
            Cloud::EmqxCloud => "EMQX Cloud",
        }
    }
}

/// What the doctor adds when a check against a known cloud broker failed with `cause`.
pub fn hints(opts: &BrokerOptions, cause: &Cause) -> Vec<String> {
    let Some(cloud) = Cloud::of_host(&opts.target.host) else {
        return Vec::new();
    };
    let name = cloud.label();
    let mut out = Vec::new();
    let closed = matches!(
        cause.kind,
        CauseKind::PeerClosed | CauseKind::TcpReset | CauseKind::AclDenied | CauseKind::NoConnack
    );
    let refused = matches!(
        cause.kind,
        CauseKind::NotAuthorized | CauseKind::BadCredentials | CauseKind::ClientIdRejected
    );
    match cloud {
        Cloud::AwsIot => {
            if opts.tls.cert.is_none() {
                out.push(format!(
                    "{name} authenticates devices by X.509 certificate: --cert and --key (and \
                     --ca-file AmazonRootCA1.pem), or `mqscope config init --template aws-iot`"
                ));
            }
            if opts.target.port == 443 && opts.tls.alpn.is_empty() {
                out.push(format!("{name} on port 443 needs --alpn x-amzn-mqtt-ca"));
            }
            if closed {
                out.push(format!(
                    "{name} closes the connection without a reason code when the IoT policy \
                     denies it: check that the certificate's policy allows iot:Connect for the \
                     client id {:?}, iot:Subscribe for each filter and iot:Publish/iot:Receive \
                     for the topics",
                    opts.client_id
                ));
            }
        }
        Cloud::AzureIotHub => {
            let user = opts.username.as_deref().unwrap_or_default();
            if !user.contains("/?api-version=") {
                out.push(format!(
                    "{name} wants the user name HUB.azure-devices.net/DEVICE/?api-version=2021-04-12"
                ));
            } else if !user.contains(&format!("/{}/", opts.client_id)) {
                out.push(format!(
                    "{name}: the client id {:?} must be the device id named in the user name",
                    opts.client_id
                ));
            }
            if refused || opts.password.is_none() {
                out.push(format!(
                    "{name} takes a SAS token as password (SharedAccessSignature sr=…&sig=…&se=EXPIRY); \
                     one whose se= lies in the past is refused: `az iot hub generate-sas-token`"
                ));
            }
            if cause.kind == CauseKind::ProtocolVersionUnsupported || closed {
                out.push(format!("{name} speaks MQTT 3.1.1: use -V 3.1.1"));
            }
        }
        Cloud::HivemqCloud | Cloud::EmqxCloud => {
            if refused || opts.username.is_none() {
                out.push(format!(
                    "{name} refuses anonymous clients: use the credentials made in its console \
                     (--username and MQSCOPE_PASSWORD)"
                ));
            }
            if cloud == Cloud::EmqxCloud && cause.kind == CauseKind::TlsUnknownIssuer {
                out.push(format!(
                    "{name} serverless deployments use their own CA: download it from the \
                     console and pass --ca-file"
                ));
            }
            if !opts.target.scheme.uses_tls() {
                out.push(format!("{name} takes TLS only: mqtts://HOST:8883"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hosts_are_recognised() {
        assert_eq!(
            Cloud::of_host("a1b2c3-ats.iot.eu-west-1.amazonaws.com"),
            Some(Cloud::AwsIot)
        );
        assert_eq!(Cloud::of_host("s3.amazonaws.com"), None);
        assert_eq!(
            Cloud::of_host("Plant.azure-devices.net."),
            Some(Cloud::AzureIotHub)
        );
        assert_eq!(
            Cloud::of_host("x.s1.eu.hivemq.cloud"),
            Some(Cloud::HivemqCloud)
        );
        assert_eq!(
            Cloud::of_host("y.ala.us-east-1.emqxsl.com"),
            Some(Cloud::EmqxCloud)
        );
        assert_eq!(Cloud::of_host("broker.example"), None);
    }

    #[test]
    fn typical_failures_get_their_hints() {
        let mut o = BrokerOptions::new(
            "mqtts://abc-ats.iot.eu-west-1.amazonaws.com:8883"
                .parse()
                .unwrap(),
            "thing-1",
        );
        let closed = Cause::new(CauseKind::PeerClosed, "closed");
        let h = hints(&o, &closed).join("\n");
        assert!(
            h.contains("X.509") && h.contains("iot:Connect") && h.contains("thing-1"),
            "{h}"
        );
        o.target = "mqtts://hub.azure-devices.net:8883".parse().unwrap();
        o.username = Some("hub.azure-devices.net/dev-7/?api-version=2021-04-12".into());
        let refused = Cause::new(CauseKind::NotAuthorized, "CONNACK 5");
        let h = hints(&o, &refused).join("\n");
        assert!(
            h.contains("must be the device id") && h.contains("se="),
            "{h}"
        );
        o.target = "mqtt://c.s1.eu.hivemq.cloud:1883".parse().unwrap();
        o.username = None;
        let h = hints(&o, &refused).join("\n");
        assert!(h.contains("anonymous") && h.contains("TLS only"), "{h}");
        o.target = "mqtt://broker.example".parse().unwrap();
        assert!(hints(&o, &refused).is_empty());
    }

    #[test]
    fn every_template_is_a_valid_profile_of_its_name() {
        for cloud in [
            Cloud::AwsIot,
            Cloud::AzureIotHub,
            Cloud::HivemqCloud,
            Cloud::EmqxCloud,
        ] {
            let text = cloud.template();
            let c = super::super::Config::parse(
                text,
                std::path::Path::new("t.toml"),
                super::super::no_sections,
            )
            .unwrap();
            let p = &c.profiles[cloud.name()];
            let url: crate::broker::Target = p.url.parse().unwrap();
            assert_eq!(Cloud::of_host(&url.host), Some(cloud), "{}", cloud.name());
        }
    }
}
