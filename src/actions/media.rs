//! Uploading a picture: for a post (attached when the post is written, by id), as a person's
//! avatar, or as a group's icon or banner. The web forms and the API (`POST /api/v1/media`)
//! both come here.

use crate::{context::Context, error::Result, media::uploads};
use bytes::Bytes;
use kindred_entities::{actor, upload};

/// A local person uploads a picture with its alt text: checked, re-encoded without EXIF and
/// kept (see `media::uploads::save` for what is refused, and how).
pub async fn upload_picture(
    context: &Context,
    uploader: &actor::Model,
    bytes: Bytes,
    description: Option<&str>,
) -> Result<upload::Model> {
    uploads::save(
        &context.db,
        context.media_store.as_ref(),
        &context.config,
        uploader.id,
        bytes,
        description,
    )
    .await
}

/// Uploads a picture for a profile (an avatar, an icon, a banner) and gives its public URL.
/// The upload is kept once the profile is saved with it.
pub async fn upload_profile_picture(
    context: &Context,
    uploader: &actor::Model,
    bytes: Bytes,
) -> Result<String> {
    let upload = upload_picture(context, uploader, bytes, None).await?;
    Ok(uploads::url_of(&context.config, &upload))
}

/// Uploads the pictures sent with a post's form, in order, each with its alt text, and gives
/// their ids for the post's draft. More than four is refused before any is kept.
pub async fn upload_post_pictures(
    context: &Context,
    uploader: &actor::Model,
    pictures: Vec<(Bytes, Option<String>)>,
) -> Result<Vec<i64>> {
    if pictures.len() > uploads::MAX_PICTURES_PER_POST {
        return Err(crate::error::Error::invalid(format!(
            "a post carries at most {} pictures",
            uploads::MAX_PICTURES_PER_POST
        )));
    }
    let mut ids = Vec::with_capacity(pictures.len());
    for (bytes, description) in pictures {
        ids.push(
            upload_picture(context, uploader, bytes, description.as_deref())
                .await?
                .id,
        );
    }
    Ok(ids)
}
