//! What the framework refuses before a handler runs comes in the route's documented format: a
//! body over the limit (413), a wrong method (405, with `Allow`), a body of the wrong type (415
//! or the route's own 400), on every token route of every scheme (read from `schemes::ALL`, so
//! a new scheme is covered); an unknown path is a JSON 404 (the admin API's under `/admin`); the
//! web pages keep their HTML pages.

use reqwest::header::{ALLOW, CONTENT_TYPE};
use reqwest::{Method, Response};
use serde_json::Value;
use tokenmint::schemes;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ErrorLog, Format};
use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

/// `http.request_body_limit_bytes` of the test configuration.
const BODY_LIMIT_BYTES: usize = 65_536;

/// The status and JSON body of a response, asserting it is JSON.
async fn json_of(response: Response, label: &str) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{label}: {status} {content_type}"
    );
    (status, response.json().await.unwrap())
}

/// The status a format answers a framework refusal of `status` with (section E: every failure
/// is 400).
fn expected(format: Format, status: u16) -> u16 {
    if format == Format::SignIn {
        400
    } else {
        status
    }
}

#[tokio::test]
async fn framework_refusals_on_every_token_route_come_in_its_schemes_format() {
    let (log, _guard) = ErrorLog::capture();
    let app = TestApp::spawn().await;
    let routes = schemes::ALL.iter().flat_map(|scheme| scheme.routes);
    let mut checked = 0;

    for route in routes {
        let format = Format::of(route.path);
        let method: Method = route.methods[0].parse().unwrap();
        let url = app.url(route.path);

        let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(BODY_LIMIT_BYTES));
        let oversized = app.http.request(method.clone(), &url).body(huge);
        let label = format!("{} oversized", route.path);
        let (status, body) = json_of(oversized.send().await.unwrap(), &label).await;
        assert_eq!(status, expected(format, 413), "{label}: {body}");
        format.message(&body, &label);

        let wrong = app.http.request(Method::PUT, &url).send().await.unwrap();
        let label = format!("{} PUT", route.path);
        let allow = wrong
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, body) = json_of(wrong, &label).await;
        assert_eq!(status, expected(format, 405), "{label}: {body}");
        assert!(
            allow.unwrap_or_default().contains(route.methods[0]),
            "{label}: Allow"
        );
        format.message(&body, &label);

        if method == Method::POST {
            let typed = app
                .http
                .post(&url)
                .header(CONTENT_TYPE, "text/plain")
                .body("client_id=x");
            let label = format!("{} text/plain", route.path);
            let (status, body) = json_of(typed.send().await.unwrap(), &label).await;
            assert!((400..500).contains(&status), "{label}: {status} {body}");
            format.message(&body, &label);
        }
        checked += 1;
    }

    assert!(checked >= 7, "every token route ({checked})");
    assert_eq!(log.errors(), 0, "nothing logged at ERROR");
}

#[tokio::test]
async fn a_request_not_answered_in_time_is_503_in_the_routes_format() {
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[("TOKENMINT__HTTP__REQUEST_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // A body announced but never sent: the request cannot finish before the time limit.
    let head = "POST /v0/sign_in/token HTTP/1.1\r\nHost: tokenmint\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant";
    stream.write_all(head.as_bytes()).await.unwrap();

    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered within the time limit")
        .unwrap();

    let answer = String::from_utf8_lossy(&answer[..read]).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 5"), "{answer}");
    assert!(
        answer.contains(r#"{"errors":""#),
        "section E's format: {answer}"
    );
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404_in_the_format_of_its_folder() {
    let app = TestApp::spawn().await;

    let (status, body) = json_of(app.get("/no/such/route").await, "unknown").await;
    assert_eq!((status, &body["error"]), (404, &Value::from("not_found")));
    Format::Tokenmint.message(&body, "unknown");

    let admin = app
        .http
        .get(app.url("/admin/no-such-thing"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(admin, "admin").await;
    assert_eq!(status, 404, "{body}");
    Format::Admin.message(&body, "admin");

    let (status, body) = json_of(app.get("/oauth/no-such-endpoint").await, "oauth").await;
    assert_eq!(
        (status, &body["error"]),
        (404, &Value::from("invalid_request"))
    );
    Format::OAuth.message(&body, "oauth");
}

#[tokio::test]
async fn the_web_pages_answer_refusals_with_html_pages() {
    let app = TestApp::spawn().await;
    for (method, path, body) in [
        (Method::GET, "/portal/no-such-page", String::new()),
        (Method::DELETE, "/portal/sign-in", String::new()),
        (
            Method::POST,
            "/portal/sign-in",
            "client_id=a%00&client_secret=b".into(),
        ),
        (
            Method::POST,
            "/console/sign-in",
            "x".repeat(BODY_LIMIT_BYTES + 1),
        ),
    ] {
        let response = app
            .http
            .request(method.clone(), app.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        assert!(
            content_type.starts_with("text/html"),
            "{method} {path}: {content_type}"
        );
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{method} {path}");
    }
}
