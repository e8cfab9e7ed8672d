//! Thread pages and what can be done on them: read a thread with its nested replies, reply,
//! vote, edit and delete one's own posts.

use crate::{
    actions::{
        lookups,
        threads::{self, ThreadView},
    },
    app::Context,
    error::Error,
    groups::posts,
    html::escape,
    http::web::{
        accounts::problem_html,
        layout::{PageResult, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::{actor, post};
use serde::Deserialize;
use std::collections::HashMap;

/// Replies nest visually up to this depth; deeper ones line up with it.
const MAX_VISUAL_DEPTH: usize = 6;

/// `GET /posts/{id}` for browsers: the thread page (a reply shows within its thread).
pub async fn thread_page(context: &Context, visitor: &Visitor, id: i64) -> PageResult {
    let found = lookups::post(&context.db, id).await?;
    if let Some(thread_id) = found.thread_id {
        return Ok(Redirect::to(&format!("/posts/{thread_id}#post-{id}")).into_response());
    }
    let ThreadView {
        group,
        thread,
        posts: all,
        authors,
        my_votes,
        moderating,
    } = threads::thread_view(context, found, visitor.signed_in.as_ref()).await?;
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
    let rendering = Rendering {
        visitor,
        moderating,
        local_group: group.local,
        locked: thread.locked,
        authors: &authors,
        my_votes: &my_votes,
        children: &children,
    };
    let title = if thread.removed_at.is_some() && !moderating {
        "(removed)".to_string()
    } else {
        thread
            .title
            .clone()
            .unwrap_or_else(|| "(untitled)".to_string())
    };
    let mut body = format!(
        "<p class=\"meta\"><a href=\"/groups/{}\">{}</a> <span class=\"handle\">{}</span></p>\n<h1>{}</h1>\n",
        escape(&crate::groups::directory::actor_handle(&group)),
        escape(
            group
                .display_name
                .as_deref()
                .unwrap_or(&group.preferred_username)
        ),
        escape(&crate::groups::directory::full_handle(
            &context.config.domain(),
            &group,
        )),
        escape(&title),
    );
    if thread.awaiting_approval {
        body.push_str("<p class=\"notice\" role=\"status\">This thread waits for a moderator's approval; until then only you and the moderators see it.</p>\n");
    }
    rendering.post(&mut body, &thread, 0);
    body.push_str(&format!(
        "<h2>{} {}</h2>\n",
        thread.reply_count,
        if thread.reply_count == 1 {
            "reply"
        } else {
            "replies"
        }
    ));
    rendering.replies(&mut body, thread.id, 1);
    Ok(page(context, visitor, &title, &body).into_response())
}

struct Rendering<'a> {
    visitor: &'a Visitor,
    /// The visitor moderates this (local) group, or administers the instance.
    moderating: bool,
    /// The thread is locked: no reply forms, except for moderators.
    locked: bool,
    /// Locks and pins are set on the group's own server: only for local groups here.
    local_group: bool,
    authors: &'a HashMap<i64, actor::Model>,
    my_votes: &'a HashMap<i64, i16>,
    children: &'a HashMap<Option<i64>, Vec<&'a post::Model>>,
}

impl Rendering<'_> {
    fn replies(&self, body: &mut String, parent_id: i64, depth: usize) {
        if let Some(replies) = self.children.get(&Some(parent_id)) {
            for reply in replies {
                self.post(body, reply, depth);
                self.replies(body, reply.id, depth + 1);
            }
        }
    }

    fn post(&self, body: &mut String, post: &post::Model, depth: usize) {
        let author = self.authors.get(&post.author_id);
        let author_html = match author {
            Some(author) if author.local => format!(
                "<a href=\"/users/{name}\">{name}</a>",
                name = escape(&author.preferred_username)
            ),
            Some(author) => format!(
                "<a href=\"{}\">{}</a>",
                escape(author.html_url.as_deref().unwrap_or(&author.ap_id)),
                escape(&crate::groups::directory::actor_handle(author))
            ),
            None => "someone".to_string(),
        };
        let deleted = post.deleted_at.is_some();
        let removed = post.removed_at.is_some();
        let hidden = deleted || (removed && !self.moderating);
        let class = match (depth, hidden) {
            (0, false) => "post",
            (0, true) => "post deleted",
            (_, false) => "post reply",
            (_, true) => "post reply deleted",
        };
        let content = if deleted {
            "<p>(deleted)</p>".to_string()
        } else if removed && !self.moderating {
            "<p>(removed by a moderator)</p>".to_string()
        } else if removed {
            // Moderators still see what they removed, to restore it.
            format!(
                "<p class=\"problem\">Removed by a moderator.</p>{}",
                post.content_html
            )
        } else {
            // Sanitised when it was stored, for local and remote posts alike.
            post.content_html.clone()
        };
        let edited = post
            .updated_at
            .map(|at| format!(" · edited {}", at.format("%Y-%m-%d %H:%M")))
            .unwrap_or_default();
        body.push_str(&format!(
            "<article class=\"{class}\" id=\"post-{id}\" style=\"--depth:{depth}\" aria-label=\"Post by {author_label}\">\n\
             <p class=\"meta\">{author_html} · <time datetime=\"{published}\">{published_short}</time>{edited} · \
             <span class=\"score\" data-likes=\"{likes}\" data-dislikes=\"{dislikes}\">{score} {points}</span></p>\n\
             <div class=\"content\">{content}</div>\n",
            id = post.id,
            depth = depth.min(MAX_VISUAL_DEPTH),
            author_label = escape(author.map_or("someone", |author| author.preferred_username.as_str())),
            published = post.published_at.to_rfc3339(),
            published_short = post.published_at.format("%Y-%m-%d %H:%M"),
            likes = post.like_count,
            dislikes = post.dislike_count,
            score = post.like_count - post.dislike_count,
            points = if (post.like_count - post.dislike_count).abs() == 1 { "point" } else { "points" },
        ));
        if !deleted && (!removed || self.moderating) {
            self.actions(body, post);
        }
        body.push_str("</article>\n");
    }

    fn actions(&self, body: &mut String, post: &post::Model) {
        let Some(signed_in) = &self.visitor.signed_in else {
            return;
        };
        let csrf = escape(self.visitor.csrf_token());
        let mine = self.my_votes.get(&post.id).copied().unwrap_or(0);
        let vote_button = |value: i16, label: &str, symbol: &str| {
            let pressed = mine == value;
            let sent = if pressed { 0 } else { value };
            format!(
                "<form method=\"post\" action=\"/posts/{id}/vote\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"value\" value=\"{sent}\">\
                 <button type=\"submit\" class=\"vote\" aria-pressed=\"{pressed}\" aria-label=\"{label}\" title=\"{label}\">{symbol} {count}</button></form>",
                id = post.id,
                count = if value > 0 {
                    post.like_count
                } else {
                    post.dislike_count
                },
            )
        };
        body.push_str("<div class=\"actions\">");
        body.push_str(&vote_button(1, "Like", "▲"));
        body.push_str(&vote_button(-1, "Dislike", "▼"));
        if post.author_id == signed_in.account.actor.id {
            body.push_str(&format!(
                "<a href=\"/posts/{id}/edit\">Edit</a>\
                 <form method=\"post\" action=\"/posts/{id}/delete\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"secondary\">Delete</button></form>",
                id = post.id
            ));
        }
        if self.moderating {
            let moderate = |action: &str, label: &str, with_reason: bool| {
                let reason = if with_reason {
                    format!(
                        "<label class=\"visually-hidden\" for=\"reason-{id}\">Reason</label>\
                         <input type=\"text\" id=\"reason-{id}\" name=\"reason\" placeholder=\"Reason (public)\" maxlength=\"1000\">",
                        id = post.id
                    )
                } else {
                    String::new()
                };
                format!(
                    "<form method=\"post\" action=\"/posts/{id}/moderate/{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     {reason}<button type=\"submit\" class=\"secondary\">{label}</button></form>",
                    id = post.id
                )
            };
            body.push_str(&if post.removed_at.is_some() {
                moderate("restore", "Restore", false)
            } else {
                moderate("remove", "Remove", true)
            });
            if post.parent_id.is_none() && self.local_group {
                body.push_str(&if post.locked {
                    moderate("unlock", "Unlock thread", false)
                } else {
                    moderate("lock", "Lock thread", false)
                });
                body.push_str(&if post.pinned_at.is_some() {
                    moderate("unpin", "Unpin", false)
                } else {
                    moderate("pin", "Pin", false)
                });
            }
        }
        body.push_str("</div>\n");
        let report = if post.author_id != signed_in.account.actor.id {
            format!(
                "<details><summary>Report</summary>\n\
                 <form method=\"post\" action=\"/posts/{id}/report\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
                 <label for=\"report-{id}\">What is wrong with it? (the moderators read this)</label>\
                 <textarea id=\"report-{id}\" name=\"reason\" maxlength=\"2000\"></textarea>\n\
                 <label><input type=\"checkbox\" name=\"tell_author_server\"> Also tell the author's server</label>\n\
                 <button type=\"submit\">Send report</button></form>\n</details>\n",
                id = post.id,
            )
        } else {
            String::new()
        };
        if self.locked && !self.moderating {
            if post.parent_id.is_none() {
                body.push_str(
                    "<p class=\"notice\">This thread is locked: it takes no new replies.</p>\n",
                );
            }
            body.push_str(&report);
            return;
        }
        body.push_str(&format!(
            "<details><summary>Reply</summary>\n\
             <form method=\"post\" action=\"/posts/{id}/reply\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <label for=\"reply-{id}\">Your reply (markdown)</label>\
             <textarea id=\"reply-{id}\" name=\"body\" required></textarea>\n\
             <button type=\"submit\">Post reply</button></form>\n</details>\n",
            id = post.id,
        ));
        body.push_str(&report);
    }
}

/// `GET /posts/{id}` for browsers.
pub async fn post_page(context: Context, visitor: Visitor, Path(id): Path<i64>) -> PageResult {
    thread_page(&context, &visitor, id).await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    csrf: String,
}

pub async fn reply(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<ReplyForm>,
) -> PageResult {
    let parent = lookups::post(&context.db, id).await?;
    let group = lookups::actor(&context.db, parent.group_id, "group").await?;
    let reply = crate::actions::posts::write_post(
        &context,
        &signed_in.account.actor,
        &group,
        Some(&parent),
        posts::Draft {
            title: None,
            markdown: form.body,
        },
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/posts/{}#post-{}",
        reply.thread_id.unwrap_or(reply.id),
        reply.id
    ))
    .into_response())
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
    Ok(Redirect::to(&format!(
        "/posts/{}#post-{}",
        target.thread_id.unwrap_or(target.id),
        target.id
    ))
    .into_response())
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
    Ok(Redirect::to(&format!(
        "/posts/{}#post-{}",
        deleted.thread_id.unwrap_or(deleted.id),
        deleted.id
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
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
        },
    )
    .await;
    match edited {
        Ok(edited) => Ok(Redirect::to(&format!(
            "/posts/{}#post-{}",
            edited.thread_id.unwrap_or(edited.id),
            edited.id
        ))
        .into_response()),
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
    let title_field = if target.parent_id.is_none() {
        format!(
            "<label for=\"title\">Title</label>\
             <input type=\"text\" id=\"title\" name=\"title\" value=\"{}\" required maxlength=\"{}\">\n",
            escape(&form.title),
            posts::MAX_TITLE_LENGTH
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Edit</h1>\n{problem}\
         <form method=\"post\" action=\"/posts/{id}/edit\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n{title_field}\
         <label for=\"body\">Text (markdown)</label>\
         <textarea id=\"body\" name=\"body\">{text}</textarea>\n\
         <button type=\"submit\">Save</button>\n</form>\n",
        problem = problem_html(problem),
        id = target.id,
        csrf = escape(visitor.csrf_token()),
        text = escape(&form.body),
    );
    (status, page(context, visitor, "Edit", &body)).into_response()
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
    crate::federation::activities::flag::send_report(
        &context,
        &signed_in.account.actor,
        &target,
        Some(&form.reason),
        form.tell_author_server.is_some(),
    )
    .await?;
    let body = format!(
        "<h1>Thank you</h1>\n<p class=\"notice\" role=\"status\">Your report was sent to the group's moderators.</p>\n\
         <p><a href=\"/posts/{}#post-{}\">Back to the thread</a></p>\n",
        target.thread_id.unwrap_or(target.id),
        target.id
    );
    Ok(page(&context, &visitor, "Report sent", &body).into_response())
}

carries_csrf_token!(EditForm, ReplyForm, ReportForm, VoteForm);
