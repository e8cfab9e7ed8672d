//! A local person's profile: the display name, the bio (markdown, rendered and sanitised) and
//! the avatar other servers show beside their posts (`name`, `summary`, `icon` in their actor
//! document).

use crate::{
    error::{Error, Result},
    html,
};
use kindred_entities::actor;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};

/// The longest display name (as on Mastodon, in characters).
pub const MAX_DISPLAY_NAME_LENGTH: usize = 100;

/// The longest bio, in characters of markdown.
pub const MAX_BIO_LENGTH: usize = 5_000;

/// A new profile: every field is replaced (an empty one is cleared).
pub struct Profile<'a> {
    pub display_name: &'a str,
    pub bio_markdown: &'a str,
    /// The avatar's URL: a picture uploaded here (`media::uploads`), or none.
    pub avatar_url: Option<&'a str>,
}

/// Checks and stores a new profile for a local person.
pub async fn update_profile(
    database: &impl ConnectionTrait,
    person: actor::Model,
    profile: Profile<'_>,
) -> Result<actor::Model> {
    let display_name = html::plain_text_field(profile.display_name);
    if display_name.chars().count() > MAX_DISPLAY_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "a display name has at most {MAX_DISPLAY_NAME_LENGTH} characters"
        )));
    }
    let bio = profile.bio_markdown.trim();
    if bio.chars().count() > MAX_BIO_LENGTH {
        return Err(Error::invalid(format!(
            "a bio has at most {MAX_BIO_LENGTH} characters"
        )));
    }
    let mut update: actor::ActiveModel = person.into();
    update.display_name = Set((!display_name.is_empty()).then_some(display_name));
    update.summary_html = Set((!bio.is_empty()).then(|| html::markdown_to_html(bio)));
    update.summary_source = Set((!bio.is_empty()).then(|| bio.to_string()));
    update.icon_url = Set(profile.avatar_url.map(str::to_string));
    update.updated_at = Set(Some(chrono::Utc::now()));
    Ok(update.update(database).await?)
}
