//! The document's shape: tags from the scheme list, and descriptions Swagger UI shows as written.

use serde_json::{json, Value};
use utoipa::openapi::path::{Operation, PathItem};

use super::SECURITY_SCHEMES;
use crate::config::Mode;
use crate::http::openapi::{ADMIN, SERVICE_GROUPS};

fn document() -> Value {
    serde_json::to_value(crate::app::openapi_document(Mode::Sandbox)).unwrap()
}

#[test]
fn scheme_names_are_the_recorded_ones() {
    let names = crate::schemes::names();
    assert_eq!(
        document()["components"]["schemas"]["SchemeName"]["enum"],
        json!(names)
    );
}

#[test]
fn each_scheme_tags_its_routes_before_the_service_groups() {
    let document = document();
    let tags: Vec<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap())
        .collect();
    let declared: Vec<&str> = crate::schemes::names()
        .into_iter()
        .chain(SERVICE_GROUPS.iter().map(|tag| tag.name))
        .collect();
    assert_eq!(
        tags, declared,
        "one tag a scheme, named by it, then the service groups"
    );
    for scheme in crate::schemes::ALL {
        // Every route of the scheme's router, not only its token routes (the portal's too).
        let routes = (scheme.router)(Mode::Sandbox).into_openapi();
        assert!(!routes.paths.paths.is_empty(), "{} has routes", scheme.name);
        for (path, item) in &routes.paths.paths {
            for operation in operations(item) {
                let expected = [scheme.name.to_owned()];
                assert_eq!(operation.tags.as_deref(), Some(&expected[..]), "{path}");
            }
        }
        for route in scheme.routes {
            assert!(
                routes.paths.paths.contains_key(route.path),
                "{}",
                route.path
            );
        }
    }
}

#[test]
fn every_operation_has_one_tag_the_document_lists() {
    let document = document();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let tags = operation["tags"].as_array().unwrap();
            assert_eq!(tags.len(), 1, "{method} {path}: {tags:?}");
            let listed = document["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|tag| tag["name"] == tags[0]);
            assert!(listed, "{method} {path}: {} is not a listed tag", tags[0]);
        }
    }
}

fn operations(item: &PathItem) -> impl Iterator<Item = &Operation> {
    [
        &item.get,
        &item.put,
        &item.post,
        &item.delete,
        &item.options,
        &item.head,
        &item.patch,
        &item.trace,
    ]
    .into_iter()
    .flatten()
}

/// Swagger UI's Authorize dialog lists the schemes in the order the document's text has them.
#[test]
fn the_authorize_dialog_offers_the_security_schemes_in_the_declared_order() {
    let text = crate::app::openapi_json(Mode::Sandbox);
    let section = &text[text.find("\"securitySchemes\"").unwrap()..];
    let positions: Vec<usize> = SECURITY_SCHEMES
        .iter()
        .map(|(name, _)| section.find(&format!("\"{name}\": {{")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "the names must sort in the order the dialog should show them: {positions:?}"
    );
    let schemes = &document()["components"]["securitySchemes"];
    assert_eq!(schemes.as_object().unwrap().len(), SECURITY_SCHEMES.len());
}

/// Each operation's `security` is exactly what its route accepts, and only declared schemes.
#[test]
fn each_route_names_exactly_the_credentials_it_accepts() {
    let document = document();
    let access_token = json!([{"access_token": []}, {"access_token_bare": []},
        {"access_token_query": []}]);
    let admin = json!([{"admin_token": []}]);
    let client = json!([{"client_secret_basic": []}]);
    // A client authenticates there by Basic, in the form, or with a client assertion.
    let client_or_form = json!([{"client_secret_basic": []}, {}]);
    let mut used = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let expected = match path.as_str() {
                "/v1/me" => &access_token,
                "/oauth/token" | "/oauth/introspect" | "/oauth/revoke" => &client_or_form,
                _ if operation["tags"][0] == ADMIN.name => &admin,
                _ if path.starts_with("/v1/") => &client,
                _ => &Value::Null,
            };
            assert_eq!(&operation["security"], expected, "{method} {path}");
            for requirement in operation["security"].as_array().into_iter().flatten() {
                used.extend(requirement.as_object().unwrap().keys().cloned());
            }
        }
    }
    let declared: std::collections::BTreeSet<String> = SECURITY_SCHEMES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(
        used, declared,
        "every declared scheme is used, and only those"
    );
}

