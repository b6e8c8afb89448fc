//! The refusal every operation with a text input can get from the app's edge layer, documented
//! where the operation does not already document it: a NUL character (U+0000) in a path or query
//! parameter, a body or HTTP Basic credentials is invalid input, answered with the status the
//! route's error format gives invalid input (400, or 422 on the API-key routes and the admin
//! API). Derived from the same formats the layer answers with, so a new route is documented as
//! soon as it has an input.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, ResponseBuilder};

use crate::app::edge::Formats;
use crate::http::error::{ApiError, NUL_REFUSED};

/// What the added response says.
const DESCRIPTION: &str = "Invalid input, refused before the route's own checks: a NUL \
    character (U+0000) in a path or query parameter, the body or the credentials (in the \
    route's error format)";

/// Adds the refusal to every operation of `openapi` that takes text and does not document the
/// status its format gives invalid input (nor `4XX`).
pub fn document(openapi: &mut OpenApi, formats: &Formats) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !formats.screens_nul(path) {
            continue;
        }
        let render = formats.format_of(path);
        let status = render(ApiError::invalid("text", NUL_REFUSED)).status();
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if !takes_text(operation) {
                continue;
            }
            let responses = &mut operation.responses.responses;
            let status = status.as_str().to_owned();
            if !responses.contains_key("4XX") && !responses.contains_key(&status) {
                let response = ResponseBuilder::new().description(DESCRIPTION).build();
                responses.insert(status, response.into());
            }
        }
    }
}

/// Whether an operation reads text from its caller: a path or query parameter, a body, or HTTP
/// Basic credentials.
fn takes_text(operation: &Operation) -> bool {
    let parameters = operation.parameters.iter().flatten();
    let parameter = parameters
        .into_iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
    let basic = operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .is_ok_and(|value| value.get("client_secret_basic").is_some())
    });
    parameter || operation.request_body.is_some() || basic
}
