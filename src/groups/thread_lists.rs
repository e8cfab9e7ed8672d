//! Lists of threads, a page at a time: one group's (its pinned threads first, on the first
//! page), and a person's home feed (the threads of every group they joined, here and on other
//! servers). A page ends with a cursor, the last thread's sort key, and the next page starts
//! after it: keyset paging, never OFFSET, so the 500th page costs what the first does, and a
//! thread posted meanwhile does not shift the pages.

use crate::{
    error::{Error, Result},
    groups::posts::{ThreadOrder, authors_on_blocked_servers},
};
use chrono::{DateTime, Utc};
use kindred_entities::{
    membership::{self, MembershipState},
    post,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query, SimpleExpr},
};

/// Threads a page shows unless asked otherwise (the group page, the home feed, the API).
pub const THREADS_PER_PAGE: u64 = 50;

/// Whose threads.
#[derive(Clone, Copy, Debug)]
pub enum ThreadSource {
    /// One group's, its pinned threads first.
    Group(i64),
    /// The groups `person` joined (accepted memberships), here and elsewhere.
    JoinedBy(i64),
}

/// One page of threads, and the cursor of the next one when there is more.
#[derive(Debug)]
pub struct ThreadPage {
    pub threads: Vec<post::Model>,
    pub next: Option<String>,
}

/// Where a page starts: after the thread with this sort key. In text,
/// `<score>.<time in nanoseconds>.<id>`, where the time is the one the order sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    score: i64,
    at: DateTime<Utc>,
    id: i64,
}

impl Cursor {
    fn of(thread: &post::Model, order: ThreadOrder) -> Cursor {
        Cursor {
            score: i64::from(thread.like_count) - i64::from(thread.dislike_count),
            at: match order {
                ThreadOrder::Active => thread.last_activity_at,
                ThreadOrder::New | ThreadOrder::Top => thread.published_at,
            },
            id: thread.id,
        }
    }

    fn to_text(self) -> String {
        format!(
            "{}.{}.{}",
            self.score,
            self.at.timestamp_nanos_opt().unwrap_or_default(),
            self.id
        )
    }

    fn parse(text: &str) -> Result<Cursor> {
        let refused = || Error::bad_request("the cursor is not one this server gave");
        let mut parts = text.split('.');
        let (Some(score), Some(nanos), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused());
        };
        Ok(Cursor {
            score: score.parse().map_err(|_| refused())?,
            at: DateTime::from_timestamp_nanos(nanos.parse().map_err(|_| refused())?),
            id: id.parse().map_err(|_| refused())?,
        })
    }
}

/// The threads of `source` in `order`, `limit` a page, starting after the cursor `after` (as
/// a previous page gave it; `None` for the first page). Deleted, removed and held threads, and
/// those of people on blocked servers, are left out. A group's pinned threads come first on
/// its first page, besides the `limit`, and not again.
pub async fn page_of_threads(
    database: &impl ConnectionTrait,
    source: ThreadSource,
    order: ThreadOrder,
    after: Option<&str>,
    limit: u64,
) -> Result<ThreadPage> {
    let after = after.map(Cursor::parse).transpose()?;
    let limit = limit.clamp(1, 200);
    let visible = post::Entity::find()
        .filter(post::Column::ParentId.is_null())
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false))
        .filter(post::Column::AuthorId.not_in_subquery(authors_on_blocked_servers()));
    let visible = match source {
        ThreadSource::Group(group_id) => visible.filter(post::Column::GroupId.eq(group_id)),
        ThreadSource::JoinedBy(person_id) => visible.filter(
            post::Column::GroupId.in_subquery(
                Query::select()
                    .column(membership::Column::GroupId)
                    .from(membership::Entity)
                    .and_where(membership::Column::MemberId.eq(person_id))
                    .and_where(membership::Column::State.eq(MembershipState::Accepted))
                    .to_owned(),
            ),
        ),
    };
    let mut pinned = Vec::new();
    let listed = if let ThreadSource::Group(_) = source {
        if after.is_none() {
            pinned = ordered(
                visible.clone().filter(post::Column::PinnedAt.is_not_null()),
                order,
            )
            .all(database)
            .await?;
        }
        visible.filter(post::Column::PinnedAt.is_null())
    } else {
        visible
    };
    let listed = match after {
        Some(cursor) => listed.filter(after_cursor(order, cursor)),
        None => listed,
    };
    let mut threads = ordered(listed, order)
        .limit(limit + 1)
        .all(database)
        .await?;
    let next = if threads.len() as u64 > limit {
        threads.truncate(limit as usize);
        threads.last().map(|last| Cursor::of(last, order).to_text())
    } else {
        None
    };
    pinned.extend(threads);
    Ok(ThreadPage {
        threads: pinned,
        next,
    })
}

fn score() -> SimpleExpr {
    Expr::col(post::Column::LikeCount).sub(Expr::col(post::Column::DislikeCount))
}

fn ordered(
    select: sea_orm::Select<post::Entity>,
    order: ThreadOrder,
) -> sea_orm::Select<post::Entity> {
    let select = match order {
        ThreadOrder::New => select.order_by_desc(post::Column::PublishedAt),
        ThreadOrder::Active => select.order_by_desc(post::Column::LastActivityAt),
        ThreadOrder::Top => select
            .order_by_desc(score())
            .order_by_desc(post::Column::PublishedAt),
    };
    select.order_by_desc(post::Column::Id)
}

/// The threads that sort after `cursor` in `order` (every order is descending).
fn after_cursor(order: ThreadOrder, cursor: Cursor) -> Condition {
    let time = match order {
        ThreadOrder::Active => post::Column::LastActivityAt,
        ThreadOrder::New | ThreadOrder::Top => post::Column::PublishedAt,
    };
    // Row values, `(time, id) < (?, ?)`: both databases read them as one range of the
    // index, where the equivalent OR of two conditions made them scan from the top.
    let column = |column: post::Column| SimpleExpr::from(Expr::col((post::Entity, column)));
    match order {
        ThreadOrder::New | ThreadOrder::Active => Condition::all().add(
            Expr::tuple([column(time), column(post::Column::Id)])
                .lt(Expr::tuple([cursor.at.into(), cursor.id.into()])),
        ),
        ThreadOrder::Top => Condition::all().add(
            Expr::tuple([score(), column(time), column(post::Column::Id)]).lt(Expr::tuple([
                cursor.score.into(),
                cursor.at.into(),
                cursor.id.into(),
            ])),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_wrote_and_refuse_anything_else() {
        let cursor = Cursor {
            score: -3,
            at: DateTime::from_timestamp_nanos(1_765_000_000_123_456_789),
            id: 42,
        };
        assert_eq!(Cursor::parse(&cursor.to_text()).unwrap(), cursor);
        for hostile in [
            "",
            "1.2",
            "1.2.3.4",
            "a.b.c",
            "1.2.x",
            "9999999999999999999999.1.1",
        ] {
            assert!(Cursor::parse(hostile).is_err(), "{hostile:?}");
        }
    }
}
