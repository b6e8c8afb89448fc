//! How a client authenticates at the standard OAuth routes (RFC 6749 §2.3): `client_secret_basic`
//! (HTTP Basic, where id and secret are form-urlencoded before base64), `client_secret_post`
//! (`client_id` and `client_secret` in the body) or `private_key_jwt` (`client_assertion_type`
//! and `client_assertion`, RFC 7523 §2.2, checked in [`super::client_assertion`]). Using more
//! than one method at once, or a malformed one, is `invalid_client` (RFC 6749 §2.3: "MUST NOT
//! use more than one authentication method in each request"). Holds secrets, so nothing here
//! derives `Debug`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use utoipa::ToSchema;

use super::client_assertion::{self, ASSERTION_TYPE};
use super::form::OAuthForm;
use crate::http::error::ApiError;
use crate::http::{basic, guard};
use crate::limits::Identifier;
use crate::registry::Client;
use crate::state::AppState;

/// The client-authentication methods of every standard route (RFC 8414 / RFC 7591 names).
pub const AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// The form body of introspection and revocation (`application/x-www-form-urlencoded`).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the wire format
pub struct TokenForm {
    /// The token to introspect or revoke.
    token: String,
    /// `access_token` or `refresh_token`; accepted and ignored (every token here is an access
    /// token, found without the hint).
    token_type_hint: Option<String>,
    /// `client_secret_post`: the calling client's id (omit with HTTP Basic).
    client_id: Option<String>,
    /// `client_secret_post`: the calling client's secret (omit with HTTP Basic).
    client_secret: Option<String>,
    /// `private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed by one of the client's registered keys.
    client_assertion: Option<String>,
}

/// The credentials a request presents, by method.
pub enum Presented {
    /// `client_secret_basic` or `client_secret_post`.
    Secret {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// `private_key_jwt`.
    Assertion {
        /// The `client_id` parameter, if sent (it must then name the assertion's client).
        client_id: Option<String>,
        /// The signed JWT.
        assertion: String,
    },
    /// No authentication (a public caller, where a grant allows one).
    Nothing,
}

/// A request's client authentication, as presented.
pub struct ClientAuth {
    presented: Presented,
    basic: bool,
}

impl ClientAuth {
    /// Reads the one method a request uses from its `Authorization` header and form.
    pub fn read(headers: &HeaderMap, form: &OAuthForm) -> Result<Self, ApiError> {
        let header = headers
            .get(AUTHORIZATION)
            .map(|value| basic::credentials(value.as_bytes()));
        let assertion_type = form.get("client_assertion_type");
        let assertion = form.get("client_assertion");
        let body_id = form.get("client_id");
        let body_secret = form.get("client_secret");
        let presented = match (header, body_secret, assertion_type, assertion) {
            // A body `client_id` beside Basic only names the same client (RFC 6749 §3.2.1).
            (Some(Some((id, secret))), None, None, None)
                if body_id.is_none_or(|body_id| body_id == id) =>
            {
                Presented::Secret {
                    client_id: id,
                    secret,
                }
            }
            (None, Some(secret), None, None) => Presented::Secret {
                client_id: body_id.ok_or(ApiError::InvalidClient)?.to_owned(),
                secret: secret.to_owned(),
            },
            (None, None, Some(kind), Some(assertion)) => {
                if kind != ASSERTION_TYPE {
                    return Err(ApiError::invalid(
                        "client_assertion_type",
                        format!("client_assertion_type must be {ASSERTION_TYPE}"),
                    ));
                }
                Presented::Assertion {
                    client_id: body_id.map(str::to_owned),
                    assertion: assertion.to_owned(),
                }
            }
            (None, None, None, None) => Presented::Nothing,
            _ => return Err(ApiError::InvalidClient),
        };
        Ok(Self {
            basic: matches!(presented, Presented::Secret { .. })
                && headers.contains_key(AUTHORIZATION),
            presented,
        })
    }

    /// Whether the request authenticates a client at all.
    pub fn is_present(&self) -> bool {
        !matches!(self.presented, Presented::Nothing)
    }

    /// Whether the client used HTTP Basic (its `invalid_client` then carries a Basic challenge).
    pub fn used_basic(&self) -> bool {
        self.basic
    }

