//! Keeping a group: creating one (from the web; `kindred group create` works too) and editing
//! its profile and posting mode, for its owner or an administrator.

use crate::{
    app::Context,
    error::Error,
    groups::{
        directory::{self, NewGroup},
        membership,
    },
    html::escape,
    http::web::{
        accounts::problem_html,
        layout::{PageResult, page},
        session::{SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::actor;
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
    let body = format!(
        "<h1>Create a group</h1>\n{problem}\
         <form method=\"post\" action=\"/create-group\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"name\">Name</label>\
         <input type=\"text\" id=\"name\" name=\"name\" value=\"{name}\" required pattern=\"[a-z0-9_]{{1,64}}\" aria-describedby=\"name-hint\">\n\
         <p class=\"hint\" id=\"name-hint\">Lower-case letters, digits and _. The group will be @name@{domain}; it cannot be changed later.</p>\n\
         <label for=\"title\">Title</label>\
         <input type=\"text\" id=\"title\" name=\"title\" value=\"{title}\" required maxlength=\"{max_title}\">\n\
         <label for=\"summary\">What is it about? (markdown)</label>\
         <textarea id=\"summary\" name=\"summary\">{summary}</textarea>\n\
         <button type=\"submit\">Create group</button>\n</form>\n",
        problem = problem_html(problem),
        csrf = escape(visitor.csrf_token()),
        name = escape(&form.name),
        title = escape(&form.title),
        summary = escape(&form.summary),
        domain = escape(&context.config.domain()),
        max_title = directory::MAX_TITLE_LENGTH,
    );
    (status, page(context, visitor, "Create a group", &body)).into_response()
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
    /// "open", "members" or "moderators".
    #[serde(default)]
    posting_mode: String,
    /// Present (any value) when join requests wait for a moderator.
    #[serde(default)]
    approval: Option<String>,
    #[serde(default)]
    csrf: String,
}

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
        posting_mode: posting_mode_value(group.posting_mode).to_string(),
        approval: group.manually_approves_followers.then(|| "on".to_string()),
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
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<EditGroupForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let edited = match parse_posting_mode(&form.posting_mode) {
        Ok(posting_mode) => {
            crate::actions::groups::edit_group(
                &context,
                &signed_in.account.actor,
                group.clone(),
                directory::GroupProfile {
                    title: &form.title,
                    summary_markdown: Some(&form.summary),
                    icon_url: Some(&form.icon_url),
                    manually_approves_followers: Some(form.approval.is_some()),
                },
                posting_mode,
            )
            .await
        }
        Err(error) => Err(error),
    };
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
    let body = format!(
        "<h1>Edit {name}</h1>\n{problem}\
         <form method=\"post\" action=\"/groups/{name}/edit\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"title\">Title</label>\
         <input type=\"text\" id=\"title\" name=\"title\" value=\"{title}\" required maxlength=\"{max_title}\">\n\
         <label for=\"summary\">What is it about? (markdown)</label>\
         <textarea id=\"summary\" name=\"summary\">{summary}</textarea>\n\
         <label for=\"icon_url\">Icon (address of an image)</label>\
         <input type=\"text\" id=\"icon_url\" name=\"icon_url\" value=\"{icon}\" inputmode=\"url\">\n\
         <label for=\"posting_mode\">Who may post</label>\
         <select id=\"posting_mode\" name=\"posting_mode\">{modes}</select>\n\
         <label><input type=\"checkbox\" name=\"approval\"{approval}> Join requests wait for a moderator's approval</label>\n\
         <button type=\"submit\">Save</button>\n</form>\n",
        name = escape(&group.preferred_username),
        problem = problem_html(problem),
        csrf = escape(visitor.csrf_token()),
        title = escape(&form.title),
        summary = escape(&form.summary),
        icon = escape(&form.icon_url),
        max_title = directory::MAX_TITLE_LENGTH,
        modes = [
            ("open", "Anyone"),
            ("members", "Members"),
            ("moderators", "Moderators only"),
            ("premoderated", "Members, each post approved by a moderator")
        ]
        .iter()
        .map(|(value, label)| format!(
            "<option value=\"{value}\"{}>{label}</option>",
            if form.posting_mode == *value {
                " selected"
            } else {
                ""
            }
        ))
        .collect::<String>(),
        approval = if form.approval.is_some() {
            " checked"
        } else {
            ""
        },
    );
    (status, page(context, visitor, "Edit group", &body)).into_response()
}

carries_csrf_token!(CreateGroupForm, EditGroupForm);
