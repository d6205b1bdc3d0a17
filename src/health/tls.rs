//! HTTPS for health checks the way Marathon does them: encrypted, but the task's certificate is
//! not verified (tasks serve self-signed certificates on agent hostnames). Handshake signatures
//! are still checked, so the peer must hold the key of the certificate it shows.

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme};
use std::sync::Arc;

pub(crate) type TlsConnector = HttpsConnector<HttpConnector>;

/// An HTTPS-only connector over `http` that accepts any server certificate.
pub(crate) fn connector(mut http: HttpConnector) -> TlsConnector {
    http.enforce_http(false);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring's default provider supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate { algorithms }))
        .with_no_client_auth();
    HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http)
}

/// Trusts every certificate chain; verifies only that the handshake was signed by its key.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS server side for tests: the self-signed certificate a task would serve.
#[cfg(test)]
pub(crate) mod test_server {
    use std::sync::Arc;

    /// A self-signed certificate for `task.invalid` and its key.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBhjCCASugAwIBAgIUI8SDC+5QF1PndaETbM8Yj9wuwlQwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGFzay5pbnZhbGlkMCAXDTI2MTEzMDEzMjc0M1oYDzIxMjYx
MTA2MTMyNzQzWjAXMRUwEwYDVQQDDAx0YXNrLmludmFsaWQwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQn/o3Un6W6yxUQ5FghrKFn4GMuNBsflbWjywbXtSw4usxf
7btfe8R97Mq1sm6fKHVW1NM8U4TRGCjv3SRbt0mao1MwUTAdBgNVHQ4EFgQUjFNc
elWcQ3TYTlAt4DPQ2NGawJcwHwYDVR0jBBgwFoAUjFNcelWcQ3TYTlAt4DPQ2NGa
wJcwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAnk19MJxNhcjF
c+LMpkKU3bPtQL/PCqA4czl7p1ipqfgCIQDKYbkb8WUD4kct30yqeOL1jrKs5DVR
f69QAO5gPOBOAA==
-----END CERTIFICATE-----
";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgELA/UZQa8LWTade2
EXslUeYgQ+fGViwvs1rI0de2S7ahRANCAAQn/o3Un6W6yxUQ5FghrKFn4GMuNBsf
lbWjywbXtSw4usxf7btfe8R97Mq1sm6fKHVW1NM8U4TRGCjv3SRbt0ma
-----END PRIVATE KEY-----
";

    /// A TLS acceptor serving [`CERT`], for tests' HTTPS servers.
    pub(crate) fn acceptor() -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).expect("test certificate");
        let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).expect("test key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring's default provider supports the default TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the test key matches its certificate");
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}
