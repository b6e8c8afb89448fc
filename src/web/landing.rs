//! `GET /`: what this service is, where to start (Swagger UI, the OpenAPI document, the JWKS, the
//! RFC 8414 metadata), every token route of the running mode from the scheme list, and, in
//! sandbox mode, where the demo credentials were written (the path, never the secrets).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::page::{render, Frame};
use crate::http::scheme::Scheme;
use crate::state::AppState;

/// The landing page.
#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    frame: Frame,
    issuer: String,
    demo: Option<Demo>,
    routes: Vec<RouteRow>,
}

/// Where sandbox mode wrote the demo credentials.
struct Demo {
    env_file: String,
}

/// One token route, as the table shows it.
struct RouteRow {
    scheme: &'static str,
    methods: String,
    path: &'static str,
    grant: &'static str,
}

/// Shows the landing page, with the token routes of `schemes`.
pub async fn show(State(app): State<AppState>, schemes: &'static [Scheme]) -> Response {
    let settings = &app.settings;
    let mode = settings.mode;
    let routes = schemes
        .iter()
        .filter(|scheme| scheme.available_in(mode))
        .flat_map(|scheme| {
            scheme
                .routes
                .iter()
                .filter(|route| route.available_in(mode))
                .map(|route| RouteRow {
                    scheme: scheme.name,
                    methods: route.methods.join("/"),
                    path: route.path,
                    grant: route.grant,
                })
        })
        .collect();
    let demo = (mode == crate::config::Mode::Sandbox && settings.sandbox.demo).then(|| Demo {
        env_file: settings
            .sandbox
            .data_dir
            .join("demo.env")
            .display()
            .to_string(),
    });
    render(&Landing {
        frame: Frame::new(mode),
        issuer: app.signer.issuer().to_owned(),
        demo,
        routes,
    })
}
