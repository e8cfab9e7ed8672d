//! Keeping a group: creating one (from the web; `kindred group create` works too) and editing
//! its profile and posting mode, for its owner or an administrator.

use crate::{
    context::Context,
    error::Error,
    groups::{
        directory::{self, NewGroup},
        membership,
    },
    http::web::{
        form_with_pictures::SignedInFormWithPictures,
        layout::{self, PageResult, csrf_field, page},
        session::{SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::actor;
use maud::html;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct CreateGroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    csrf: String,
}

pub async fn create_group_page(context: Context, visitor: Visitor) -> PageResult {
    may_create_groups(&context, &visitor)?;
    Ok(create_group_form(
        &context,
        &visitor,
        &CreateGroupForm::default(),
        None,
        StatusCode::OK,
    ))
}

pub async fn create_group(
    context: Context,
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<CreateGroupForm>,
) -> PageResult {
    // Refused with an error page, not the form, for someone who may not create groups.
    may_create_groups(&context, &visitor)?;
    let created = crate::actions::groups::create_group(
        &context,
        &signed_in,
        NewGroup {
            name: form.name.trim(),
            title: &form.title,
            summary_markdown: Some(&form.summary),
        },
    )
    .await;
    match created {
        Ok(group) => {
            Ok(Redirect::to(&format!("/groups/{}", group.preferred_username)).into_response())
        }
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            Ok(create_group_form(
                &context,
                &visitor,
                &form,
                Some(&reason),
                status,
            ))
        }
    }
}

fn may_create_groups(context: &Context, visitor: &Visitor) -> Result<(), Error> {
    crate::actions::groups::may_create_groups(context, visitor.require()?)
}

fn create_group_form(
    context: &Context,
    visitor: &Visitor,
    form: &CreateGroupForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = html! {
        h1 { "Create a group" }
        (layout::problem(problem))
        form method="post" action="/create-group" {
            (csrf_field(visitor.csrf_token()))
            label for="name" { "Name" }
            input type="text" id="name" name="name" value=(form.name) required
                pattern="[a-z0-9_]{1,64}" aria-describedby="name-hint";
            p.hint id="name-hint" {
                "Lower-case letters, digits and _. The group will be @name@"
                (context.config.domain())
                "; it cannot be changed later."
            }
            label for="title" { "Title" }
            input type="text" id="title" name="title" value=(form.title) required
                maxlength=(directory::MAX_TITLE_LENGTH);
            label for="summary" { "What is it about? (markdown)" }
            textarea id="summary" name="summary" { (form.summary) }
            button type="submit" { "Create group" }
        }
    };
    (status, page(context, visitor, "Create a group", body)).into_response()
}

pub(super) async fn may_edit(
    context: &Context,
    signed_in: &crate::accounts::sessions::SignedIn,
    group: &actor::Model,
) -> Result<bool, Error> {
    Ok(signed_in.account.user.is_admin
        || membership::is_owner(&context.db, group.id, signed_in.account.actor.id).await?)
}

#[derive(Deserialize, Default)]
pub struct EditGroupForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    icon_url: String,
    /// Present (any value) to take the icon away.
    #[serde(default)]
    remove_icon: Option<String>,
    /// Present (any value) to take the banner away.
    #[serde(default)]
    remove_banner: Option<String>,
    /// "open", "members" or "moderators".
    #[serde(default)]
    posting_mode: String,
    /// Present (any value) when join requests wait for a moderator.
    #[serde(default)]
    approval: Option<String>,
    /// Present (any value) when the group is not safe for work.
    #[serde(default)]
    sensitive: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// The choices of the "Who may post" list: each posting mode's form value and its label.
const POSTING_MODE_CHOICES: [(&str, &str); 4] = [
    ("open", "Anyone"),
    ("members", "Members"),
    ("moderators", "Moderators only"),
    ("premoderated", "Members, each post approved by a moderator"),
];

fn posting_mode_value(mode: actor::PostingMode) -> &'static str {
    match mode {
        actor::PostingMode::Open => "open",
        actor::PostingMode::Members => "members",
        actor::PostingMode::Moderators => "moderators",
        actor::PostingMode::Premoderated => "premoderated",
    }
}

fn parse_posting_mode(value: &str) -> Result<Option<actor::PostingMode>, Error> {
    Ok(match value {
        "" => None,
        "open" => Some(actor::PostingMode::Open),
        "members" => Some(actor::PostingMode::Members),
        "moderators" => Some(actor::PostingMode::Moderators),
        "premoderated" => Some(actor::PostingMode::Premoderated),
        _ => {
            return Err(Error::invalid(
                "posting is open, members, moderators or premoderated",
            ));
        }
    })
}

