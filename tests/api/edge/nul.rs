//! A NUL character in every text input of every operation the OpenAPI document describes (path
//! parameters, query parameters, each text field of a JSON or form body, HTTP Basic credentials)
//! is refused with the route's own 4xx, in its documented format (naming the NUL, except where
//! a route's own documented checks refuse it in their words: the sign-in assertion and the API
//! key); the database is left exactly as it was and nothing is logged at ERROR. The inputs are read from the served document, so a
//! new route is covered as soon as it is documented.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{ErrorLog, Format};
use crate::helpers::{TestApp, ADMIN_TOKEN};
use crate::oauth::basic_header;

const NUL: &str = "\u{0}";

/// One request carrying a NUL in one input.
struct Probe {
    method: Method,
    /// The path template, for the format and the failure message.
    template: String,
    /// The path with its parameters filled in (a raw `%00` in one of them, or in none).
    path: String,
    query: Vec<(String, String)>,
    body: Option<Body>,
    basic: Option<String>,
    /// Which input holds the NUL.
    input: String,
}

enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
}

/// Every probe of an operation: one per path parameter, query parameter and body text field,
/// and one for Basic credentials where the operation accepts them.
fn probes(document: &Value, template: &str, method: &str, operation: &Value) -> Vec<Probe> {
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let named = |place: &str| -> Vec<String> {
        parameters
            .iter()
            .filter(|p| p["in"] == place)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let fill = |nul_in: Option<&str>| {
        named("path")
            .iter()
            .fold(template.to_owned(), |path, name| {
                let value = if Some(name.as_str()) == nul_in {
                    "%00"
                } else {
                    "x"
                };
                path.replace(&format!("{{{name}}}"), value)
            })
    };
    let probe = |input: String, path: String| Probe {
        method: method.to_uppercase().parse().unwrap(),
        template: template.to_owned(),
        path,
        query: Vec::new(),
        body: None,
        basic: None,
        input,
    };
    let mut probes = Vec::new();
    for name in named("path") {
        probes.push(probe(format!("path {name}"), fill(Some(&name))));
    }
    for name in named("query") {
        let mut p = probe(format!("query {name}"), fill(None));
        p.query = vec![(name, NUL.to_owned())];
        probes.push(p);
    }
    let content = operation["requestBody"]["content"].as_object();
    for (media_type, media) in content.into_iter().flatten() {
        let schema = resolve(document, &media["schema"]);
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (field, field_schema) in properties {
            let Some(value) = nul_value(document, &field_schema) else {
                continue;
            };
            let mut p = probe(format!("{media_type} {field}"), fill(None));
            p.body = Some(match media_type.as_str() {
                "application/x-www-form-urlencoded" => Body::Form(vec![(field, NUL.to_owned())]),
                _ => Body::Json(json!({ field: value })),
            });
            probes.push(p);
        }
    }
    let basic = operation["security"].as_array().into_iter().flatten();
    if basic
        .clone()
        .any(|s| s.get("client_secret_basic").is_some())
    {
        let mut p = probe("basic credentials".into(), fill(None));
        p.basic = Some(basic_header(&format!("client{NUL}"), "secret"));
        probes.push(p);
    }
    probes
}

/// A `$ref` resolved within the document (one level at a time, as often as needed).
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => schema,
    }
}

/// A value of `schema`'s shape holding a NUL in its text, or `None` for a schema without text.
fn nul_value(document: &Value, schema: &Value) -> Option<Value> {
    let schema = resolve(document, schema);
    for alternatives in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = schema[alternatives].as_array() {
            return list.iter().find_map(|s| nul_value(document, s));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec!["string"],
    };
    if types.contains(&"string") {
        Some(json!(NUL))
    } else if types.contains(&"array") {
        nul_value(document, &schema["items"]).map(|item| json!([item]))
    } else if types.contains(&"object") {
        let first = schema["properties"].as_object().and_then(|properties| {
            properties
                .iter()
                .find_map(|(name, s)| Some((name.clone(), nul_value(document, s)?)))
        });
        let (name, value) = first.unwrap_or_else(|| ("key".into(), json!(NUL)));
        Some(Value::Object(Map::from_iter([(name, value)])))
    } else {
        None
    }
}

/// Every table's contents, as text, to compare before and after.
async fn database_contents(app: &TestApp) -> Vec<(String, String)> {
    let pool = app.state.db.pool();
    let tables: Vec<(String,)> = sqlx::query_as(
        "select table_name::text from information_schema.tables \
         where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut contents = Vec::new();
    for (table,) in tables {
        let sql = format!(
            "select coalesce(md5(string_agg(t::text, ',' order by t::text)), '') from {table} t"
        );
        let (digest,): (String,) = sqlx::query_as(&sql).fetch_one(pool).await.unwrap();
        contents.push((table, digest));
    }
    contents
}

#[tokio::test]
async fn a_nul_in_any_text_input_of_any_operation_is_refused_in_the_routes_format() {
    let (log, _guard) = ErrorLog::capture();
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    let before = database_contents(&app).await;
    let formats = tokenmint::app::error_formats();
    let mut probed = 0;

    for (template, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for probe in probes(&document, template, method, operation) {
                let label = format!("{method} {template} ({})", probe.input);
                let mut request = app
                    .http
                    .request(probe.method.clone(), app.url(&probe.path))
                    .query(&probe.query);
                request = match &probe.basic {
                    Some(basic) => request.header(AUTHORIZATION, basic),
                    None if template.starts_with("/admin") => request.bearer_auth(ADMIN_TOKEN),
                    None => request.header(AUTHORIZATION, basic_header(&client.id, &client.secret)),
                };
                request = match &probe.body {
                    Some(Body::Json(body)) => request.json(body),
                    Some(Body::Form(fields)) => request.form(fields),
                    None => request,
                };
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let json = response.headers()[CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json");
                assert!(json, "{label}: a JSON error");
                let body: Value = response.json().await.unwrap();

                let format = Format::of(&probe.template);
                let message = format.message(&body, &label);
                if formats.screens_nul(&probe.template) {
                    assert_eq!(status, format.invalid_input_status(), "{label}: {body}");
                    assert!(message.contains("NUL"), "{label}: {message}");
                } else {
                    // A route whose documented checks refuse it in their own words.
                    assert!((400..500).contains(&status), "{label}: {status} {body}");
                }
                probed += 1;
            }
        }
    }

    assert!(probed > 40, "every documented input is probed ({probed})");
    assert_eq!(database_contents(&app).await, before, "nothing changed");
    assert_eq!(log.errors(), 0, "nothing logged at ERROR");
}

#[tokio::test]
async fn a_nul_inside_a_signed_assertion_is_an_ordinary_refusal_without_an_error_log() {
    let (log, _guard) = ErrorLog::capture();
    let target = crate::attacks::Target::arrange(TestApp::spawn().await).await;
    let account = target.service_account().await;
    let mut claims = target.assertion_claims(&account);
    // No edge check can see inside a signed token: the claims are checked like any other text
    // (and text the database refuses would be the client's error, `src/http/error/sorting.rs`).
    claims["service_account_id"] = json!(format!("{account}{NUL}"));
    let assertion = crate::sign_in::keys()[0].sign(&claims);
    let (issued, _) = target.ledger().await;

    let message =
        crate::attacks::assert_sign_in_refused(&target.app, &assertion, "NUL in a claim").await;

    assert_eq!(message, "Service account config not found");
    assert_eq!(target.ledger().await.0, issued, "nothing issued");
    assert_eq!(log.errors(), 0, "nothing logged at ERROR");
}
