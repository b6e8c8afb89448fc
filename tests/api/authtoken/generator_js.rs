//! The JavaScript AuthToken generator: served as a module with the public URL, and its Node
//! test suite (`tests/js/authtokengenerator.test.mjs`, Node's built-in runner) run against this
//! running service. Node is required: without it this test fails, saying so.

use std::process::Command;

use reqwest::header::CONTENT_TYPE;

use super::{approved_client, credential};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_module_is_served_as_javascript_calling_the_public_url() {
    let app = TestApp::spawn().await;
    for path in ["/sdk/authtokengenerator.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let source = response.text().await.unwrap();
        assert!(source.contains(&format!("const BASE_URL = \"{}\";", app.address)));
        assert!(source.contains("export async function generate(key, secret)"));
        assert!(source.contains("export async function refresh(oldAuthToken)"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_generator_passes_its_node_tests_against_the_running_service() {
    let app = TestApp::spawn().await;
    let client = approved_client(&app).await;
    let (key, secret) = credential(&app, &client).await;
    let sdk_url = app.url("/sdk/authtokengenerator.js");
    let tests = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/js/authtokengenerator.test.mjs"
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", tests])
            .env("TOKENMINT_SDK_URL", sdk_url)
            .env("AUTHTOKEN_KEY", key)
            .env("AUTHTOKEN_SECRET", secret)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!(
            "cannot run `node` ({e}): Node.js 20 or later is required for the JavaScript \
             generator's tests; install it (apt-get install nodejs) and run again"
        )
    });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "node --test failed:\n{report}");
    assert!(report.contains("# pass 5"), "{report}");
}
