//! The configuration's layering and checks, through `Settings::from_sources`.

use super::*;

fn load(env: &[(&str, &str)]) -> anyhow::Result<Settings> {
    let env: Vec<_> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_sources(Path::new("config"), &env)
}

#[test]
fn defaults_run_a_sandbox_on_sqlite_at_localhost() {
    let s = load(&[]).unwrap();
    assert_eq!(s.mode, Mode::Sandbox);
    assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.database.url.expose_secret(), "sqlite://data/tokenmint.db");
    assert_eq!(s.http.public_url, "http://127.0.0.1:8080");
    assert_eq!(s.signing.issuer, "http://127.0.0.1:8080");
}

#[test]
fn the_fixed_environment_names_win() {
    let s = load(&[
        ("TOKENMINT_LISTEN", "0.0.0.0:9000"),
        ("TOKENMINT_PUBLIC_URL", "https://auth.example.com/"),
        ("TOKENMINT_ISSUER", "https://issuer.example.com"),
        ("DATABASE_URL", "postgres://db/tm"),
    ])
    .unwrap();
    assert_eq!(s.http.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(s.http.public_url, "https://auth.example.com");
    assert_eq!(s.signing.issuer, "https://issuer.example.com");
    assert_eq!(s.signing.audience, "https://auth.example.com");
    assert_eq!(s.database.url.expose_secret(), "postgres://db/tm");
}

#[test]
fn production_refuses_to_start_without_master_key_and_admin_token() {
    let base = [
        ("TOKENMINT_MODE", "production"),
        ("DATABASE_URL", "postgres://db/tm"),
    ];
    assert!(load(&base).is_err());
    let with_key = [base[0], base[1], ("TOKENMINT_MASTER_KEY", "a2V5")];
    assert!(load(&with_key)
        .unwrap_err()
        .to_string()
        .contains("ADMIN_TOKEN"));
    let full = [
        with_key[0],
        with_key[1],
        with_key[2],
        ("TOKENMINT_ADMIN_TOKEN", "t"),
    ];
    assert_eq!(load(&full).unwrap().mode, Mode::Production);
}

#[test]
fn section_keys_of_the_explicit_environment_are_honoured() {
    let s = load(&[
        ("TOKENMINT__SMTP__HOST", "127.0.0.1"),
        ("TOKENMINT__SMTP__PORT", "2525"),
        ("TOKENMINT__SMTP__TLS", "none"),
        ("TOKENMINT__SCHEMES__AUTHTOKEN__REFRESH_WINDOW_HOURS", "2"),
    ])
    .unwrap();
    assert_eq!(
        (s.smtp.host.as_str(), s.smtp.port, s.smtp.tls),
        ("127.0.0.1", 2525, SmtpTls::None)
    );
    assert_eq!(s.schemes.authtoken.refresh_window_hours, 2);
    assert_eq!(s.schemes.authtoken.token_lifetime_minutes, 60);
    let defaults = load(&[]).unwrap();
    assert!(defaults.smtp.host.is_empty(), "no e-mail unless configured");
    assert_eq!(defaults.schemes.authtoken.refresh_window_hours, 24);
    assert_eq!(
        defaults.schemes.oauth.introspection_scope,
        "tokenmint:introspect"
    );
}

#[test]
fn the_retention_margin_must_outlast_the_authtoken_refresh_window() {
    let defaults = load(&[]).unwrap();
    assert!(defaults.retention.enabled);
    assert_eq!(defaults.retention.margin_seconds, 7 * 24 * 3600);
    let too_short = load(&[("TOKENMINT__RETENTION__MARGIN_SECONDS", "86400")]);
    assert!(too_short
        .unwrap_err()
        .to_string()
        .contains("margin_seconds"));
    let shorter_window = load(&[
        ("TOKENMINT__RETENTION__MARGIN_SECONDS", "3605"),
        ("TOKENMINT__SCHEMES__AUTHTOKEN__REFRESH_WINDOW_HOURS", "1"),
    ]);
    assert_eq!(shorter_window.unwrap().retention.margin_seconds, 3605);
    assert!(load(&[("TOKENMINT__RETENTION__BATCH_SIZE", "0")]).is_err());
}

#[test]
fn rate_limits_default_to_generous_budgets_and_refuse_zero() {
    let production = load(&[
        ("TOKENMINT_MODE", "production"),
        ("DATABASE_URL", "postgres://db/tm"),
        ("TOKENMINT_MASTER_KEY", "a2V5"),
        ("TOKENMINT_ADMIN_TOKEN", "t"),
    ]);
    let defaults = production.unwrap().rate_limit;
    assert!(defaults.enabled);
    assert_eq!(defaults.identifier_failures_per_minute.get(), 10);
    assert_eq!(defaults.identifier_burst.get(), 20);
    assert_eq!(defaults.address_failures_per_minute.get(), 60);
    assert_eq!(defaults.address_burst.get(), 100);
    // Sandbox, where wrong credentials are tried on purpose, widens them.
    let sandbox = load(&[]).unwrap().rate_limit;
    assert!(sandbox.enabled);
    assert_eq!(sandbox.identifier_burst.get(), 200);
    assert_eq!(sandbox.address_burst.get(), 2000);
    let tighter = load(&[("TOKENMINT__RATE_LIMIT__IDENTIFIER_BURST", "5")]).unwrap();
    assert_eq!(tighter.rate_limit.identifier_burst.get(), 5);
    assert!(load(&[("TOKENMINT__RATE_LIMIT__ADDRESS_BURST", "0")]).is_err());
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let s = load(&[
        ("TOKENMINT_ADMIN_TOKEN", "hunter2-admin"),
        ("TOKENMINT_MASTER_KEY", "c2VjcmV0"),
        ("TOKENMINT_MASTER_KEY_PREVIOUS", "cHJldmlvdXM="),
        ("TOKENMINT__SMTP__PASSWORD", "smtp-hunter2"),
    ])
    .unwrap();
    assert_eq!(
        s.signing.master_key_previous.expose_secret(),
        "cHJldmlvdXM="
    );
    let printed = format!("{s:?}");
    assert!(!printed.contains("cHJldmlvdXM="));
    assert!(!printed.contains("smtp-hunter2"));
    assert!(!printed.contains("hunter2-admin"));
    assert!(!printed.contains("c2VjcmV0"));
}
