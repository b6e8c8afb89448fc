//! Service-account configs and their certificates: a credential kind of a client (scheme E), and the used-assertion (jti) record. Owned by the service-account work.
