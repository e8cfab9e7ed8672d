//! `GET /search`: groups by name, then threads and replies by their words (full-text, through
//! `groups::search`), the latest to arrive first, and paged. Linked from every page's header.

use crate::{
    context::Context,
    groups::{directory, search},
    http::web::{
        layout::{PageResult, page},
        session::Visitor,
    },
};
use axum::{extract::Query, response::IntoResponse};
use kindred_entities::post;
use maud::html;
use serde::Deserialize;

/// Results a page.
const RESULTS_PER_PAGE: u64 = 20;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: Option<String>,
}

pub async fn search_page(
    context: Context,
    visitor: Visitor,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let words = query.q.trim();
    let groups = if words.is_empty() || query.after.is_some() {
        Vec::new()
    } else {
        directory::search_groups(&context.read_db, words, None, 10).await?
    };
    let found = search::search_posts(
        &context.read_db,
        words,
        query.after.as_deref(),
        RESULTS_PER_PAGE,
    )
    .await?;
    let thread_ids = found.posts.iter().filter_map(|post| post.thread_id);
    let threads: std::collections::HashMap<i64, post::Model> =
        crate::groups::posts::posts_by_id(&context.read_db, thread_ids).await?;
    let actors = directory::actors_by_id(
        &context.read_db,
        found
            .posts
            .iter()
            .flat_map(|post| [post.group_id, post.author_id]),
    )
    .await?;
    let mut next_path = url::form_urlencoded::Serializer::new(String::from("/search?"));
    next_path.append_pair("q", words);
    let next_path = next_path.finish();
    let body = html! {
        h1 { "Search" }
        form method="get" action="/search" role="search" {
            label for="search-words" { "Words to find in threads, replies and group names" }
            input type="search" id="search-words" name="q" value=(words);
            button type="submit" { "Search" }
        }
        @if !groups.is_empty() {
            h2 { "Groups" }
            ul.groups {
                @for group in &groups {
                    li {
                        a href={ "/groups/" (directory::actor_handle(group)) } {
                            (directory::shown_name(group))
                        }
                        " " span.handle { (directory::full_handle(&context.config.domain(), group)) }
                    }
                }
            }
        }
        @if !words.is_empty() {
            h2 { "Posts" }
            @if found.posts.is_empty() {
                p { "Nothing found." }
            } @else {
                ol.results {
                    @for post in &found.posts {
                        @let thread = post.thread_id.and_then(|id| threads.get(&id));
                        @let title = thread.unwrap_or(post).title.as_deref().unwrap_or("(untitled)");
                        li {
                            a href={ "/posts/" (post.id) } {
                                @if post.parent_id.is_some() { "Reply in: " }
                                (title)
                            }
                            p.snippet { (snippet(post)) }
                            p.meta {
                                @if let Some(author) = actors.get(&post.author_id) {
                                    (directory::shown_name(author))
                                    " · "
                                }
                                @if let Some(group) = actors.get(&post.group_id) {
                                    "in " a href={ "/groups/" (directory::actor_handle(group)) } {
                                        (directory::shown_name(group))
                                    }
                                    " · "
                                }
                                (post.published_at.format("%Y-%m-%d"))
                            }
                        }
                    }
                }
                (super::groups::pager(&next_path, query.after.is_some(), found.next.as_deref()))
            }
        }
    };
    Ok(page(&context, &visitor, "Search", body).into_response())
}

/// The first 240 characters of a post's text.
fn snippet(post: &post::Model) -> String {
    let text = post.search_text.as_deref().unwrap_or_default();
    let mut short: String = text.chars().take(240).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
