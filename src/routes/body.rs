//! Request bodies, checked against their schema before anything is sent upstream.
//!
//! [`Body<T>`] reads a JSON body (Content-Type and size checked by actix's JSON extractor) and decodes it into `T`
//! with the path of the field that is wrong in the error: `field "Message.Value": invalid amount "1.5 BTC": …`.
//! Body types deny unknown fields, so nothing a client sent is silently dropped.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};

/// A request body of type `T`, validated field by field.
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Body<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Decodes a JSON value into `T`, naming the field at fault.
pub fn decode_body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = if path == "." || path.is_empty() {
            format!("invalid request body: {inner}")
        } else {
            format!("invalid request body: field \"{path}\": {inner}")
        };
        ApiError::new(Code::InvalidBody, detail)
    })
}

/// A request without a body at all: no Content-Type and no content. It is a bad request (400), not a body of an
/// unsupported media type (415), which is kept for a body that is there but not JSON.
fn is_missing(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::CONTENT_TYPE) || headers.contains_key(header::TRANSFER_ENCODING)
    {
        return false;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == "0")
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if is_missing(req) {
            return Box::pin(async {
                Err(ApiError::new(
                    Code::InvalidBody,
                    "the request body is missing: this operation needs a JSON body, sent with Content-Type: application/json",
                )
                .into())
            });
        }
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            Ok(Body(decode_body(value)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        value: crate::lotus::amount::Amount,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "PascalCase")]
    #[allow(dead_code)]
    struct Outer {
        to: String,
        message: Inner,
    }

    #[test]
    fn names_the_field_at_fault() {
        let err = decode_body::<Outer>(
            serde_json::json!({"To": "t0100", "Message": {"value": "1.5 BTC"}}),
        )
        .unwrap_err();
        assert_eq!(err.code, Code::InvalidBody);
        assert!(
            err.detail.contains("field \"Message.value\""),
            "{}",
            err.detail
        );
        assert!(err.detail.contains("unknown unit"), "{}", err.detail);
        let err = decode_body::<Outer>(
            serde_json::json!({"To": "t0100", "Message": {"value": "1"}, "Extra": 1}),
        )
        .unwrap_err();
        assert!(
            err.detail.contains("unknown field `Extra`"),
            "{}",
            err.detail
        );
        let err = decode_body::<Outer>(serde_json::json!({"Message": {"value": "1"}})).unwrap_err();
        assert!(err.detail.contains("missing field `To`"), "{}", err.detail);
    }
}