pub async fn edit_group_page(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
) -> PageResult {
    let signed_in = visitor.require()?;
    let group = directory::find_local_group(&context.db, &name).await?;
    if !may_edit(&context, signed_in, &group).await? {
        return Err(Error::Forbidden(
            "only the group's owner or an administrator may edit it".into(),
        )
        .into());
    }
    let form = EditGroupForm {
        title: group.display_name.clone().unwrap_or_default(),
        summary: group.summary_source.clone().unwrap_or_default(),
        icon_url: group.icon_url.clone().unwrap_or_default(),
        remove_icon: None,
        remove_banner: None,
        posting_mode: posting_mode_value(group.posting_mode).to_string(),
        approval: group.manually_approves_followers.then(|| "on".to_string()),
        sensitive: group.sensitive.then(|| "on".to_string()),
        csrf: String::new(),
    };
    Ok(edit_group_form(
        &context,
        &visitor,
        &group,
        &form,
        None,
        StatusCode::OK,
    ))
}

pub async fn edit_group(
    context: Context,
    Path(name): Path<String>,
    SignedInFormWithPictures {
        signed_in,
        visitor,
        form,
        files,
    }: SignedInFormWithPictures<EditGroupForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let editor = &signed_in.account.actor;
    let edited = async {
        let posting_mode = parse_posting_mode(&form.posting_mode)?;
        // A picture sent replaces the one before; "remove" takes it away.
        let mut icon_url = (form.remove_icon.is_none()).then(|| form.icon_url.clone());
        let mut banner_url = if form.remove_banner.is_some() {
            None
        } else {
            group.image_url.clone()
        };
        for file in files {
            let url =
                crate::actions::media::upload_profile_picture(&context, editor, file.bytes).await?;
            match file.field.as_str() {
                "icon" => icon_url = Some(url),
                "banner" => banner_url = Some(url),
                _ => {}
            }
        }
        crate::actions::groups::edit_group(
            &context,
            editor,
            group.clone(),
            directory::GroupProfile {
                title: &form.title,
                summary_markdown: Some(&form.summary),
                icon_url: icon_url.as_deref(),
                banner_url: banner_url.as_deref(),
                manually_approves_followers: Some(form.approval.is_some()),
                sensitive: Some(form.sensitive.is_some()),
            },
            posting_mode,
        )
        .await
    }
    .await;
    match edited {
        Ok(group) => {
            Ok(Redirect::to(&format!("/groups/{}", group.preferred_username)).into_response())
        }
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() || status == StatusCode::FORBIDDEN {
                return Err(error.into());
            }
            Ok(edit_group_form(
                &context,
                &visitor,
                &group,
                &form,
                Some(&reason),
                status,
            ))
        }
    }
}

fn edit_group_form(
    context: &Context,
    visitor: &Visitor,
    group: &actor::Model,
    form: &EditGroupForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let name = &group.preferred_username;
    let body = html! {
        h1 { "Edit " (directory::shown_name(group)) }
        (layout::problem(problem))
        form method="post" enctype="multipart/form-data" action={ "/groups/" (name) "/edit" } {
            (csrf_field(visitor.csrf_token()))
            label for="title" { "Title" }
            input type="text" id="title" name="title" value=(form.title) required
                maxlength=(directory::MAX_TITLE_LENGTH);
            label for="summary" { "What is it about? (markdown)" }
            textarea id="summary" name="summary" { (form.summary) }
            fieldset {
                legend { "Icon" }
                @if group.icon_url.is_some() {
                    img.avatar src={ "/media/actors/" (group.id) "/icon" } alt="The group's icon now" width="64" height="64";
                }
                label for="icon" { "A new icon (a square picture: PNG, JPEG, GIF or WebP)" }
                input type="file" id="icon" name="icon" accept="image/png,image/jpeg,image/gif,image/webp";
                label for="icon_url" { "or the address of a picture elsewhere" }
                input type="text" id="icon_url" name="icon_url" value=(form.icon_url) inputmode="url";
                label { input type="checkbox" name="remove_icon"; " Remove the icon" }
            }
            fieldset {
                legend { "Banner" }
                @if group.image_url.is_some() {
                    img.banner src={ "/media/actors/" (group.id) "/banner" } alt="The group's banner now";
                }
                label for="banner" { "A new banner (a wide picture)" }
                input type="file" id="banner" name="banner" accept="image/png,image/jpeg,image/gif,image/webp";
                label { input type="checkbox" name="remove_banner"; " Remove the banner" }
            }
            label for="posting_mode" { "Who may post" }
            select id="posting_mode" name="posting_mode" {
                @for (value, label) in POSTING_MODE_CHOICES {
                    option value=(value) selected[form.posting_mode == value] { (label) }
                }
            }
            label {
                input type="checkbox" name="approval" checked[form.approval.is_some()];
                " Join requests wait for a moderator's approval"
            }
            label {
                input type="checkbox" name="sensitive" checked[form.sensitive.is_some()];
                " Not safe for work (NSFW): posts are shown folded, and other servers are told"
            }
            button type="submit" { "Save" }
        }
    };
    (status, page(context, visitor, "Edit group", body)).into_response()
}

carries_csrf_token!(CreateGroupForm, EditGroupForm);
