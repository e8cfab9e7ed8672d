//! Thread pages and what can be done on them: read a thread with its nested replies, reply,
//! vote, edit and delete one's own posts.

use crate::{
    actions::{
        lookups,
        threads::{self, ThreadView},
    },
    context::Context,
    error::Error,
    groups::{directory, posts},
    html::SanitizedHtml,
    http::web::{
        form_with_pictures::SignedInFormWithPictures,
        layout::{self, PageResult, csrf_field, notice, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::{
    actor, post,
    post_attachment::{self, AttachmentKind},
};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

/// Replies nest visually up to this depth; deeper ones line up with it.
const MAX_VISUAL_DEPTH: usize = 6;

/// `GET /posts/{id}` for browsers: the thread page (a reply shows within its thread).
pub async fn thread_page(
    context: &Context,
    visitor: &Visitor,
    id: i64,
    replies_after: Option<&str>,
) -> PageResult {
    let found = lookups::post(&context.db, id).await?;
    if let Some(thread_id) = found.thread_id {
        // A reply is shown on the page of its thread that holds it.
        let thread = lookups::post(&context.db, thread_id).await?;
        let page =
            posts::page_cursor_of_reply(&context.read_db, &thread, id, posts::REPLIES_PER_PAGE)
                .await?;
        let query = page
            .map(|after| format!("?after={after}"))
            .unwrap_or_default();
        return Ok(Redirect::to(&format!("/posts/{thread_id}{query}#post-{id}")).into_response());
    }
    let ThreadView {
        group,
        thread,
        posts: all,
        next_replies,
        authors,
        my_votes,
        moderating,
        completeness,
        attachments,
    } = threads::thread_view(
        context,
        found,
        visitor.signed_in.as_ref(),
        replies_after,
        posts::REPLIES_PER_PAGE,
    )
    .await?;
    let mut children: HashMap<Option<i64>, Vec<&post::Model>> = HashMap::new();
    for reply in all.iter().skip(1) {
        // A reply whose parent is gone hangs from the thread.
        let parent = reply
            .parent_id
            .filter(|parent_id| all.iter().any(|post| post.id == *parent_id));
        children
            .entry(parent.or(Some(thread.id)))
            .or_default()
            .push(reply);
    }
    let banned = match &visitor.signed_in {
        Some(signed_in) if group.local => {
            crate::groups::moderation::active_ban(&context.db, group.id, &signed_in.account.actor)
                .await?
                .is_some()
        }
        _ => false,
    };
    let rendering = Rendering {
        visitor,
        moderating,
        banned,
        local_group: group.local,
        locked: thread.locked,
        authors: &authors,
        my_votes: &my_votes,
        children: &children,
        attachments: &attachments,
    };
    let title = if thread.deleted_at.is_some() {
        "(deleted)".to_string()
    } else if thread.removed_at.is_some() && !moderating {
        "(removed)".to_string()
    } else {
        thread
            .title
            .clone()
            .unwrap_or_else(|| "(untitled)".to_string())
    };
    let body = html! {
        p.meta {
            a href={ "/groups/" (directory::actor_handle(&group)) } {
                (directory::shown_name(&group))
            }
            " "
            span.handle { (directory::full_handle(&context.config.domain(), &group)) }
        }
        h1 { (title) }
        @if thread.awaiting_approval {
            (notice("This thread waits for a moderator's approval; until then only you and the moderators see it."))
        }
        (rendering.post(&thread, 0))
        h2 {
            (thread.reply_count) " "
            (if thread.reply_count == 1 { "reply" } else { "replies" })
        }
        @if !group.local {
            (completeness_notice(visitor, &thread, completeness.as_ref()))
        }
        @if replies_after.is_some() {
            p.notice { "Later replies of this thread. " a href={ "/posts/" (thread.id) } { "← First replies" } }
        }
        (rendering.replies(thread.id, 1))
        @if let Some(next) = &next_replies {
            nav.pager aria-label="Replies" {
                a rel="next" href={ "/posts/" (thread.id) "?after=" (next) } { "More replies →" }
            }
        }
    };
    Ok(page(context, visitor, &title, body).into_response())
}

/// On a remote group's thread: whether its replies are still being fetched from the servers
/// that hold it, or could not all be, and a button to fetch them again.
fn completeness_notice(
    visitor: &Visitor,
    thread: &post::Model,
    completeness: Option<&threads::Completeness>,
) -> Markup {
    use threads::Completeness;
    let text = match completeness {
        None => None,
        Some(Completeness::FillingIn) => Some(
            "Replies from other servers are still being fetched for this thread. Reload the page in a minute to see them."
                .to_string(),
        ),
        Some(Completeness::FilledIn {
            stopped_by: Some(_),
            ..
        }) => Some(
            "This thread is long: replies were fetched up to this server's limit, so some may be missing."
                .to_string(),
        ),
        Some(Completeness::FilledIn { finished_at, .. }) => Some(format!(
            "Replies were last fetched from the servers that hold this thread on {}.",
            finished_at.format("%Y-%m-%d at %H:%M UTC")
        )),
        Some(Completeness::NotListed) => Some(
            "The server this thread comes from does not list its replies: only those sent to this server since someone here joined the group are shown."
                .to_string(),
        ),
        Some(Completeness::Unreachable) => Some(
            "The server this thread comes from could not be reached: some replies may be missing."
                .to_string(),
        ),
    };
    let filling_in = completeness == Some(&Completeness::FillingIn);
    html! {
        div.completeness {
            @if let Some(text) = text {
                (notice(&text))
            }
            @if visitor.signed_in.is_some() && !filling_in {
                form method="post" action={ "/posts/" (thread.id) "/backfill" } {
                    (csrf_field(visitor.csrf_token()))
                    button type="submit" class="secondary" { "Fetch replies again" }
                }
            }
        }
    }
}

/// `POST /posts/{id}/backfill`: a signed-in person asks for a remote thread's replies to be
/// fetched again (at most once per `backfill.refresh_after` per thread).
pub async fn refresh_thread(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm { .. }: SignedInForm<ButtonForm>,
) -> PageResult {
    let thread = lookups::post(&context.db, id).await?;
    threads::refresh_thread(&context, &thread).await?;
    Ok(Redirect::to(&format!("/posts/{}", thread.id)).into_response())
}

struct Rendering<'a> {
    visitor: &'a Visitor,
    /// The visitor moderates this (local) group, or administers the instance.
    moderating: bool,
    /// The thread is locked: no reply forms, except for moderators.
    locked: bool,
    /// The visitor is banned from the group: no reply forms.
    banned: bool,
    /// Locks and pins are set on the group's own server: only for local groups here.
    local_group: bool,
    authors: &'a HashMap<i64, actor::Model>,
    my_votes: &'a HashMap<i64, i16>,
    children: &'a HashMap<Option<i64>, Vec<&'a post::Model>>,
    attachments: &'a HashMap<i64, Vec<post_attachment::Model>>,
}

impl Rendering<'_> {
    fn replies(&self, parent_id: i64, depth: usize) -> Markup {
        html! {
            @for reply in self.children.get(&Some(parent_id)).into_iter().flatten() {
                (self.post(reply, depth))
                (self.replies(reply.id, depth + 1))
            }
        }
    }

    fn post(&self, post: &post::Model, depth: usize) -> Markup {
        let author = self.authors.get(&post.author_id);
        let deleted = post.deleted_at.is_some();
        let removed = post.removed_at.is_some();
        let hidden = deleted || (removed && !self.moderating);
        let class = match (depth, hidden) {
            (0, false) => "post",
            (0, true) => "post deleted",
            (_, false) => "post reply",
            (_, true) => "post reply deleted",
        };
        let score = post.like_count - post.dislike_count;
        html! {
            article class=(class) id={ "post-" (post.id) } style={ "--depth:" (depth.min(MAX_VISUAL_DEPTH)) }
                aria-label={ "Post by " (author.map_or("someone", |author| author.preferred_username.as_str())) } {
                p.meta {
                    @if let Some(author) = author.filter(|author| author.icon_url.is_some()) {
                        img.avatar src={ "/media/actors/" (author.id) "/icon" } alt="" width="24" height="24" loading="lazy";
                        " "
                    }
                    @match author {
                        Some(author) if author.local => {
                            a href={ "/users/" (author.preferred_username) } {
                                @if let Some(name) = author.display_name.as_deref().filter(|name| !name.is_empty()) {
                                    span.display-name { (name) } " " span.handle { (author.preferred_username) }
                                } @else {
                                    (author.preferred_username)
                                }
                            }
                        }
                        Some(author) => {
                            a href=(author.html_url.as_deref().unwrap_or(&author.ap_id)) {
                                @if let Some(name) = author.display_name.as_deref().filter(|name| !name.is_empty()) {
                                    span.display-name { (name) } " " span.handle { (directory::actor_handle(author)) }
                                } @else {
                                    (directory::actor_handle(author))
                                }
                            }
                        }
                        None => "someone",
                    }
                    " · "
                    time datetime=(post.published_at.to_rfc3339()) {
                        (post.published_at.format("%Y-%m-%d %H:%M"))
                    }
                    @if let Some(updated_at) = post.updated_at {
                        " · edited " (updated_at.format("%Y-%m-%d %H:%M"))
                    }
                    " · "
                    span.score data-likes=(post.like_count) data-dislikes=(post.dislike_count) {
                        (score) " " (if score.abs() == 1 { "point" } else { "points" })
                    }
                    @if post.share_count > 0 {
                        " · "
                        span.shares {
                            (post.share_count) " " (if post.share_count == 1 { "share" } else { "shares" })
                        }
                    }
                }
                div.content {
                    @if deleted {
                        p { "(deleted)" }
                    } @else if removed && !self.moderating {
                        p { "(removed by a moderator)" }
                    } @else {
                        @if removed {
                            // Moderators still see what they removed, to restore it.
                            p.problem { "Removed by a moderator." }
                        }
                        @if let Some(warning) = &post.content_warning {
                            // Folded behind its content warning until the reader opens it.
                            details.warning {
                                summary { "Content warning: " (warning) }
                                (SanitizedHtml::from_stored(&post.content_html))
                                (self.attachments(post))
                            }
                        } @else if post.sensitive {
                            // Folded until the reader opens it; no script needed.
                            details.sensitive {
                                summary { "Not safe for work: show" }
                                (SanitizedHtml::from_stored(&post.content_html))
                                (self.attachments(post))
                            }
                        } @else {
                            (SanitizedHtml::from_stored(&post.content_html))
                            (self.attachments(post))
                        }
                    }
                }
                @if !hidden {
                    (self.actions(post))
                }
            }
        }
    }

    /// What a post carries: pictures (through the media proxy, with their alt text; a
    /// sensitive post's behind a click), links, and video, sound and documents as links to
    /// where they are.
    fn attachments(&self, post: &post::Model) -> Markup {
        let Some(attachments) = self.attachments.get(&post.id) else {
            return html! {};
        };
        let host_and_path = |url: &str| {
            url::Url::parse(url).map_or_else(
                |_| url.to_string(),
                |parsed| format!("{}{}", parsed.host_str().unwrap_or_default(), parsed.path()),
            )
        };
        html! {
            div.attachments {
                @for attachment in attachments {
                    @match attachment.kind {
                        AttachmentKind::Image => {
                            figure {
                                a href=(attachment.url) rel="nofollow noopener noreferrer ugc" {
                                    img src={ "/media/attachments/" (attachment.id) }
                                        alt=(attachment.name.as_deref().unwrap_or(""))
                                        loading="lazy"
                                        width=[attachment.width] height=[attachment.height];
                                }
                                @if let Some(name) = &attachment.name {
                                    figcaption { (name) }
                                }
                            }
                        }
                        AttachmentKind::Link => {
                            p.link {
                                "Link: "
                                a href=(attachment.url) rel="nofollow noopener noreferrer ugc" {
                                    (host_and_path(&attachment.url))
                                }
                            }
                        }
                        kind => {
                            p.link {
                                (match kind {
                                    AttachmentKind::Video => "Video: ",
                                    AttachmentKind::Audio => "Sound: ",
                                    _ => "Document: ",
                                })
                                a href=(attachment.url) rel="nofollow noopener noreferrer ugc" {
                                    (attachment.name.as_deref().map_or_else(|| host_and_path(&attachment.url), str::to_string))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn actions(&self, post: &post::Model) -> Markup {
        let Some(signed_in) = &self.visitor.signed_in else {
            return html! {};
        };
        let csrf = self.visitor.csrf_token();
        let mine = self.my_votes.get(&post.id).copied().unwrap_or(0);
        // The accessible name says the count too ("Like, 3 so far"), not only the symbol's.
        let vote_button = |value: i16, label: &str, symbol: &str| {
            let pressed = mine == value;
            let count = if value > 0 {
                post.like_count
            } else {
                post.dislike_count
            };
            html! {
                form method="post" action={ "/posts/" (post.id) "/vote" } {
                    (csrf_field(csrf))
                    input type="hidden" name="value" value=(if pressed { 0 } else { value });
                    button type="submit" class="vote" data-vote=(label.to_lowercase()) aria-pressed=(pressed)
                        aria-label={ (label) ", " (count) " so far" } title=(label) {
                        (symbol) " " (count)
                    }
                }
            }
        };
        let moderate = |action: &str, label: &str, with_reason: bool| {
            html! {
                form method="post" action={ "/posts/" (post.id) "/moderate/" (action) } {
                    (csrf_field(csrf))
                    @if with_reason {
                        label.visually-hidden for={ "reason-" (post.id) } { "Reason" }
                        input type="text" id={ "reason-" (post.id) } name="reason"
                            placeholder="Reason (public)" maxlength="1000";
                    }
                    button type="submit" class="secondary" { (label) }
                }
            }
        };
        let mine_to_edit = post.author_id == signed_in.account.actor.id;
        let may_reply = (!self.locked || self.moderating) && !self.banned;
        html! {
            div.actions {
                (vote_button(1, "Like", "▲"))
                (vote_button(-1, "Dislike", "▼"))
                @if mine_to_edit {
                    a href={ "/posts/" (post.id) "/edit" } { "Edit" }
                    // Deleting asks first: the button is behind a second click, no script.
                    details.confirm {
                        summary { "Delete…" }
                        form method="post" action={ "/posts/" (post.id) "/delete" } {
                            (csrf_field(csrf))
                            p.hint { "Delete your post? Its replies stay." }
                            button type="submit" class="danger" { "Yes, delete it" }
                        }
                    }
                }
                @if self.moderating {
                    // The moderator's tools, folded into one menu so the row fits a phone.
                    details.moderate {
                        summary { "Moderate…" }
                        div.actions {
                            @if post.removed_at.is_some() {
                                (moderate("restore", "Restore", false))
                            } @else {
                                (moderate("remove", "Remove", true))
                            }
                            @if post.parent_id.is_none() && self.local_group {
                                @if post.locked {
                                    (moderate("unlock", "Unlock thread", false))
                                } @else {
                                    (moderate("lock", "Lock thread", false))
                                }
                                @if post.pinned_at.is_some() {
                                    (moderate("unpin", "Unpin", false))
                                } @else {
                                    (moderate("pin", "Pin", false))
                                }
                            }
                        }
                    }
                }
            }
            @if self.banned && post.parent_id.is_none() {
                p.notice { "You are banned from this group: you cannot reply here." }
            } @else if !may_reply && post.parent_id.is_none() {
                p.notice { "This thread is locked: it takes no new replies." }
            }
            @if may_reply {
                details {
                    summary { "Reply" }
                    form method="post" enctype="multipart/form-data" action={ "/posts/" (post.id) "/reply" } {
                        (csrf_field(csrf))
                        label for={ "reply-" (post.id) } { "Your reply (markdown)" }
                        textarea id={ "reply-" (post.id) } name="body" {}
                        (layout::picture_inputs(&format!("reply-{}", post.id), ""))
                        button type="submit" { "Post reply" }
                    }
                }
            }
            @if !mine_to_edit {
                details {
                    summary { "Report" }
                    form method="post" action={ "/posts/" (post.id) "/report" } {
                        (csrf_field(csrf))
                        label for={ "report-" (post.id) } { "What is wrong with it? (the moderators read this)" }
                        textarea id={ "report-" (post.id) } name="reason" maxlength="2000" {}
                        // Only another server has moderators of its own to tell.
                        @if self.authors.get(&post.author_id).is_some_and(|author| !author.local) {
                            label { input type="checkbox" name="tell_author_server"; " Also tell the author's server" }
                        }
                        button type="submit" { "Send report" }
                    }
                }
            }
        }
    }
}

/// `GET /posts/{id}` for browsers.
pub async fn post_page(
    context: Context,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(page): Query<crate::http::web::PageQuery>,
) -> PageResult {
    thread_page(&context, &visitor, id, page.after.as_deref()).await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    content_warning: String,
    #[serde(default)]
    csrf: String,
}

pub async fn reply(
    context: Context,
    Path(id): Path<i64>,
    SignedInFormWithPictures {
        signed_in,
        visitor,
        form,
        files,
    }: SignedInFormWithPictures<ReplyForm>,
) -> PageResult {
    let parent = lookups::post(&context.db, id).await?;
    let author = &signed_in.account.actor;
    let sent = async {
        let picture_ids = crate::actions::media::upload_post_pictures(
            &context,
            author,
            crate::http::web::groups::pictures_of(files),
        )
        .await?;
        let draft = posts::Draft {
            title: None,
            markdown: form.body.clone(),
            content_warning: Some(form.content_warning.clone()),
            picture_ids: Some(picture_ids),
        };
        crate::actions::posts::reply_to(&context, author, &parent, draft).await
    }
    .await;
    match sent {
        Ok((reply, _)) => Ok(Redirect::to(&format!("/posts/{}", reply.id)).into_response()),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            // The form comes back only beside a post the visitor may see: a held, removed or
            // deleted one (404, 410) gets the plain error page, which names nothing of it.
            let parent_shown = parent.deleted_at.is_none()
                && parent.removed_at.is_none()
                && !parent.awaiting_approval;
            if status.is_server_error()
                || matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE)
                || !parent_shown
            {
                return Err(error.into());
            }
            // A refused reply (banned, locked, too long…) comes back with what was typed, so
            // nothing is lost; the pictures have to be chosen again, as browsers never refill
            // a file input.
            Ok(refused_reply_page(
                &context, &visitor, &parent, &form, &reason, status,
            ))
        }
    }
}

/// The reply form again, holding what was typed, with why it was refused.
fn refused_reply_page(
    context: &Context,
    visitor: &Visitor,
    parent: &post::Model,
    form: &ReplyForm,
    reason: &str,
    status: StatusCode,
) -> Response {
    let body = html! {
        h1 { "Your reply was not posted" }
        (layout::problem(Some(reason)))
        p {
            "In reply to "
            a href={ "/posts/" (parent.id) } {
                (parent.title.as_deref().unwrap_or("a post in this thread"))
            }
            ". What you wrote is kept below."
        }
        form method="post" enctype="multipart/form-data" action={ "/posts/" (parent.id) "/reply" } {
            (csrf_field(visitor.csrf_token()))
            label for="reply-again" { "Your reply (markdown)" }
            textarea id="reply-again" name="body" { (form.body) }
            (layout::picture_inputs("reply-again", &form.content_warning))
            button type="submit" { "Post reply" }
        }
    };
    (
        status,
        page(context, visitor, "Your reply was not posted", body),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct VoteForm {
    value: i16,
    #[serde(default)]
    csrf: String,
}

pub async fn cast_vote(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<VoteForm>,
) -> PageResult {
    let target = lookups::post(&context.db, id).await?;
    crate::actions::posts::vote(&context, &signed_in.account.actor, &target, form.value).await?;
    Ok(Redirect::to(&format!("/posts/{}", target.id)).into_response())
}

pub async fn remove(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let target = lookups::post(&context.db, id).await?;
    let deleted =
        crate::actions::posts::delete_post(&context, &signed_in.account.actor, target).await?;
    Ok(Redirect::to(&format!("/posts/{}", deleted.id)).into_response())
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    content_warning: String,
    #[serde(default)]
    csrf: String,
}

pub async fn edit_page(context: Context, visitor: Visitor, Path(id): Path<i64>) -> PageResult {
    let signed_in = visitor.require()?;
    let target = lookups::post(&context.db, id).await?;
    if target.author_id != signed_in.account.actor.id {
        return Err(Error::Forbidden("only its author may edit a post".into()).into());
    }
    if target.deleted_at.is_some() {
        return Err(Error::Gone("post".into()).into());
    }
    let form = EditForm {
        title: target.title.clone().unwrap_or_default(),
        body: target
            .source_markdown
            .clone()
            .unwrap_or_else(|| crate::html::to_plain_text(&target.content_html)),
        content_warning: target.content_warning.clone().unwrap_or_default(),
        csrf: String::new(),
    };
    Ok(edit_form(
        &context,
        &visitor,
        &target,
        &form,
        None,
        StatusCode::OK,
    ))
}

pub async fn edit(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<EditForm>,
) -> PageResult {
    let target = lookups::post(&context.db, id).await?;
    let is_reply = target.parent_id.is_some();
    let edited = crate::actions::posts::edit_post(
        &context,
        &signed_in.account.actor,
        target.clone(),
        posts::Draft {
            title: (!is_reply).then(|| form.title.clone()),
            markdown: form.body.clone(),
            content_warning: Some(form.content_warning.clone()),
            // The pictures stay as they are.
            picture_ids: None,
        },
    )
    .await;
    match edited {
        Ok(edited) => Ok(Redirect::to(&format!("/posts/{}", edited.id)).into_response()),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() || status == StatusCode::FORBIDDEN {
                return Err(error.into());
            }
            Ok(edit_form(
                &context,
                &visitor,
                &target,
                &form,
                Some(&reason),
                status,
            ))
        }
    }
}

fn edit_form(
    context: &Context,
    visitor: &Visitor,
    target: &post::Model,
    form: &EditForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = html! {
        h1 { "Edit" }
        (layout::problem(problem))
        form method="post" action={ "/posts/" (target.id) "/edit" } {
            (csrf_field(visitor.csrf_token()))
            @if target.parent_id.is_none() {
                label for="title" { "Title" }
                input type="text" id="title" name="title" value=(form.title) required
                    maxlength=(posts::MAX_TITLE_LENGTH);
            }
            label for="body" { "Text (markdown)" }
            textarea id="body" name="body" { (form.body) }
            label for="content_warning" { "Content warning (optional)" }
            input type="text" id="content_warning" name="content_warning" value=(form.content_warning)
                maxlength=(posts::MAX_CONTENT_WARNING_LENGTH);
            button type="submit" { "Save" }
        }
    };
    (status, page(context, visitor, "Edit", body)).into_response()
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    tell_author_server: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /posts/{id}/report`.
pub async fn report(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<ReportForm>,
) -> PageResult {
    let target = lookups::post(&context.db, id).await?;
    crate::actions::moderation::report_post(
        &context,
        &signed_in.account.actor,
        &target,
        Some(&form.reason),
        form.tell_author_server.is_some(),
    )
    .await?;
    let body = html! {
        h1 { "Thank you" }
        (notice("Your report was sent to the group's moderators."))
        p {
            a href={ "/posts/" (target.id) } {
                "Back to the thread"
            }
        }
    };
    Ok(page(&context, &visitor, "Report sent", body).into_response())
}

carries_csrf_token!(EditForm, ReplyForm, ReportForm, VoteForm);
