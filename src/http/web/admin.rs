//! The administrator's page: registrations waiting for approval, and removing a group or an
//! account (the servers that know it are told).

use crate::{
    accounts::users,
    actions::accounts::{self, Remover},
    context::Context,
    error::Error,
    http::web::{
        layout::{PageResult, csrf_field, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::Path,
    response::{IntoResponse, Redirect},
};
use kindred_entities::user::UserState;
use maud::html;
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
    let csrf = visitor.csrf_token();
    let body = html! {
        h1 { "Administration" }
        h2 { "Registrations waiting for approval" }
        @if pending.is_empty() {
            p { "None." }
        }
        @for applicant in &pending {
            section.card {
                h3 { (applicant.name) }
                p.meta {
                    (applicant.email.as_deref().unwrap_or("no email"))
                    " · applied " (applicant.created_at.format("%Y-%m-%d"))
                }
                blockquote {
                    (applicant.application_text.as_deref().unwrap_or("(nothing written)"))
                }
                div.actions {
                    form method="post" action={ "/admin/users/" (applicant.name) "/approve" } {
                        (csrf_field(csrf))
                        button type="submit" { "Approve" }
                    }
                    form method="post" action={ "/admin/users/" (applicant.name) "/refuse" } {
                        (csrf_field(csrf))
                        button type="submit" class="secondary" { "Refuse" }
                    }
                }
            }
        }
        h2 { "Remove a group or an account" }
        p.hint {
            "Removing marks it deleted here and tells the servers that know it. It cannot be undone."
        }
        form method="post" action="/admin/remove" {
            (csrf_field(csrf))
            label for="remove-kind" { "What" }
            select id="remove-kind" name="kind" {
                option value="group" { "Group" }
                option value="user" { "Account" }
            }
            label for="remove-name" { "Name" }
            input type="text" id="remove-name" name="name" required;
            label {
                input type="checkbox" name="confirm" required;
                " I am sure"
            }
            button type="submit" { "Remove" }
        }
    };
    Ok(page(&context, &visitor, "Administration", body).into_response())
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
    let remover = Remover::administrator(&signed_in.account)?;
    if form.confirm.is_none() {
        return Err(Error::invalid("tick \"I am sure\" to remove").into());
    }
    match form.kind.as_str() {
        "group" => accounts::remove_group(&context, remover, &form.name).await?,
        "user" => accounts::remove_account(&context, remover, &form.name).await?,
        _ => return Err(Error::invalid("remove a group or a user").into()),
    }
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
