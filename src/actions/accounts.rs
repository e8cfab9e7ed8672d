//! Signing up: one path for the registration page and the API.

use crate::{
    accounts::users::{self, NewUser, UserWithActor},
    app::Context,
    error::{Error, Result},
};
use std::net::IpAddr;

/// A visitor at `address` (as the HTTP layer found it; `None` in-process) signs up under
/// `instance.registration`, within `instance.registrations_per_hour_per_address`.
pub async fn sign_up(
    context: &Context,
    address: Option<IpAddr>,
    new_user: NewUser<'_>,
) -> Result<UserWithActor> {
    let per_hour = context.config.instance.registrations_per_hour_per_address;
    let key = address.map_or_else(|| "unknown".to_string(), crate::rate_limit::address_key);
    context
        .registration_limits
        .take_from(&key, per_hour, f64::from(per_hour) / 3600.0)
        .map_err(Error::TooManyRequests)?;
    users::register(&context.db, &context.config, &context.keys, new_user).await
}
