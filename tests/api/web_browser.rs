//! The web pages in a real browser: the real router (in this process, on a fresh PostgreSQL
//! database, in sandbox mode) and `tests/browser/pages.mjs` driving Debian's headless Chromium
//! through playwright-core, signing in to the portal through its form like a developer and
//! walking reference/003's process in two browser contexts, developer and administrator
//! (request access; approve it in the console; read the decision; generate credentials, copy
//! them) to an AuthToken, and reference/002's sandbox API key to a JWT; the portal session continues on a second instance, and a form another
//! site posts is refused with nothing changed. Each page must render under its own Content-Security-Policy with its
//! stylesheet and no console error, and axe-core must find no serious or critical accessibility
//! violation on it. A screenshot of every page is kept under `target/tmp/web-pages/<run>/`.
//!
//! Needs what the Swagger UI browser test needs (`browser.rs`): Node.js 20+ with npm, and
//! `/usr/bin/chromium`. It never skips.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::authtoken::{create_groups, GROUP};
use crate::browser::{browser_deps, chromium, prune_old_runs, BROWSER_TESTS};
use crate::helpers::{TestApp, TestClient, ADMIN_TOKEN};

/// Every page a visitor can open without signing in.
const PAGES: [&str; 3] = ["/", "/portal", "/console"];
/// Every portal page, opened after signing in through the portal's form.
const PORTAL_PAGES: [&str; 4] = [
    "/portal/credentials",
    "/portal/access",
    "/portal/notifications",
    "/portal/credentials/new",
];
/// Every console page, opened after signing in with the admin token.
/// (And the test client's own page.)
const CONSOLE_PAGES: [&str; 9] = [
    "/console/access-requests",
    "/console/service-accounts",
    "/console/trust-policies",
    "/console/keys",
    "/console/clients",
    "/console/clients/new",
    "/console/issuances",
    "/console/administrators",
    "/console/audit",
];
/// Screenshots of reference/003's process (requested, the console's decision, notified,
/// generated), of reference/002's sandbox API key and of the session on the second instance.
const FLOW_SCREENSHOTS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_under_its_csp_and_passes_the_accessibility_check_in_chromium() {
    let app = TestApp::spawn().await;
    create_groups(&app).await;
    let client = app.standard_client("ES256").await;
    // A few tokens, so the issuance record and its chart have something to show.
    for _ in 0..3 {
        let issued = app
            .http
            .post(app.url("/auth/token/create"))
            .json(&serde_json::json!({"client_id": client.id, "client_secret": client.secret}))
            .send()
            .await
            .unwrap();
        assert_eq!(issued.status(), 200);
    }
    let runs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-pages");
    prune_old_runs(&runs);
    let screenshots = runs.join(format!("run-{}", uuid::Uuid::now_v7().simple()));
    let address = app.address.clone();
    let second = app.spawn_beside().await;
    let second_address = second.address.clone();
    let mut console_pages: Vec<String> = CONSOLE_PAGES.iter().map(|p| (*p).to_owned()).collect();
    console_pages.push(format!("/console/clients/{}", client.id));
    let console_list = console_pages.join(",");
    let TestClient { id, secret, .. } = client;
    let dir = screenshots.clone();

    let output = tokio::task::spawn_blocking(move || {
        let chromium = chromium();
        let deps = browser_deps();
        Command::new("node")
            .arg(Path::new(BROWSER_TESTS).join("pages.mjs"))
            .env("TOKENMINT_URL", address)
            .env("SECOND_URL", second_address)
            .env("PAGES", PAGES.join(","))
            .env("PORTAL_PAGES", PORTAL_PAGES.join(","))
            .env("CONSOLE_PAGES", console_list)
            .env("CLIENT_ID", id)
            .env("CLIENT_SECRET", secret)
            .env("ADMIN_TOKEN", ADMIN_TOKEN)
            .env("API_GROUP", GROUP)
            .env("SCREENSHOT_DIR", &dir)
            .env("BROWSER_DEPS", &deps)
            .env("CHROMIUM", chromium)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `node` ({e}): Node.js 20 or later is required"))
    })
    .await
    .unwrap();

    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "the pages' browser test failed (screenshots in {}):\n{report}",
        screenshots.display()
    );
    assert!(report.contains("all page checks passed"), "{report}");
    assert!(report.contains("AuthToken issued"), "{report}");
    assert!(report.contains("cross-site form refused"), "{report}");
    assert!(
        report.contains("sandbox API key created, JWT issued"),
        "{report}"
    );
    let every_page = PAGES.iter().chain(&PORTAL_PAGES).map(|p| (*p).to_owned());
    for page in every_page.chain(console_pages.iter().cloned()) {
        assert!(
            report.contains(&format!("axe {page}: ")),
            "{page} was audited: {report}"
        );
    }
    let pngs = std::fs::read_dir(&screenshots)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("png".as_ref()))
        .count();
    assert_eq!(
        pngs,
        PAGES.len() + PORTAL_PAGES.len() + console_pages.len() + FLOW_SCREENSHOTS,
        "one screenshot per page in {screenshots:?}"
    );
}
