//! What a handler takes from a request: [`Authorized`], a caller checked for the permission the handler names.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::auth::{bearer_token, Authorized, Perm, Permission, Target, Upstream};
use crate::error::ApiError;
use crate::state::AppState;

impl<P: Permission + 'static, U: Target + 'static> FromRequest for Authorized<P, U> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state is missing"))?;
            if state.limits.public && P::PERM > Perm::Read {
                return Err(ApiError::new(
                    crate::error::Code::OperationDisabled,
                    format!(
                        "this operation needs the '{}' permission and is disabled here: this gateway is public and serves read operations only",
                        P::PERM
                    ),
                ));
            }
            let token = token?;
            let anonymous = token.is_none();
            let bucket = token.as_deref().map(crate::ratelimit::token_key);
            let (auth, upstream) = match U::UPSTREAM {
                Upstream::Node => (&state.auth, &state.node),
                Upstream::Miner => (&state.miner_auth, &state.miner),
            };
            let caller = auth.authenticate(token, upstream, &state.metrics).await?;
            // Charged to the token once it is verified: a token that fails verification has no bucket, and one
            // token written in several ways has one.
            if let Some(key) = bucket {
                crate::ratelimit::charge_token(state.limits.per_token.as_ref(), &req, &key).await?;
            }
            if anonymous && !caller.perms.contains(P::PERM) {
                return Err(ApiError::unauthorized(format!(
                    "this operation needs the '{}' permission and anonymous access does not grant it: send a Lotus token as \"Authorization: Bearer <token>\"",
                    P::PERM
                )));
            }
            if !caller.perms.contains(P::PERM) {
                return Err(ApiError::forbidden(P::PERM, caller.perms));
            }
            Ok(Authorized::checked(caller))
        })
    }
}
