//! Signing up: one path for the registration page and the API.

use crate::{
    accounts::users::{self, NewUser, UserWithActor},
    app::Context,
    error::Result,
    http::ClientAddress,
};

/// A visitor at `address` signs up under `instance.registration`, within the sign-ups allowed
/// from one address an hour.
pub async fn sign_up(
    context: &Context,
    address: &ClientAddress,
    new_user: NewUser<'_>,
) -> Result<UserWithActor> {
    crate::http::count_registration(context, address)?;
    users::register(&context.db, &context.config, &context.keys, new_user).await
}
