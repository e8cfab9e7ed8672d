//! Moderation pages and forms: a group's moderation page (join requests, moderators), its
//! public moderation log, and removing, restoring, locking and unlocking posts.

use crate::{
    actions::{
        lookups,
        moderation::{self as moderation_actions, PostModeration},
    },
    context::Context,
    error::Error,
    federation::activities::add_or_remove,
    groups::{directory, moderation},
    http::web::{
        layout::{PageResult, csrf_field, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::{Path, Query},
    response::{IntoResponse, Redirect},
};
use kindred_entities::{actor, membership::MembershipRole};
use maud::{Markup, html};
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
    let csrf = visitor.csrf_token();
    let name = &group.preferred_username;
    let pending = moderation::pending_requests(&context.db, group.id).await?;
    let moderators = moderation::moderators(&context.db, group.id).await?;
    let queue = queue_section(&context, &group, csrf).await?;
    let reports = reports_section(&context, &group, csrf).await?;
    let bans = bans_section(&context, &group, csrf).await?;
    let body = html! {
        h1 { "Moderating " (directory::shown_name(&group)) }
        p {
            a href={ "/groups/" (name) } { "Back to the group" } " · "
            a href={ "/groups/" (name) "/modlog" } { "Moderation log" } " · "
            a href={ "/groups/" (name) "/edit" } { "Settings" }
        }
        h2 { "Join requests" }
        @if pending.is_empty() {
            p { "None waiting." }
        } @else {
            ul.requests {
                @for (request, person) in &pending {
                    li {
                        (directory::actor_handle(person)) " "
                        span.meta { "asked " (request.created_at.format("%Y-%m-%d %H:%M")) } " "
                        span.actions {
                            form method="post" action={ "/groups/" (name) "/requests/" (person.id) "/approve" } {
                                (csrf_field(csrf))
                                button type="submit" { "Approve" }
                            }
                            form method="post" action={ "/groups/" (name) "/requests/" (person.id) "/refuse" } {
                                (csrf_field(csrf))
                                button type="submit" class="secondary" { "Refuse" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Moderators" }
        ul.moderators {
            @for (role, person) in &moderators {
                li {
                    (directory::actor_handle(person)) " "
                    @if *role == MembershipRole::Moderator {
                        form method="post" action={ "/groups/" (name) "/moderators/" (person.id) "/dismiss" }
                            style="display:inline" {
                            (csrf_field(csrf))
                            button type="submit" class="secondary" { "Dismiss" }
                        }
                    } @else {
                        span.meta { "(owner)" }
                    }
                }
            }
        }
        (queue)
        (reports)
        (bans)
        h3 { "Appoint" }
        form method="post" action={ "/groups/" (name) "/moderators" } {
            (csrf_field(csrf))
            label for="member" { "Appoint a member as moderator" }
            input type="text" id="member" name="member"
                placeholder="name, or name@host for someone on another server" required;
            button type="submit" { "Appoint" }
        }
    };
    Ok(page(&context, &visitor, "Moderation", body).into_response())
}

/// Posts waiting for a moderator's approval (shown while there are some, or while the group is
/// premoderated).
async fn queue_section(
    context: &Context,
    group: &actor::Model,
    csrf: &str,
) -> Result<Markup, Error> {
    let waiting = moderation::approval_queue(&context.db, group.id).await?;
    if waiting.is_empty() && group.posting_mode != actor::PostingMode::Premoderated {
        return Ok(html! {});
    }
    let mut listed = Vec::with_capacity(waiting.len());
    for post in &waiting {
        let author = actor_by_id(context, post.author_id)
            .await
            .map(|person| directory::actor_handle(&person))
            .unwrap_or_default();
        let text = crate::html::to_plain_text(&post.content_html);
        let excerpt: String = text.chars().take(200).collect();
        listed.push((post, author, excerpt));
    }
    Ok(html! {
        h2 { "Waiting for approval" }
        @if listed.is_empty() {
            p { "Nothing waiting." }
        } @else {
            ul.queue {
                @for (post, author, excerpt) in &listed {
                    li {
                        a href={ "/posts/" (post.id) } {
                            (post.title.as_deref().unwrap_or("a reply"))
                        }
                        " by " (author) ": " (excerpt) " "
                        span.actions {
                            form method="post" action={ "/posts/" (post.id) "/moderate/approve" } {
                                (csrf_field(csrf))
                                button type="submit" { "Approve" }
                            }
                            form method="post" action={ "/posts/" (post.id) "/moderate/remove" } {
                                (csrf_field(csrf))
                                button type="submit" class="secondary" { "Remove" }
                            }
                        }
                    }
                }
            }
        }
    })
}

async fn reports_section(
    context: &Context,
    group: &actor::Model,
    csrf: &str,
) -> Result<Markup, Error> {
    let name = &group.preferred_username;
    // The open reports a moderator has to act on; closed ones are in the moderation log.
    let open = moderation::reports(&context.read_db, group.id, true, None, 200).await?;
    let posts = crate::groups::posts::posts_by_id(
        &context.read_db,
        open.iter().map(|report| report.post_id),
    )
    .await?;
    let people = directory::actors_by_id(
        &context.read_db,
        open.iter()
            .map(|report| report.reporter_id)
            .chain(posts.values().map(|post| post.author_id))
            .collect::<Vec<i64>>()
            .into_iter(),
    )
    .await?;
    let handle_of = |id: i64| {
        people
            .get(&id)
            .map(directory::actor_handle)
            .unwrap_or_default()
    };
    Ok(html! {
        h2 { "Reports" }
        @if open.is_empty() {
            p { "No open reports." }
        } @else {
            @for report in &open {
                @let post = posts.get(&report.post_id);
                @let author = post.map(|post| handle_of(post.author_id)).unwrap_or_default();
                section.card.report id={ "report-" (report.id) } {
                    p.meta {
                        "Reported by " strong { (handle_of(report.reporter_id)) }
                        " on " (report.created_at.format("%Y-%m-%d %H:%M"))
                    }
                    @if let Some(reason) = &report.reason {
                        blockquote { (reason) }
                    }
                    @match post {
                        Some(post) => {
                            p {
                                "Post by " strong { (author) } " in " (directory::shown_name(group)) ": "
                                a href={ "/posts/" (post.id) } {
                                    (post.title.as_deref().unwrap_or("a reply"))
                                }
                            }
                            @if post.removed_at.is_some() || post.deleted_at.is_some() {
                                p.notice { "This post is no longer shown." }
                            } @else {
                                blockquote.reported { (excerpt(post)) }
                            }
                            div.actions {
                                @if post.removed_at.is_none() && post.deleted_at.is_none() {
                                    form method="post" action={ "/posts/" (post.id) "/moderate/remove" } {
                                        (csrf_field(csrf))
                                        input type="hidden" name="reason" value={ "Reported: " (report.reason.as_deref().unwrap_or("no reason given")) };
                                        button type="submit" class="danger" { "Remove post" }
                                    }
                                }
                                details.confirm {
                                    summary { "Ban " (author) "…" }
                                    form method="post" action={ "/groups/" (name) "/bans" } {
                                        (csrf_field(csrf))
                                        input type="hidden" name="who" value=(author);
                                        // Unfolding the menu and pressing "Yes" is the confirmation.
                                        input type="hidden" name="confirm" value="yes";
                                        label for={ "ban-reason-" (report.id) } { "Reason (public)" }
                                        input type="text" id={ "ban-reason-" (report.id) } name="reason" maxlength="1000"
                                            value=(report.reason.as_deref().unwrap_or_default());
                                        label for={ "ban-days-" (report.id) } { "For how many days (empty: for good)" }
                                        input type="text" id={ "ban-days-" (report.id) } name="days" inputmode="numeric";
                                        button type="submit" class="danger" { "Yes, ban " (author) }
                                    }
                                }
                                (close_buttons(name, report.id, csrf))
                            }
                        }
                        None => {
                            p { "The post is gone." }
                            div.actions { (close_buttons(name, report.id, csrf)) }
                        }
                    }
                }
            }
        }
    })
}

/// The two ways a report is closed.
fn close_buttons(group_name: &str, report_id: i64, csrf: &str) -> Markup {
    html! {
        form method="post" action={ "/groups/" (group_name) "/reports/" (report_id) "/resolve" } {
            (csrf_field(csrf))
            button type="submit" { "Resolved" }
        }
        form method="post" action={ "/groups/" (group_name) "/reports/" (report_id) "/dismiss" } {
            (csrf_field(csrf))
            button type="submit" class="secondary" { "Dismiss" }
        }
    }
}

/// The first 400 characters of a reported post's text.
fn excerpt(post: &kindred_entities::post::Model) -> String {
    let text = crate::html::to_plain_text(&post.content_html);
    let mut short: String = text.chars().take(400).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
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
    let closing = moderation_actions::ReportClosing::from_path(&decision)?;
    moderation_actions::close_report(
        &context,
        &signed_in.account.actor,
        &group,
        report_id,
        closing,
    )
    .await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

async fn bans_section(
    context: &Context,
    group: &actor::Model,
    csrf: &str,
) -> Result<Markup, Error> {
    let name = &group.preferred_username;
    let bans = moderation::bans(&context.db, group.id).await?;
    let mut listed = Vec::with_capacity(bans.len());
    for ban in &bans {
        let who = match (ban.actor_id, &ban.host) {
            (Some(actor_id), _) => actor_by_id(context, actor_id)
                .await
                .map(|person| directory::actor_handle(&person))
                .unwrap_or_default(),
            (None, Some(host)) => format!("everyone on {host}"),
            (None, None) => String::new(),
        };
        listed.push((ban, who));
    }
    Ok(html! {
        h2 { "Bans" }
        @if listed.is_empty() {
            p { "No one is banned." }
        } @else {
            ul.bans {
                @for (ban, who) in &listed {
                    li {
                        (who)
                        @if let Some(reason) = &ban.reason {
                            " — " (reason)
                        }
                        " "
                        span.meta {
                            @if let Some(at) = ban.expires_at {
                                "until " (at.format("%Y-%m-%d %H:%M"))
                            } @else {
                                "until lifted"
                            }
                        }
                        " "
                        form method="post" action={ "/groups/" (name) "/bans/" (ban.id) "/lift" }
                            style="display:inline" {
                            (csrf_field(csrf))
                            button type="submit" class="secondary" { "Lift" }
                        }
                    }
                }
            }
        }
        form method="post" action={ "/groups/" (name) "/bans" } {
            (csrf_field(csrf))
            label for="who" { "Ban a person (name, or name@host) or a whole server (its host)" }
            input type="text" id="who" name="who" required;
            label for="ban-reason" { "Reason (public)" }
            input type="text" id="ban-reason" name="reason" maxlength="1000";
            label for="days" { "For how many days (empty: until lifted)" }
            input type="text" id="days" name="days" inputmode="numeric";
            label {
                input type="checkbox" name="remove_content";
                " Also remove what they posted here"
            }
            // A ban asks first, without script: the box must be ticked (and is checked again
            // by the handler, for a browser that ignores `required`).
            label {
                input type="checkbox" name="confirm" required;
                " I am sure: they can no longer post, vote or join here"
            }
            button type="submit" class="danger" { "Ban" }
        }
    })
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
    confirm: Option<String>,
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
    if form.confirm.is_none() {
        return Err(Error::invalid("tick \"I am sure\" to ban").into());
    }
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
        moderation_actions::ban(
            &context,
            &signed_in.account.actor,
            &group,
            moderation::BanTarget::Server(who),
            decision,
        )
        .await?;
    } else {
        let person = lookups::person_by_handle(&context.db, &context.config.domain(), who).await?;
        moderation_actions::ban(
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
    moderation_actions::lift_ban_by_id(&context, &signed_in.account.actor, &group, ban_id).await?;
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
    let decision = moderation_actions::JoinDecision::from_path(&decision)?;
    moderation_actions::decide_join_request(
        &context,
        &signed_in.account.actor,
        &group,
        &member,
        decision,
    )
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
    let member =
        lookups::person_by_handle(&context.db, &context.config.domain(), &form.member).await?;
    moderation_actions::change_moderator(
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
    moderation_actions::change_moderator(
        &context,
        &signed_in.account.actor,
        &group,
        &member,
        add_or_remove::ModeratorChange::Dismiss,
    )
    .await?;
    Ok(Redirect::to(&format!("/groups/{}/moderation", group.preferred_username)).into_response())
}

/// `GET /groups/{name}/modlog`: every moderation action, public, newest first, a page at a
/// time.
pub async fn log_page(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
    Query(query): Query<crate::http::web::PageQuery>,
) -> PageResult {
    let group = directory::find_local_group(&context.db, &name).await?;
    let below = crate::paging::parse_id_cursor(query.after.as_deref())?;
    let entries = moderation::log_entries(
        &context.read_db,
        group.id,
        below,
        crate::paging::PER_PAGE + 1,
    )
    .await?;
    let (entries, next) =
        crate::paging::page_by_id(entries, crate::paging::PER_PAGE, |entry| entry.id);
    let people = directory::actors_by_id(
        &context.read_db,
        entries
            .iter()
            .flat_map(|entry| [Some(entry.moderator_id), entry.target_actor_id])
            .flatten()
            .collect::<Vec<i64>>()
            .into_iter(),
    )
    .await?;
    let handle_of = |id: i64| people.get(&id).map(directory::actor_handle);
    let mut listed = Vec::with_capacity(entries.len());
    for entry in &entries {
        let moderator = handle_of(entry.moderator_id).unwrap_or_default();
        let target = match (entry.target_post_id, entry.target_actor_id) {
            (Some(post_id), _) => Some(html! { a href={ "/posts/" (post_id) } { "#" (post_id) } }),
            (None, Some(actor_id)) => handle_of(actor_id).map(|handle| html! { (handle) }),
            (None, None) => None,
        };
        listed.push((entry, moderator, target));
    }
    let body = html! {
        h1 { "Moderation log of " (directory::shown_name(&group)) }
        p { a href={ "/groups/" (group.preferred_username) } { "Back to the group" } }
        @if listed.is_empty() {
            p { "Nothing yet." }
        } @else {
            ul.modlog {
                @for (entry, moderator, target) in &listed {
                    li {
                        span.meta { (entry.created_at.format("%Y-%m-%d %H:%M")) }
                        " " (moderator) " " (moderation::Action::describe(&entry.action))
                        @if let Some(target) = target {
                            " " (target)
                        }
                        @if let Some(reason) = &entry.reason {
                            " — " (reason)
                        }
                    }
                }
            }
        }
        (super::groups::pager(
            &format!("/groups/{}/modlog", group.preferred_username),
            query.after.is_some(),
            next.as_deref(),
        ))
    };
    Ok(page(&context, &visitor, "Moderation log", body).into_response())
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
    Ok(Redirect::to(&format!("/posts/{}", changed.id)).into_response())
}

async fn actor_by_id(context: &Context, id: i64) -> Result<actor::Model, Error> {
    crate::actions::lookups::actor(&context.db, id, "person").await
}

carries_csrf_token!(AppointForm, BanForm, ReasonForm);
