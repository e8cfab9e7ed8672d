//! Moderation pages and forms: a group's moderation page (join requests, moderators), its
//! public moderation log, and removing, restoring, locking and unlocking posts.

use crate::{
    actions::moderation::PostModeration,
    app::Context,
    error::Error,
    federation::activities::{add_or_remove, block, follow},
    groups::{directory, moderation},
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
use kindred_entities::{actor, membership::MembershipRole};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct AppointForm {
    #[serde(default)]
    member: String,
    #[serde(default)]
    csrf: String,
}

/// `GET /groups/{name}/moderation`: join requests and moderators (moderators only).
pub async fn moderation_page(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
) -> PageResult {
    let signed_in = visitor.require()?;
    let group = directory::find_local_group(&context.db, &name).await?;
    moderation::require_moderator(
        &context.db,
        &group,
        signed_in.account.actor.id,
        signed_in.account.user.is_admin,
    )
    .await?;
    let csrf = escape(visitor.csrf_token());
    let name = escape(&group.preferred_username);
    let mut body = format!(
        "<h1>Moderating {}</h1>\n<p><a href=\"/groups/{name}\">Back to the group</a> · \
         <a href=\"/groups/{name}/modlog\">Moderation log</a> · <a href=\"/groups/{name}/edit\">Settings</a></p>\n\
         <h2>Join requests</h2>\n",
        escape(
            group
                .display_name
                .as_deref()
                .unwrap_or(&group.preferred_username)
        ),
    );
    let pending = moderation::pending_requests(&context.db, group.id).await?;
    if pending.is_empty() {
        body.push_str("<p>None waiting.</p>\n");
    } else {
        body.push_str("<ul class=\"requests\">\n");
        for (request, person) in &pending {
            body.push_str(&format!(
                "<li>{who} <span class=\"meta\">asked {at}</span> <span class=\"actions\">\
                 <form method=\"post\" action=\"/groups/{name}/requests/{id}/approve\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Approve</button></form>\
                 <form method=\"post\" action=\"/groups/{name}/requests/{id}/refuse\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Refuse</button></form>\
                 </span></li>\n",
                who = escape(&directory::actor_handle(person)),
                at = request.created_at.format("%Y-%m-%d %H:%M"),
                id = person.id,
            ));
        }
        body.push_str("</ul>\n");
    }
    body.push_str("<h2>Moderators</h2>\n<ul class=\"moderators\">\n");
    for (role, person) in moderation::moderators(&context.db, group.id).await? {
        let dismiss = if role == MembershipRole::Moderator {
            format!(
                " <form method=\"post\" action=\"/groups/{name}/moderators/{id}/dismiss\" style=\"display:inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Dismiss</button></form>",
                id = person.id
            )
        } else {
            " <span class=\"meta\">(owner)</span>".to_string()
        };
        body.push_str(&format!(
            "<li>{}{dismiss}</li>\n",
            escape(&directory::actor_handle(&person))
        ));
    }
    body.push_str("</ul>\n");
    body.push_str(&queue_section(&context, &group, &csrf).await?);
    body.push_str(&reports_section(&context, &group, &csrf).await?);
    body.push_str(&bans_section(&context, &group, &csrf).await?);
    body.push_str(&format!(
        "<h3>Appoint</h3>\n<form method=\"post\" action=\"/groups/{name}/moderators\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"member\">Appoint a member as moderator</label>\
         <input type=\"text\" id=\"member\" name=\"member\" placeholder=\"name, or name@host for someone on another server\" required>\n\
         <button type=\"submit\">Appoint</button>\n</form>\n"
    ));
    Ok(page(&context, &visitor, "Moderation", &body).into_response())
}

async fn queue_section(
    context: &Context,
    group: &actor::Model,
    csrf: &str,
) -> Result<String, Error> {
    let waiting = moderation::approval_queue(&context.db, group.id).await?;
    if waiting.is_empty() && group.posting_mode != actor::PostingMode::Premoderated {
        return Ok(String::new());
    }
    let mut html = String::from("<h2>Waiting for approval</h2>\n");
    if waiting.is_empty() {
        html.push_str("<p>Nothing waiting.</p>\n");
        return Ok(html);
    }
    html.push_str("<ul class=\"queue\">\n");
    for post in &waiting {
        let author = actor_by_id(context, post.author_id)
            .await
            .map(|person| directory::actor_handle(&person))
            .unwrap_or_default();
        let text = crate::html::to_plain_text(&post.content_html);
        let excerpt: String = text.chars().take(200).collect();
        html.push_str(&format!(
            "<li><a href=\"/posts/{thread}#post-{id}\">{title}</a> by {author}: {excerpt} <span class=\"actions\">\
             <form method=\"post\" action=\"/posts/{id}/moderate/approve\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Approve</button></form>\
             <form method=\"post\" action=\"/posts/{id}/moderate/remove\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Remove</button></form>\
             </span></li>\n",
            thread = post.thread_id.unwrap_or(post.id),
            id = post.id,
            title = escape(post.title.as_deref().unwrap_or("a reply")),
            author = escape(&author),
            excerpt = escape(&excerpt),
        ));
    }
    html.push_str("</ul>\n");
    Ok(html)
}

async fn reports_section(
    context: &Context,
    group: &actor::Model,
    csrf: &str,
) -> Result<String, Error> {
    let name = escape(&group.preferred_username);
    let open = moderation::reports(&context.db, group.id, true).await?;
    let mut html = String::from("<h2>Reports</h2>\n");
    if open.is_empty() {
        html.push_str("<p>No open reports.</p>\n");
        return Ok(html);
    }
    html.push_str("<ul class=\"reports\">\n");
    for report in &open {
        let reporter = actor_by_id(context, report.reporter_id)
            .await
            .map(|person| directory::actor_handle(&person))
            .unwrap_or_default();
        html.push_str(&format!(
            "<li><a href=\"/posts/{post}\">post #{post}</a> reported by {reporter}{reason} \
             <span class=\"meta\">{at}</span> <span class=\"actions\">\
             <form method=\"post\" action=\"/groups/{name}/reports/{id}/resolve\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Resolved</button></form>\
             <form method=\"post\" action=\"/groups/{name}/reports/{id}/dismiss\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Dismiss</button></form>\
             </span></li>\n",
            post = report.post_id,
            reporter = escape(&reporter),
            reason = report
                .reason
                .as_deref()
                .map(|reason| format!(": “{}”", escape(reason)))
                .unwrap_or_default(),
            at = report.created_at.format("%Y-%m-%d %H:%M"),
            id = report.id,
        ));
    }
    html.push_str("</ul>\n");
    Ok(html)
}

/// `POST /groups/{name}/reports/{id}/resolve|dismiss`.
pub async fn close_report(
    context: Context,
    Path((name, report_id, decision)): Path<(String, i64, String)>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    moderation::require_moderator(
        &context.db,
        &group,
        signed_in.account.actor.id,
        signed_in.account.user.is_admin,
    )
    .await?;
    let resolved = match decision.as_str() {
        "resolve" => true,
        "dismiss" => false,
        _ => return Err(Error::not_found("page").into()),
    };
    moderation::close_report(
        &context.db,
        &group,
        report_id,
        resolved,
        &signed_in.account.actor,
    )
    .await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

async fn bans_section(
    context: &Context,
    group: &actor::Model,
    csrf: &str,
) -> Result<String, Error> {
    let name = escape(&group.preferred_username);
    let mut html = String::from("<h2>Bans</h2>\n");
    let bans = moderation::bans(&context.db, group.id).await?;
    if bans.is_empty() {
        html.push_str("<p>No one is banned.</p>\n");
    } else {
        html.push_str("<ul class=\"bans\">\n");
        for ban in &bans {
            let who = match (ban.actor_id, &ban.host) {
                (Some(actor_id), _) => actor_by_id(context, actor_id)
                    .await
                    .map(|person| directory::actor_handle(&person))
                    .unwrap_or_default(),
                (None, Some(host)) => format!("everyone on {host}"),
                (None, None) => String::new(),
            };
            html.push_str(&format!(
                "<li>{who}{reason} <span class=\"meta\">{until}</span> \
                 <form method=\"post\" action=\"/groups/{name}/bans/{id}/lift\" style=\"display:inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Lift</button></form></li>\n",
                who = escape(&who),
                reason = ban
                    .reason
                    .as_deref()
                    .map(|reason| format!(" — {}", escape(reason)))
                    .unwrap_or_default(),
                until = ban
                    .expires_at
                    .map(|at| format!("until {}", at.format("%Y-%m-%d %H:%M")))
                    .unwrap_or_else(|| "until lifted".to_string()),
                id = ban.id,
            ));
        }
        html.push_str("</ul>\n");
    }
    html.push_str(&format!(
        "<form method=\"post\" action=\"/groups/{name}/bans\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"who\">Ban a person (name, or name@host) or a whole server (its host)</label>\
         <input type=\"text\" id=\"who\" name=\"who\" required>\n\
         <label for=\"ban-reason\">Reason (public)</label><input type=\"text\" id=\"ban-reason\" name=\"reason\" maxlength=\"1000\">\n\
         <label for=\"days\">For how many days (empty: until lifted)</label><input type=\"text\" id=\"days\" name=\"days\" inputmode=\"numeric\">\n\
         <label><input type=\"checkbox\" name=\"remove_content\"> Also remove what they posted here</label>\n\
         <button type=\"submit\">Ban</button>\n</form>\n"
    ));
    Ok(html)
}

#[derive(Deserialize)]
pub struct BanForm {
    #[serde(default)]
    who: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    remove_content: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /groups/{name}/bans`: a person by handle, or a server by host.
pub async fn ban(
    context: Context,
    Path(name): Path<String>,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<BanForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let expires_at = match form.days.trim() {
        "" => None,
        days => {
            let days: i64 = days
                .parse()
                .ok()
                .filter(|days| (1..=36_500).contains(days))
                .ok_or_else(|| Error::invalid("a ban lasts a whole number of days"))?;
            Some(chrono::Utc::now() + chrono::Duration::days(days))
        }
    };
    let decision = moderation::Ban {
        reason: Some(&form.reason),
        expires_at,
        remove_content: form.remove_content.is_some(),
    };
    let who = form.who.trim();
    // A handle names a person (name, or name@host); a bare host with a dot names a server.
    if !who.contains('@') && who.contains('.') {
        block::send_ban(
            &context,
            &signed_in.account.actor,
            &group,
            moderation::BanTarget::Server(who),
            decision,
        )
        .await?;
    } else {
        let person = find_person_by_handle(&context, who).await?;
        block::send_ban(
            &context,
            &signed_in.account.actor,
            &group,
            moderation::BanTarget::Person(&person),
            decision,
        )
        .await?;
    }
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

/// `POST /groups/{name}/bans/{id}/lift`.
pub async fn lift_ban(
    context: Context,
    Path((name, ban_id)): Path<(String, i64)>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    block::send_unban_by_id(&context, &signed_in.account.actor, &group, ban_id).await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

/// `POST /groups/{name}/requests/{actor}/approve|refuse`.
pub async fn decide_request(
    context: Context,
    Path((name, member_id, decision)): Path<(String, i64, String)>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = actor_by_id(&context, member_id).await?;
    let approve = match decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(Error::not_found("page").into()),
    };
    follow::send_join_decision(&context, &signed_in.account.actor, &group, &member, approve)
        .await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

/// `POST /groups/{name}/moderators`: the owner appoints a member by handle.
pub async fn appoint(
    context: Context,
    Path(name): Path<String>,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<AppointForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = find_person_by_handle(&context, &form.member).await?;
    add_or_remove::send_moderator_change(
        &context,
        &signed_in.account.actor,
        &group,
        &member,
        add_or_remove::ModeratorChange::Appoint,
    )
    .await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

/// `POST /groups/{name}/moderators/{actor}/dismiss`.
pub async fn dismiss(
    context: Context,
    Path((name, member_id)): Path<(String, i64)>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = actor_by_id(&context, member_id).await?;
    add_or_remove::send_moderator_change(
        &context,
        &signed_in.account.actor,
        &group,
        &member,
        add_or_remove::ModeratorChange::Dismiss,
    )
    .await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

/// `GET /groups/{name}/modlog`: every moderation action, public, newest first.
pub async fn log_page(context: Context, visitor: Visitor, Path(name): Path<String>) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let entries = moderation::log_entries(&context.db, group.id, 200).await?;
    let mut body = format!(
        "<h1>Moderation log of {}</h1>\n<p><a href=\"/groups/{}\">Back to the group</a></p>\n",
        escape(
            group
                .display_name
                .as_deref()
                .unwrap_or(&group.preferred_username)
        ),
        escape(&group.preferred_username),
    );
    if entries.is_empty() {
        body.push_str("<p>Nothing yet.</p>\n");
    } else {
        body.push_str("<ul class=\"modlog\">\n");
        for entry in &entries {
            let moderator = actor_by_id(&context, entry.moderator_id)
                .await
                .map(|person| directory::actor_handle(&person))
                .unwrap_or_default();
            let target = match (entry.target_post_id, entry.target_actor_id) {
                (Some(post_id), _) => format!(" <a href=\"/posts/{post_id}\">#{post_id}</a>"),
                (None, Some(actor_id)) => actor_by_id(&context, actor_id)
                    .await
                    .map(|person| format!(" {}", escape(&directory::actor_handle(&person))))
                    .unwrap_or_default(),
                (None, None) => String::new(),
            };
            let reason = entry
                .reason
                .as_deref()
                .map(|reason| format!(" — {}", escape(reason)))
                .unwrap_or_default();
            body.push_str(&format!(
                "<li><span class=\"meta\">{at}</span> {who} {what}{target}{reason}</li>\n",
                at = entry.created_at.format("%Y-%m-%d %H:%M"),
                who = escape(&moderator),
                what = moderation::Action::describe(&entry.action),
            ));
        }
        body.push_str("</ul>\n");
    }
    Ok(page(&context, &visitor, "Moderation log", &body).into_response())
}

/// `POST /posts/{id}/moderate/{remove|restore|lock|unlock|pin|unpin}` (removal with an
/// optional public reason).
pub async fn post_action(
    context: Context,
    Path((id, action)): Path<(i64, String)>,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<ReasonForm>,
) -> PageResult {
    let moderator = &signed_in.account.actor;
    let action = PostModeration::from_path(&action)?;
    let target = crate::actions::lookups::post(&context.db, id).await?;
    let changed = crate::actions::moderation::moderate_post(
        &context,
        moderator,
        target,
        action,
        Some(&form.reason),
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/posts/{}#post-{}",
        changed.thread_id.unwrap_or(changed.id),
        changed.id
    ))
    .into_response())
}

async fn actor_by_id(context: &Context, id: i64) -> Result<actor::Model, Error> {
    crate::actions::lookups::actor(&context.db, id, "person").await
}

/// A person by handle: `name` here, or `name@host` (someone this instance knows).
async fn find_person_by_handle(context: &Context, handle: &str) -> Result<actor::Model, Error> {
    let handle = handle.trim().trim_start_matches('@');
    let (name, host) = match handle.split_once('@') {
        Some((name, host)) => (name, host.to_lowercase()),
        None => (handle, context.config.domain()),
    };
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    actor::Entity::find()
        .filter(actor::Column::Kind.eq(actor::ActorKind::Person))
        .filter(actor::Column::DeletedAt.is_null())
        .filter(
            Expr::expr(Func::lower(Expr::col(actor::Column::PreferredUsername)))
                .eq(name.to_lowercase()),
        )
        .all(&context.db)
        .await?
        .into_iter()
        .find(|person| {
            person.preferred_username.eq_ignore_ascii_case(name)
                && crate::hosts::same_host(&directory::host_of_id(&person.ap_id), &host)
        })
        .ok_or_else(|| Error::not_found("person with that handle"))
}

carries_csrf_token!(AppointForm, BanForm, ReasonForm);
