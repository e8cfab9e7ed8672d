//! The administrator's page: registrations waiting for approval, and removing a group or an
//! account (the servers that know it are told).

use crate::{
    accounts::users,
    app::Context,
    error::Error,
    html::escape,
    http::web::{
        layout::{PageResult, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::Path,
    response::{IntoResponse, Redirect},
};
use kindred_entities::user::UserState;
use serde::Deserialize;

/// `GET /admin`: registrations waiting for approval (administrators only).
pub async fn admin_page(context: Context, visitor: Visitor) -> PageResult {
    let signed_in = visitor.require()?;
    if !signed_in.account.user.is_admin {
        return Err(Error::Forbidden("only administrators see this page".into()).into());
    }
    let pending: Vec<_> = users::list(&context.db)
        .await?
        .into_iter()
        .filter(|user| user.state == UserState::Pending)
        .collect();
    let csrf = escape(visitor.csrf_token());
    let mut body =
        String::from("<h1>Administration</h1>\n<h2>Registrations waiting for approval</h2>\n");
    if pending.is_empty() {
        body.push_str("<p>None.</p>\n");
    }
    for applicant in &pending {
        body.push_str(&format!(
            "<section class=\"card\"><h3>{name}</h3><p class=\"meta\">{email} · applied {at}</p>\
             <blockquote>{application}</blockquote>\
             <div class=\"actions\">\
             <form method=\"post\" action=\"/admin/users/{name}/approve\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Approve</button></form>\
             <form method=\"post\" action=\"/admin/users/{name}/refuse\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Refuse</button></form>\
             </div></section>\n",
            name = escape(&applicant.name),
            email = escape(applicant.email.as_deref().unwrap_or("no email")),
            at = applicant.created_at.format("%Y-%m-%d"),
            application = escape(applicant.application_text.as_deref().unwrap_or("(nothing written)")),
        ));
    }
    body.push_str(&format!(
        "<h2>Remove a group or an account</h2>\n\
         <p class=\"hint\">Removing marks it deleted here and tells the servers that know it. It cannot be undone.</p>\n\
         <form method=\"post\" action=\"/admin/remove\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"remove-kind\">What</label><select id=\"remove-kind\" name=\"kind\"><option value=\"group\">Group</option><option value=\"user\">Account</option></select>\n\
         <label for=\"remove-name\">Name</label><input type=\"text\" id=\"remove-name\" name=\"name\" required>\n\
         <label><input type=\"checkbox\" name=\"confirm\" required> I am sure</label>\n\
         <button type=\"submit\">Remove</button>\n</form>\n"
    ));
    Ok(page(&context, &visitor, "Administration", &body).into_response())
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/remove`: an administrator removes a group or an account.
pub async fn admin_remove(
    context: Context,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<RemoveForm>,
) -> PageResult {
    if !signed_in.account.user.is_admin {
        return Err(
            Error::Forbidden("only administrators remove groups and accounts".into()).into(),
        );
    }
    if form.confirm.is_none() {
        return Err(Error::invalid("tick \"I am sure\" to remove").into());
    }
    let target = match form.kind.as_str() {
        "group" => crate::groups::directory::find_local_group(&context.db, &form.name).await?,
        "user" => {
            let account = users::find_by_name(&context.db, &form.name)
                .await?
                .filter(|account| account.actor.deleted_at.is_none())
                .ok_or_else(|| Error::not_found("user"))?;
            if account.user.id == signed_in.account.user.id {
                return Err(Error::invalid("you cannot remove your own account here").into());
            }
            account.actor
        }
        _ => return Err(Error::invalid("remove a group or a user").into()),
    };
    crate::federation::activities::delete::send_actor_deletion(&context, target).await?;
    Ok(Redirect::to("/admin").into_response())
}

/// `POST /admin/users/{name}/approve` and `/refuse`: an administrator decides on a
/// registration. A refused account is disabled (its name stays taken).
pub async fn decide_registration(
    context: Context,
    Path((name, decision)): Path<(String, String)>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    if !signed_in.account.user.is_admin {
        return Err(Error::Forbidden("only administrators decide on registrations".into()).into());
    }
    let state = match decision.as_str() {
        "approve" => UserState::Active,
        "refuse" => UserState::Disabled,
        _ => return Err(Error::not_found("page").into()),
    };
    users::set_state(&context.db, &name, state).await?;
    Ok(Redirect::to("/admin").into_response())
}

carries_csrf_token!(RemoveForm);
