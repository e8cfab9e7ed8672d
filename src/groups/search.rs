//! Full-text search of threads and replies, behind one function whatever the database:
//! SQLite's FTS5 (`posts_fts`) or PostgreSQL's `tsvector` (`posts.search_vector`), both kept
//! by the database itself from `posts.title` and `posts.search_text`. Each word searched must
//! appear (as a word or the start of one); results are newest first, a page at a time with a
//! keyset cursor, and never show what pages do not: deleted, removed, held or purged posts, or
//! posts of people on blocked servers.

use crate::{
    error::{Error, Result},
    groups::posts::authors_on_blocked_servers,
};
use chrono::{DateTime, Utc};
use kindred_entities::post;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value, sea_query::Expr,
};

/// The most words a search takes; the rest are ignored.
const MAX_WORDS: usize = 8;

/// One page of results, and the cursor of the next when there is more.
#[derive(Debug)]
pub struct SearchPage {
    pub posts: Vec<post::Model>,
    pub next: Option<String>,
}

/// The words of a search: letters and digits only (every other character separates words),
/// lowercased, at most [`MAX_WORDS`]. Nothing of the query's syntax reaches the database's.
fn words_of(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .take(MAX_WORDS)
        .collect()
}

/// The posts whose title or text holds every word of `query`, newest first, `limit` a page,
/// after the cursor `after` (as a previous page gave it). An empty query finds nothing.
pub async fn search_posts(
    database: &impl ConnectionTrait,
    query: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<SearchPage> {
    let words = words_of(query);
    if words.is_empty() {
        return Ok(SearchPage {
            posts: Vec::new(),
            next: None,
        });
    }
    let after = after.map(parse_cursor).transpose()?;
    let limit = limit.clamp(1, 200);
    let matching = match database.get_database_backend() {
        DatabaseBackend::Postgres => {
            // `word:*` for each word, joined by `&`: every word, as a word or its start.
            let terms = words
                .iter()
                .map(|word| format!("{word}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            Expr::cust_with_values(
                "posts.search_vector @@ to_tsquery('simple', $1)",
                [Value::from(terms)],
            )
        }
        _ => {
            // `"word"*` for each word (quoted, so no word is FTS5 syntax), space meaning AND.
            let terms = words
                .iter()
                .map(|word| format!("\"{word}\"*"))
                .collect::<Vec<_>>()
                .join(" ");
            Expr::cust_with_values(
                "posts.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)",
                [Value::from(terms)],
            )
        }
    };
    let mut select = post::Entity::find()
        .filter(matching)
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false))
        .filter(post::Column::ContentPurged.eq(false))
        .filter(post::Column::AuthorId.not_in_subquery(authors_on_blocked_servers()));
    if let Some((at, id)) = after {
        select = select.filter(
            Condition::any().add(post::Column::PublishedAt.lt(at)).add(
                Condition::all()
                    .add(post::Column::PublishedAt.eq(at))
                    .add(post::Column::Id.lt(id)),
            ),
        );
    }
    let mut posts = select
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .limit(limit + 1)
        .all(database)
        .await?;
    let next = if posts.len() as u64 > limit {
        posts.truncate(limit as usize);
        posts.last().map(|last| {
            format!(
                "{}.{}",
                last.published_at.timestamp_nanos_opt().unwrap_or_default(),
                last.id
            )
        })
    } else {
        None
    };
    Ok(SearchPage { posts, next })
}

fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, i64)> {
    let refused = || Error::bad_request("the cursor is not one this server gave");
    let (nanos, id) = text.split_once('.').ok_or_else(refused)?;
    Ok((
        DateTime::from_timestamp_nanos(nanos.parse().map_err(|_| refused())?),
        id.parse().map_err(|_| refused())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_words_reach_the_database() {
        assert_eq!(
            words_of("Kettle\" OR 1=1; -- NEAR(x) title:* café"),
            vec!["kettle", "or", "1", "1", "near", "x", "title", "café"]
        );
        assert!(words_of("\"*:()&|!").is_empty());
        assert_eq!(words_of(&"a ".repeat(50)).len(), MAX_WORDS);
    }
}