    /// Authenticates the calling client with the method it used, within the failure budgets of
    /// its client id and of the caller's address. `audiences` are what a client assertion's
    /// `aud` may contain. No authentication is `invalid_client`.
    pub async fn authenticate(
        &self,
        state: &AppState,
        audiences: &[String],
        caller_ip: Option<IpAddr>,
    ) -> Result<Arc<Client>, ApiError> {
        match &self.presented {
            Presented::Secret { client_id, secret } => {
                let attempt = state
                    .registry
                    .authenticate(client_id, secret, state.clock.now());
                let identifier = Identifier::Client(client_id);
                let authenticated =
                    guard::authenticate(state, identifier, caller_ip, attempt).await?;
                Ok(authenticated.client)
            }
            Presented::Assertion {
                client_id,
                assertion,
            } => {
                client_assertion::authenticate(
                    state,
                    client_id.as_deref(),
                    assertion,
                    audiences,
                    caller_ip,
                )
                .await
            }
            Presented::Nothing => Err(ApiError::InvalidClient),
        }
    }
}

/// Reads a standard route's form body and authenticates its calling client (required);
/// `audiences` are what a client assertion's `aud` may contain (see [`audiences`]).
pub async fn authenticated(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    audiences: &[String],
    caller_ip: Option<IpAddr>,
) -> Result<(OAuthForm, Arc<Client>), ApiError> {
    let form = OAuthForm::parse(headers, body)?;
    let client = ClientAuth::read(headers, &form)?
        .authenticate(state, audiences, caller_ip)
        .await?;
    Ok((form, client))
}

/// What a client assertion presented at `path` may name as its `aud`: the token endpoint URL, the
/// issuer, or the URL of `path` itself.
pub fn audiences(state: &AppState, token_path: &str, path: &str) -> Vec<String> {
    let mut audiences = vec![
        state.settings.public_url_for(token_path),
        state.signer.issuer().to_owned(),
    ];
    if path != token_path {
        audiences.push(state.settings.public_url_for(path));
    }
    audiences
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    fn auth(authorization: Option<&str>, body: &str) -> Result<ClientAuth, ApiError> {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        let form = OAuthForm::parse(&headers, body.as_bytes())?;
        ClientAuth::read(&headers, &form)
    }

    fn secret_of(auth: &ClientAuth) -> Option<(&str, &str)> {
        match &auth.presented {
            Presented::Secret { client_id, secret } => Some((client_id, secret)),
            _ => None,
        }
    }

    #[test]
    fn exactly_one_authentication_method_is_accepted() {
        let header = format!("Basic {}", STANDARD.encode("a:s"));
        let post = "token=t&client_id=a&client_secret=s";
        let assertion = "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z";
        let by_basic = auth(Some(&header), "token=t").unwrap();
        assert_eq!(secret_of(&by_basic), Some(("a", "s")));
        assert!(by_basic.used_basic());
        let by_post = auth(None, post).unwrap();
        assert_eq!(secret_of(&by_post), Some(("a", "s")));
        assert!(!by_post.used_basic());
        let same_id = auth(Some(&header), "token=t&client_id=a").unwrap();
        assert_eq!(secret_of(&same_id), Some(("a", "s")));
        assert!(matches!(
            auth(None, assertion).unwrap().presented,
            Presented::Assertion { .. }
        ));
        assert!(matches!(
            auth(None, "token=t").unwrap().presented,
            Presented::Nothing
        ));
        for (authorization, body) in [
            (Some(header.as_str()), post.to_owned()),
            (Some(header.as_str()), "token=t&client_id=b".to_owned()),
            (Some(header.as_str()), assertion.to_owned()),
            (None, format!("{assertion}&client_secret=s")),
            (None, "token=t&client_secret=s".to_owned()),
            (None, "token=t&client_assertion=x.y.z".to_owned()),
            (Some("Bearer xyz"), post.to_owned()),
        ] {
            assert!(
                auth(authorization, &body).is_err(),
                "{authorization:?} {body}"
            );
        }
        let wrong_type = auth(None, "client_assertion_type=saml&client_assertion=x");
        assert!(matches!(wrong_type, Err(ApiError::InvalidRequest { .. })));
    }
}
