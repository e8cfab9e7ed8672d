//! Full-text search of threads and replies, behind one function whatever the database:
//! SQLite's FTS5 (`posts_fts`) or PostgreSQL's `tsvector` (`posts.search_vector`), both kept
//! by the database itself from `posts.title` and `posts.search_text`. Each word searched must
//! appear (as a word or the start of one); results are the latest to arrive first (by row id),
//! a page at a time with a keyset cursor, and never show what pages do not: deleted, removed,
//! held or purged posts, or posts of people on blocked servers.
//!
//! The order is the index's own, so a page reads its matches newest first and stops when it is
//! full: a word found in a million posts costs what a rare one does. (Ordered by publication
//! time, every match was read and sorted: a second at a million matches.) A post fetched late,
//! as a thread's older replies are, is listed as it arrived.

use crate::{
    error::{Error, Result},
    groups::posts::authors_on_blocked_servers,
};
use kindred_entities::post;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Value,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query},
};

/// The most words a search takes; the rest are ignored.
const MAX_WORDS: usize = 8;

/// On PostgreSQL, how many of the newest posts a page looks through before it asks the
/// full-text index for every match (see [`search_posts`]).
const NEWEST_POSTS_READ_FIRST: u64 = 2_000;

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
        // Lowercased, and only letters and digits kept again: a few letters lowercase to a
        // letter and a combining mark.
        .map(|word| {
            word.to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|word| !word.is_empty())
        .take(MAX_WORDS)
        .collect()
}

/// The posts whose title or text holds every word of `query`, latest first, `limit` a page,
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
    let visible = |select: sea_orm::Select<post::Entity>| {
        select
            .filter(post::Column::DeletedAt.is_null())
            .filter(post::Column::RemovedAt.is_null())
            .filter(post::Column::AwaitingApproval.eq(false))
            .filter(post::Column::ContentPurged.eq(false))
            .filter(post::Column::AuthorId.not_in_subquery(authors_on_blocked_servers()))
    };
    let mut posts = match database.get_database_backend() {
        DatabaseBackend::Postgres => {
            // `word:*` for each word, joined by `&`: every word, as a word or its start.
            let terms = words
                .iter()
                .map(|word| format!("{word}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            // Written into the statement, not bound, so that no plan is kept for "any
            // words". Only letters, digits and the operators written here can be in it
            // (`words_of`); anything else is refused rather than quoted.
            if !terms
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | ':' | '*' | '&'))
            {
                return Err(Error::bad_request("a search takes words"));
            }
            let matching = Expr::cust(format!(
                "posts.search_vector @@ to_tsquery('simple', '{terms}')"
            ));
            // PostgreSQL cannot tell a common word from a rare one by their prefixes' statistics,
            // and its guesses walked every post for a rare word or read every match of a
            // common one. So first the newest posts (below the cursor), a bounded read: a
            // common word fills the page there.
            let mut newest = Query::select()
                .column(Asterisk)
                .from(post::Entity)
                .order_by(post::Column::Id, Order::Desc)
                .limit(NEWEST_POSTS_READ_FIRST)
                .to_owned();
            if let Some(before_id) = after {
                newest.and_where(Expr::col(post::Column::Id).lt(before_id));
            }
            let mut among_newest = visible(post::Entity::find().filter(matching.clone()));
            // Named `posts`, so the conditions' `"posts".…` columns are the newest rows'.
            QueryTrait::query(&mut among_newest)
                .from_clear()
                .from_subquery(newest, Alias::new("posts"));
            let found = among_newest
                .order_by_desc(post::Column::Id)
                .limit(limit + 1)
                .all(database)
                .await?;
            if found.len() as u64 > limit {
                found
            } else {
                // A rarer word: its matches from the GIN index, then sorted. (`id + 0` keeps
                // the planner from walking the primary key in order instead.)
                let mut everywhere = visible(post::Entity::find().filter(matching));
                if let Some(before_id) = after {
                    everywhere = everywhere.filter(post::Column::Id.lt(before_id));
                }
                everywhere
                    .order_by_desc(Expr::cust("\"posts\".\"id\" + 0"))
                    .limit(limit + 1)
                    .all(database)
                    .await?
            }
        }
        _ => {
            // `"word"*` for each word (quoted, so no word is FTS5 syntax), space meaning AND.
            let terms = words
                .iter()
                .map(|word| format!("\"{word}\"*"))
                .collect::<Vec<_>>()
                .join(" ");
            // Driven by the full-text table, in its rowid order (descending), each match's
            // row read by id: FTS5 hands out matches in that order and stops at the LIMIT.
            let mut select = post::Entity::find();
            QueryTrait::query(&mut select).join(
                JoinType::InnerJoin,
                Alias::new("posts_fts"),
                Expr::cust("\"posts_fts\".\"rowid\" = \"posts\".\"id\""),
            );
            let mut select = visible(select.filter(Expr::cust_with_values(
                "\"posts_fts\" MATCH ?",
                [Value::from(terms)],
            )));
            let fts_rowid = Expr::col((Alias::new("posts_fts"), Alias::new("rowid")));
            if let Some(before_id) = after {
                select = select.filter(fts_rowid.clone().lt(before_id));
            }
            select
                .order_by_desc(fts_rowid)
                .limit(limit + 1)
                .all(database)
                .await?
        }
    };
    let next = if posts.len() as u64 > limit {
        posts.truncate(limit as usize);
        posts.last().map(|last| last.id.to_string())
    } else {
        None
    };
    Ok(SearchPage { posts, next })
}

/// The id a page starts below. Cursors given before the order was by id read
/// `<nanoseconds>.<id>`; their id is taken.
fn parse_cursor(text: &str) -> Result<i64> {
    let refused = || Error::bad_request("the cursor is not one this server gave");
    let id = text.rsplit('.').next().ok_or_else(refused)?;
    id.parse().map_err(|_| refused())
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
        // 'İ' lowercases to 'i' and a combining dot, which is not kept.
        assert_eq!(words_of("İstanbul O'Brien"), vec!["istanbul", "o", "brien"]);
        assert_eq!(words_of(&"a ".repeat(50)).len(), MAX_WORDS);
    }
}
