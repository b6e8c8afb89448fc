//! `check_url`, `check_issuer` and `check_resolved` over every address class and policy.

use super::*;

const PRODUCTION: Policy = Policy::PRODUCTION;
const SANDBOX: Policy = Policy::SANDBOX;

fn refusal(raw: &str, policy: Policy) -> String {
    check_url(raw, policy).unwrap_err().to_string()
}

#[test]
fn accepts_https_to_a_public_host_in_production() {
    let url = check_url(
        "https://token.actions.githubusercontent.com/.well-known/jwks",
        PRODUCTION,
    )
    .unwrap();
    assert_eq!(url.host_str(), Some("token.actions.githubusercontent.com"));
    assert!(check_url("https://8.8.8.8/jwks", PRODUCTION).is_ok());
    assert!(check_url("https://[2606:4700:4700::1111]/jwks", PRODUCTION).is_ok());
}

#[test]
fn refuses_plain_http_in_production_even_to_loopback() {
    for raw in ["http://keys.example.com/jwks", "http://127.0.0.1:8080/jwks"] {
        assert_eq!(refusal(raw, PRODUCTION), "jwks_uri must use https");
    }
}

#[test]
fn allows_http_to_loopback_only_in_sandbox() {
    for raw in [
        "http://127.0.0.1:8080/jwks",
        "http://[::1]:8080/jwks",
        "http://localhost:8080/jwks",
        "http://LOCALHOST/jwks",
    ] {
        assert!(check_url(raw, SANDBOX).is_ok(), "{raw}");
    }
    for raw in ["http://10.0.0.1/jwks", "http://keys.example.com/jwks"] {
        assert_eq!(refusal(raw, SANDBOX), "jwks_uri must use https");
    }
}

#[test]
fn refuses_other_schemes_and_non_urls() {
    assert_eq!(
        refusal("ftp://keys.example.com/jwks", SANDBOX),
        "jwks_uri must use https"
    );
    assert_eq!(
        refusal("file:///etc/passwd", SANDBOX),
        "jwks_uri must use https"
    );
    assert_eq!(
        refusal("keys.example.com/jwks", SANDBOX),
        "jwks_uri is not a valid URL"
    );
    assert_eq!(
        refusal(" https://keys.example.com/jwks", SANDBOX),
        "jwks_uri is not a valid URL"
    );
    let long = format!("https://keys.example.com/{}", "a".repeat(2100));
    assert_eq!(
        refusal(&long, SANDBOX),
        "jwks_uri is longer than 2048 characters"
    );
}

#[test]
fn refuses_user_info() {
    assert_eq!(
        refusal("https://user:secret@keys.example.com/jwks", PRODUCTION),
        "jwks_uri must not contain a user name or password"
    );
}

#[test]
fn refuses_every_non_public_address_literal_in_production() {
    for (raw, class) in [
        ("https://127.0.0.1/jwks", "loopback"),
        ("https://127.1/jwks", "loopback"),
        ("https://0x7f000001/jwks", "loopback"),
        ("https://localhost/jwks", "loopback"),
        ("https://keys.localhost./jwks", "loopback"),
        ("https://[::1]/jwks", "loopback"),
        ("https://[::ffff:127.0.0.1]/jwks", "loopback"),
        ("https://10.1.2.3/jwks", "private network"),
        ("https://172.16.0.1/jwks", "private network"),
        ("https://192.168.0.10/jwks", "private network"),
        ("https://[::ffff:192.168.0.10]/jwks", "private network"),
        ("https://[fd00::1]/jwks", "unique local"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[fe80::1]/jwks", "link-local"),
        ("https://[::ffff:169.254.169.254]/jwks", "link-local"),
        ("https://100.64.0.1/jwks", "carrier-grade NAT"),
        ("https://0.0.0.0/jwks", "unspecified"),
        ("https://[::]/jwks", "unspecified"),
        ("https://224.0.0.1/jwks", "multicast"),
        ("https://192.0.2.1/jwks", "documentation"),
        ("https://240.0.0.1/jwks", "reserved"),
    ] {
        assert_eq!(
            refusal(raw, PRODUCTION),
            format!("jwks_uri points at a private address ({class})"),
            "{raw}"
        );
    }
}

#[test]
fn sandbox_allows_private_addresses_over_https() {
    assert!(check_url("https://10.1.2.3/jwks", SANDBOX).is_ok());
    assert!(check_url("https://[fd00::1]/jwks", SANDBOX).is_ok());
}

#[test]
fn loopback_http_allowance_wins_over_refusing_private_addresses() {
    let both = Policy {
        allow_loopback_http: true,
        refuse_private_addresses: true,
    };
    assert!(check_url("http://127.0.0.1:8080/jwks", both).is_ok());
    assert!(check_url("https://10.0.0.1/jwks", both).is_err());
}

#[test]
fn keeps_an_issuer_as_written_and_derives_its_discovery_url() {
    let issuer = check_issuer("https://token.actions.githubusercontent.com", PRODUCTION).unwrap();
    assert_eq!(
        issuer.as_str(),
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(
        issuer.discovery_url().as_str(),
        "https://token.actions.githubusercontent.com/.well-known/openid-configuration"
    );
    let tenant = check_issuer("https://login.example.com/tenant/", PRODUCTION).unwrap();
    assert_eq!(tenant.as_str(), "https://login.example.com/tenant/");
    assert_eq!(
        tenant.discovery_url().as_str(),
        "https://login.example.com/tenant/.well-known/openid-configuration"
    );
}

#[test]
fn refuses_an_issuer_with_a_query_or_a_private_host() {
    let err = check_issuer("https://login.example.com/?tenant=1", PRODUCTION).unwrap_err();
    assert_eq!(err.to_string(), "issuer must not have a query or fragment");
    let err = check_issuer("https://10.0.0.1", PRODUCTION).unwrap_err();
    assert_eq!(
        err.to_string(),
        "issuer points at a private address (private network)"
    );
    let err = check_issuer("http://login.example.com", PRODUCTION).unwrap_err();
    assert_eq!(err.to_string(), "issuer must use https");
}

#[test]
fn checks_every_resolved_address_against_the_policy() {
    let url = check_url("https://keys.example.com/jwks", PRODUCTION).unwrap();
    let field = UrlField::JwksUri;
    assert!(check_resolved("140.82.112.3".parse().unwrap(), &url, PRODUCTION, field).is_ok());
    for (ip, class) in [
        ("10.0.0.7", "private network"),
        ("127.0.0.1", "loopback"),
        ("::ffff:10.0.0.7", "private network"),
        ("fe80::1", "link-local"),
        ("100.100.100.100", "carrier-grade NAT"),
    ] {
        let err = check_resolved(ip.parse().unwrap(), &url, PRODUCTION, field).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("jwks_uri resolves to a private address ({class})")
        );
    }
    assert!(check_resolved("10.0.0.7".parse().unwrap(), &url, SANDBOX, field).is_ok());
}

#[test]
fn refuses_loopback_http_whose_name_resolves_elsewhere() {
    let url = check_url("http://localhost:8080/jwks", SANDBOX).unwrap();
    let field = UrlField::JwksUri;
    assert!(check_resolved("127.0.0.1".parse().unwrap(), &url, SANDBOX, field).is_ok());
    assert!(check_resolved("::1".parse().unwrap(), &url, SANDBOX, field).is_ok());
    let err = check_resolved("93.184.216.34".parse().unwrap(), &url, SANDBOX, field).unwrap_err();
    assert_eq!(err.to_string(), "jwks_uri must use https");
}
