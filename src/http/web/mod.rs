//! Server-rendered web pages (plain HTML, no JavaScript): the group directory, group pages and
//! the health check. Every value from the database is escaped or was sanitised on the way in.

mod layout;

use crate::{app::Context, error::Result, groups::directory, html::escape};
use axum::response::{Html, IntoResponse, Response};
use kindred_entities::{
    actor,
    membership::{self, MembershipState},
    post,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub use layout::page;

/// `/healthz`: 200 "ok" when the database answers, 500 otherwise.
pub async fn health(context: Context) -> Result<&'static str> {
    context.db.execute_unprepared("SELECT 1").await?;
    Ok("ok")
}

/// `/metrics`: Prometheus text, when `http.metrics` is on (404 otherwise).
pub async fn metrics(context: Context) -> Result<Response> {
    if !context.config.http.metrics {
        return Err(crate::error::Error::not_found("page"));
    }
    let text = context.metrics.render(&context.db).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// The front page: this instance's groups.
pub async fn home(context: Context) -> Result<Html<String>> {
    let config = &context.config;
    let groups = directory::list_local_groups(&context.db).await?;
    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<h2>Groups</h2>\n",
        escape(&config.instance.name),
        escape(&config.instance.description)
    );
    if groups.is_empty() {
        body.push_str("<p>No groups yet. An administrator can create one with <code>kindred group create NAME --title TITLE</code>.</p>\n");
    } else {
        body.push_str("<ul class=\"groups\">\n");
        for group in &groups {
            let handle = handle_of(&context, group);
            body.push_str(&format!(
                "<li><a href=\"{}\">{}</a> <span class=\"handle\">{}</span></li>\n",
                escape(&group.ap_id),
                escape(
                    group
                        .display_name
                        .as_deref()
                        .unwrap_or(&group.preferred_username)
                ),
                escape(&handle)
            ));
        }
        body.push_str("</ul>\n");
    }
    Ok(page(&config.instance.name, &body))
}

/// A group's page: what it is about, how to join it from Mastodon or Lemmy, its threads.
pub async fn group_page(context: &Context, group: actor::Model) -> Result<Response> {
    let handle = handle_of(context, &group);
    let title = group
        .display_name
        .clone()
        .unwrap_or_else(|| group.preferred_username.clone());
    let members = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .count(&context.db)
        .await?;
    let threads = post::Entity::find()
        .filter(post::Column::GroupId.eq(group.id))
        .filter(post::Column::ParentId.is_null())
        .filter(post::Column::DeletedAt.is_null())
        .order_by_desc(post::Column::PublishedAt)
        .limit(50)
        .all(&context.db)
        .await?;

    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"handle\">{}</p>\n",
        escape(&title),
        escape(&handle)
    );
    if let Some(summary) = &group.summary_html {
        // Sanitised when it was stored.
        body.push_str(&format!("<div class=\"summary\">{summary}</div>\n"));
    }
    body.push_str(&format!(
        "<p>{members} {}</p>\n",
        if members == 1 { "member" } else { "members" }
    ));
    body.push_str(&format!(
        "<section class=\"join\">\n<h2>Join this group</h2>\n\
         <p>From Mastodon or another microblog: search for <code>{handle}</code> and press <em>Follow</em>. \
         Posts that mention <code>{handle}</code> are shared with every member.</p>\n\
         <p>From Lemmy, Mbin or PieFed: search for <code>!{bare}</code> and subscribe.</p>\n</section>\n",
        handle = escape(&handle),
        bare = escape(handle.trim_start_matches('@')),
    ));
    body.push_str("<h2>Threads</h2>\n");
    if threads.is_empty() {
        body.push_str("<p>No threads yet.</p>\n");
    } else {
        body.push_str("<ul class=\"threads\">\n");
        for thread in &threads {
            body.push_str(&format!(
                "<li><a href=\"{}\">{}</a> <span class=\"meta\">{} replies · {}</span></li>\n",
                escape(thread.url.as_deref().unwrap_or(&thread.ap_id)),
                escape(thread.title.as_deref().unwrap_or("(untitled)")),
                thread.reply_count,
                thread.published_at.format("%Y-%m-%d"),
            ));
        }
        body.push_str("</ul>\n");
    }
    let mut response = page(&title, &body).into_response();
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Accept"),
    );
    Ok(response)
}

/// `@name@domain` for a local actor.
fn handle_of(context: &Context, actor: &actor::Model) -> String {
    format!(
        "@{}@{}",
        actor
            .local_name
            .as_deref()
            .unwrap_or(&actor.preferred_username),
        context.config.domain()
    )
}
