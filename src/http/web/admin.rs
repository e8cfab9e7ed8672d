//! The administrator's pages: registrations waiting for approval, the instance's settings,
//! removing a group or an account (the servers that know it are told), and federation health
//! (`admin_health.rs`).

use crate::{
    accounts::users,
    actions::accounts::{self, Remover},
    context::Context,
    error::Error,
    http::web::{
        layout::{PageResult, csrf_field, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
    site_settings::{self, SiteSettings},
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
    let site = context.site_settings.current();
    let body = html! {
        h1 { "Administration" }
        p { a href="/admin/federation" { "Federation health" } ": deliveries, the queue and failing servers over the last day." }
        (settings_form(&site, csrf))
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

/// The instance's settings, as an administrator may change them.
fn settings_form(site: &SiteSettings, csrf: &str) -> maud::Markup {
    let registration = site_settings::registration_as_text(site.registration);
    let group_creation = site_settings::group_creation_as_text(site.group_creation);
    html! {
        h2 id="settings" { "This instance" }
        form.card method="post" action="/admin/settings" {
            (csrf_field(csrf))
            label for="site-name" { "Name" }
            input type="text" id="site-name" name="name" value=(site.name) required
                maxlength=(site_settings::MAX_NAME_LENGTH);
            label for="site-description" { "Description (shown above the group directory)" }
            textarea id="site-description" name="description"
                maxlength=(site_settings::MAX_DESCRIPTION_LENGTH) { (site.description) }
            label for="site-registration" { "Who may sign up" }
            select id="site-registration" name="registration" {
                @for (value, label) in [
                    ("open", "Anyone, at once"),
                    ("approval", "Anyone, once an administrator approves"),
                    ("closed", "No one (accounts are made with the CLI)"),
                ] {
                    option value=(value) selected[value == registration] { (label) }
                }
            }
            label for="site-group-creation" { "Who may create groups" }
            select id="site-group-creation" name="group_creation" {
                @for (value, label) in [("anyone", "Every signed-in person"), ("admins", "Administrators only")] {
                    option value=(value) selected[value == group_creation] { (label) }
                }
            }
            p.hint { "Saved here, these win over the config file's; set back to the file's values, the file applies again." }
            button type="submit" { "Save settings" }
        }
    }
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    registration: String,
    #[serde(default)]
    group_creation: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/settings`: an administrator changes the instance's settings.
pub async fn save_settings(
    context: Context,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<SettingsForm>,
) -> PageResult {
    let wanted = SiteSettings {
        name: form.name,
        description: form.description,
        registration: site_settings::registration_from_text(&form.registration)
            .ok_or_else(|| Error::invalid("registration is open, approval or closed"))?,
        group_creation: site_settings::group_creation_from_text(&form.group_creation)
            .ok_or_else(|| Error::invalid("group creation is anyone or admins"))?,
    };
    accounts::change_site_settings(&context, &signed_in.account, &wanted).await?;
    Ok(Redirect::to("/admin#settings").into_response())
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

carries_csrf_token!(SettingsForm, RemoveForm);
