//! Every answer the gateway itself produces (as opposed to the function's). The only module that
//! knows AWS's error bodies. Each variant carries the *why* for the log line; the client only
//! ever sees what AWS would send.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

/// Why a request ended in a gateway error. `reason` texts are for the developer (log), never for
/// the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// 404: no stage or no route matched.
    #[error("{reason}")]
    NotFound { reason: String },
    /// 401: identity missing or token invalid. `description` goes to `www-authenticate`.
    #[error("{reason}")]
    Unauthorized { description: String, reason: String },
    /// 403: valid token without the route's scopes.
    #[error("{reason}")]
    Forbidden { reason: String },
    /// 413: request body over 10 MB.
    #[error("{reason}")]
    PayloadTooLarge { reason: String },
    /// 500: misconfiguration, function error or malformed function response.
    #[error("{reason}")]
    Internal { reason: String },
    /// 503: integration timeout.
    #[error("{reason}")]
    ServiceUnavailable { reason: String },
}

/// A finished answer: status, headers and body, ready for hyper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The precise cause, for the log.
    pub fn reason(&self) -> &str {
        match self {
            Self::NotFound { reason }
            | Self::Unauthorized { reason, .. }
            | Self::Forbidden { reason }
            | Self::PayloadTooLarge { reason }
            | Self::Internal { reason }
            | Self::ServiceUnavailable { reason } => reason,
        }
    }

    /// The body AWS sends for this error.
    pub fn body(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => r#"{"message":"Not Found"}"#,
            Self::Unauthorized { .. } => r#"{"message":"Unauthorized"}"#,
            Self::Forbidden { .. } => r#"{"message":"Forbidden"}"#,
            Self::PayloadTooLarge { .. } => r#"{"message":"Request Entity Too Large"}"#,
            Self::Internal { .. } => r#"{"message":"Internal Server Error"}"#,
            Self::ServiceUnavailable { .. } => r#"{"message":"Service Unavailable"}"#,
        }
    }

    /// The response the client receives (`apigw-requestid` is added by the pipeline's finish).
    pub fn answer(&self) -> Answer {
        let mut headers = vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )];
        if let Self::Unauthorized { description, .. } = self {
            headers.push((header::WWW_AUTHENTICATE, www_authenticate(description)));
        }
        Answer {
            status: self.status(),
            headers,
            body: Bytes::from_static(self.body().as_bytes()),
        }
    }
}

/// `Bearer scope="" error="invalid_token" error_description="…"`; quotes and control characters
/// in the description are replaced so the header stays valid.
fn www_authenticate(description: &str) -> HeaderValue {
    let clean: String = description
        .chars()
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .filter(|c| !c.is_control() && c.is_ascii())
        .collect();
    let value = format!(r#"Bearer scope="" error="invalid_token" error_description="{clean}""#);
    HeaderValue::from_str(&value).unwrap_or_else(|_| {
        HeaderValue::from_static(r#"Bearer scope="" error="invalid_token" error_description="""#)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_statuses_match_aws() {
        let cases = [
            (
                GatewayError::NotFound {
                    reason: String::new(),
                },
                404,
                r#"{"message":"Not Found"}"#,
            ),
            (
                GatewayError::Forbidden {
                    reason: String::new(),
                },
                403,
                r#"{"message":"Forbidden"}"#,
            ),
            (
                GatewayError::Internal {
                    reason: String::new(),
                },
                500,
                r#"{"message":"Internal Server Error"}"#,
            ),
            (
                GatewayError::ServiceUnavailable {
                    reason: String::new(),
                },
                503,
                r#"{"message":"Service Unavailable"}"#,
            ),
            (
                GatewayError::PayloadTooLarge {
                    reason: String::new(),
                },
                413,
                r#"{"message":"Request Entity Too Large"}"#,
            ),
        ];
        for (err, status, body) in cases {
            let a = err.answer();
            assert_eq!(a.status.as_u16(), status);
            assert_eq!(a.body, body.as_bytes());
            assert_eq!(a.headers.len(), 1);
            assert_eq!(a.headers[0].1, "application/json");
        }
    }

    #[test]
    fn unauthorized_has_www_authenticate_and_26_byte_body() {
        let a = GatewayError::Unauthorized {
            description: "the token has \"expired\"".into(),
            reason: "exp in the past".into(),
        }
        .answer();
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.body.len(), 26);
        let www = a
            .headers
            .iter()
            .find(|(n, _)| n == header::WWW_AUTHENTICATE)
            .map(|(_, v)| v.clone());
        assert_eq!(
            www,
            Some(HeaderValue::from_static(
                r#"Bearer scope="" error="invalid_token" error_description="the token has 'expired'""#
            ))
        );
    }
}