/// Swagger UI renders every description as Markdown, HTML included: `<admin token>` outside a
/// code span is read as a tag and shown as nothing.
#[test]
fn no_description_holds_raw_html_that_swagger_ui_would_swallow() {
    let document = document();
    let mut found = Vec::new();
    descriptions(&document, String::new(), &mut found);
    assert!(
        found.len() > 50,
        "every description is checked: {}",
        found.len()
    );
    let raw: Vec<String> = found
        .iter()
        .flat_map(|(at, text)| {
            raw_html(text)
                .into_iter()
                .map(move |tag| format!("{at}: {tag}"))
        })
        .collect();
    assert!(raw.is_empty(), "put these in a code span (`...`): {raw:#?}");
}

#[test]
fn raw_html_is_what_stands_outside_code_spans() {
    assert_eq!(raw_html("Bearer <admin token>"), ["<admin token>"]);
    assert_eq!(raw_html("a </b> and <!-- c -->"), ["</b>", "<!-- c -->"]);
    assert_eq!(raw_html("`a` <t> `b`"), ["<t>"]);
    assert!(raw_html("`Bearer <admin token>` and ``a ` <b> ``").is_empty());
    assert!(raw_html("1 < 2, &lt;token&gt;, <https://example.com/x>").is_empty());
}

/// Every `description` in `value` (tags, operations, parameters, responses, headers, security
/// schemes, schemas), with where it is.
fn descriptions<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                let here = format!("{at}/{key}");
                match value {
                    Value::String(text) if key == "description" => found.push((here, text)),
                    _ => descriptions(value, here, found),
                }
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                descriptions(value, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// What CommonMark reads as raw HTML in `markdown`: outside code spans, a `<` that opens a tag,
/// a closing tag, a comment or a declaration (an autolink such as `<https://...>` is a link).
fn raw_html(markdown: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find(['`', '<']) {
        let at = &rest[start..];
        if at.starts_with('`') {
            let ticks = backtick_run(at);
            // A code span closes at the next run of as many backticks; unclosed, they are text.
            rest = match code_span_end(&at[ticks..], ticks) {
                Some(end) => &at[ticks + end..],
                None => &at[ticks..],
            };
            continue;
        }
        let candidate = &at[..at.find('>').map_or(at.len(), |end| end + 1)];
        let opens = at[1..].starts_with(|c: char| c.is_ascii_alphabetic() || "/!?".contains(c));
        if opens && !is_autolink(candidate) {
            found.push(candidate);
        }
        rest = &at[1..];
    }
    found
}

fn backtick_run(text: &str) -> usize {
    text.len() - text.trim_start_matches('`').len()
}

/// Where the code span opened by `ticks` backticks ends in `text` (just past its closing run).
fn code_span_end(text: &str, ticks: usize) -> Option<usize> {
    let mut offset = 0;
    while let Some(found) = text[offset..].find('`') {
        let start = offset + found;
        let run = backtick_run(&text[start..]);
        if run == ticks {
            return Some(start + run);
        }
        offset = start + run;
    }
    None
}

/// `<scheme:...>` without spaces: a CommonMark autolink.
fn is_autolink(candidate: &str) -> bool {
    let Some(inner) = candidate
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
    else {
        return false;
    };
    let scheme = inner.split_once(':').map_or("", |(scheme, _)| scheme);
    !inner.contains(char::is_whitespace)
        && (2..=32).contains(&scheme.len())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}
