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
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr},
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
    page_of_threads_reading(database, source, order, after, limit, FEW_GROUPS).await
}

/// [`page_of_threads`], with the number of groups up to which SQLite reads a home feed a group
/// at a time (tests try both ways).
async fn page_of_threads_reading(
    database: &impl ConnectionTrait,
    source: ThreadSource,
    order: ThreadOrder,
    after: Option<&str>,
    limit: u64,
    few_groups: usize,
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
        ThreadSource::JoinedBy(person_id) => {
            if database.get_database_backend() == DbBackend::Sqlite {
                let count = joined_group_count(database, person_id).await?;
                if count <= few_groups as u64 {
                    let joined = GroupsJoined { person_id, count };
                    return merged_page_of_groups(database, visible, joined, order, after, limit)
                        .await;
                }
                // Many groups: walk the threads of every group in order, keeping those of
                // the person's groups. The unary `+` keeps SQLite from driving the query by
                // the group list, which reads every thread of those groups and sorts them.
                visible.filter(
                    Expr::expr(Expr::cust("+\"posts\".\"group_id\""))
                        .in_subquery(joined_groups_query(person_id)),
                )
            } else {
                // PostgreSQL's planner walks the cross-group index in order by itself.
                visible.filter(post::Column::GroupId.in_subquery(joined_groups_query(person_id)))
            }
        }
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

/// On SQLite, a home feed of at most this many groups is read by each group's index and merged
/// (see [`merged_page_of_groups`]); past it, the threads of all groups are walked in order. At
/// 200 groups of a 200,000-post instance the first way measured 4.4 ms and the second 117 ms
/// (`benches/scale.rs`, docs/performance.md).
const FEW_GROUPS: usize = 1000;

/// The groups `person_id` belongs to (accepted memberships), as a subquery.
fn joined_groups_query(person_id: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(membership::Column::GroupId)
        .from(membership::Entity)
        .and_where(membership::Column::MemberId.eq(person_id))
        .and_where(membership::Column::State.eq(MembershipState::Accepted))
        .to_owned()
}

/// How many groups `person_id` belongs to (accepted memberships).
async fn joined_group_count(database: &impl ConnectionTrait, person_id: i64) -> Result<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::MemberId.eq(person_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .count(database)
        .await?)
}

/// The sort key of a thread in `order`, compared descending: (score, time, id), the score
/// counting only in the Top order.
type SortKey = (i64, DateTime<Utc>, i64);

/// What a thread's sort key is made of: id, likes, dislikes, published and last active.
type SortColumns = (i64, i32, i32, DateTime<Utc>, DateTime<Utc>);

fn sort_key(
    (id, likes, dislikes, published_at, last_activity_at): SortColumns,
    order: ThreadOrder,
) -> SortKey {
    match order {
        ThreadOrder::New => (0, published_at, id),
        ThreadOrder::Active => (0, last_activity_at, id),
        ThreadOrder::Top => (i64::from(likes) - i64::from(dislikes), published_at, id),
    }
}

/// A page of the threads of the groups a person joined, on SQLite, read by each group's index
/// (a short range each) and merged by sort key; then the page's rows. It costs the number of
/// groups times a few threads, whatever the groups hold, where one query over all of them read
/// every thread of those groups and sorted them.
///
/// Two rounds, each one statement: first every group's few newest (in `order`) threads, at
/// least `2 × (limit + 1) / groups`; the page's last key among them is a threshold no thread
/// of the page falls below. Then, only for the groups whose few all sort above it (they may
/// hold more threads above it), their threads down to the threshold. Every thread above the
/// threshold is then known, so the first `limit + 1` of them are the page. (Reading `limit + 1`
/// threads from every group measured 40 ms for a person in 200 groups; a statement per group
/// 86 ms.)
async fn merged_page_of_groups(
    database: &impl ConnectionTrait,
    visible: sea_orm::Select<post::Entity>,
    joined: GroupsJoined,
    order: ThreadOrder,
    after: Option<Cursor>,
    limit: u64,
) -> Result<ThreadPage> {
    let wanted = limit + 1;
    let first_round = Ord::min(
        wanted,
        Ord::max((2 * wanted).div_ceil(Ord::max(joined.count, 1)), 4),
    );
    let read = FirstThreadsOfGroups {
        visible: &visible,
        person_id: joined.person_id,
        order,
        after,
    };
    let mut candidates = read
        .of_each_group(database, None, None, first_round)
        .await?;
    candidates.sort_unstable_by_key(|(_, key)| std::cmp::Reverse(*key));
    let threshold = candidates.get(wanted as usize - 1).map(|(_, key)| *key);
    if first_round < wanted {
        // Per group: how many of its threads were read, and the last (lowest) key.
        let mut read_of_group: std::collections::HashMap<i64, (u64, SortKey)> =
            std::collections::HashMap::new();
        for (group_id, key) in &candidates {
            let entry = read_of_group.entry(*group_id).or_insert((0, *key));
            entry.0 += 1;
            entry.1 = *key;
        }
        let may_hold_more: Vec<i64> = read_of_group
            .into_iter()
            .filter(|(_, (count, last))| {
                *count == first_round && threshold.is_none_or(|threshold| *last > threshold)
            })
            .map(|(group_id, _)| group_id)
            .collect();
        if !may_hold_more.is_empty() {
            let more = read
                .of_each_group(database, Some(may_hold_more), threshold, wanted)
                .await?;
            let seen: std::collections::HashSet<i64> =
                candidates.iter().map(|(_, (_, _, id))| *id).collect();
            candidates.extend(
                more.into_iter()
                    .filter(|(_, (_, _, id))| !seen.contains(id)),
            );
        }
    }
    let mut candidates: Vec<SortKey> = candidates.into_iter().map(|(_, key)| key).collect();
    candidates.sort_unstable_by(|first, second| second.cmp(first));
    let more = candidates.len() as u64 > limit;
    candidates.truncate(limit as usize);
    let ids: Vec<i64> = candidates.iter().map(|(_, _, id)| *id).collect();
    // The rows, with the same filters again: a thread removed since the keys were read is
    // left out rather than shown.
    let mut rows: std::collections::HashMap<i64, post::Model> = if ids.is_empty() {
        std::collections::HashMap::new()
    } else {
        visible
            .filter(post::Column::Id.is_in(ids.clone()))
            .all(database)
            .await?
            .into_iter()
            .map(|thread| (thread.id, thread))
            .collect()
    };
    let threads: Vec<post::Model> = ids.iter().filter_map(|id| rows.remove(id)).collect();
    // The cursor is the last key merged, not the row read after it: a reply or a vote in
    // between must not move where the next page starts.
    let next = match (more, candidates.last()) {
        (true, Some((score, at, id))) => Some(
            Cursor {
                score: *score,
                at: *at,
                id: *id,
            }
            .to_text(),
        ),
        _ => None,
    };
    Ok(ThreadPage { threads, next })
}

/// Who joined how many groups, for [`merged_page_of_groups`].
#[derive(Clone, Copy)]
struct GroupsJoined {
    person_id: i64,
    count: u64,
}

/// The statement [`merged_page_of_groups`] reads its candidates with.
struct FirstThreadsOfGroups<'a> {
    visible: &'a sea_orm::Select<post::Entity>,
    person_id: i64,
    order: ThreadOrder,
    after: Option<Cursor>,
}

impl FirstThreadsOfGroups<'_> {
    /// The first `per_group` threads (group and sort key) after the cursor of each group the
    /// person joined (of `only` among them, when given), down to `down_to` included when given:
    ///
    /// ```sql
    /// SELECT candidate.group_id, candidate.id, … FROM memberships
    ///   JOIN posts AS candidate ON candidate.id IN
    ///     (SELECT posts.id FROM posts WHERE posts.group_id = memberships.group_id AND …
    ///      ORDER BY … LIMIT ?)
    /// WHERE memberships.member_id = ? AND memberships.state = 'accepted'
    /// ```
    async fn of_each_group(
        &self,
        database: &impl ConnectionTrait,
        only: Option<Vec<i64>>,
        down_to: Option<SortKey>,
        per_group: u64,
    ) -> Result<Vec<(i64, SortKey)>> {
        let of_the_membership_group = self.visible.clone().filter(
            Expr::col((post::Entity, post::Column::GroupId))
                .equals((membership::Entity, membership::Column::GroupId)),
        );
        let of_the_membership_group = match self.after {
            Some(cursor) => of_the_membership_group.filter(after_cursor(self.order, cursor)),
            None => of_the_membership_group,
        };
        let of_the_membership_group = match down_to {
            Some((score, at, id)) => {
                of_the_membership_group.filter(at_or_before(self.order, Cursor { score, at, id }))
            }
            None => of_the_membership_group,
        };
        let first_of_the_group = ordered(of_the_membership_group, self.order)
            .select_only()
            .column(post::Column::Id)
            .limit(per_group)
            .into_query();
        let candidate = Alias::new("candidate");
        let candidate_column = |column: post::Column| Expr::col((candidate.clone(), column));
        let mut memberships = Condition::all()
            .add(membership::Column::MemberId.eq(self.person_id))
            .add(membership::Column::State.eq(MembershipState::Accepted));
        if let Some(only) = only {
            memberships = memberships.add(membership::Column::GroupId.is_in(only));
        }
        let statement = Query::select()
            .exprs([
                candidate_column(post::Column::GroupId),
                candidate_column(post::Column::Id),
                candidate_column(post::Column::LikeCount),
                candidate_column(post::Column::DislikeCount),
                candidate_column(post::Column::PublishedAt),
                candidate_column(post::Column::LastActivityAt),
            ])
            .from(membership::Entity)
            .join_as(
                JoinType::InnerJoin,
                post::Entity,
                candidate.clone(),
                candidate_column(post::Column::Id).in_subquery(first_of_the_group),
            )
            .cond_where(memberships)
            .to_owned();
        Ok(database
            .query_all(&statement)
            .await?
            .iter()
            .map(|row| {
                row.try_get_many_by_index::<(i64, i64, i32, i32, DateTime<Utc>, DateTime<Utc>)>()
                    .map(
                        |(group_id, id, likes, dislikes, published_at, last_activity_at)| {
                            (
                                group_id,
                                sort_key(
                                    (id, likes, dislikes, published_at, last_activity_at),
                                    self.order,
                                ),
                            )
                        },
                    )
            })
            .collect::<std::result::Result<_, _>>()?)
    }
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
    let (sort_key, cursor) = sort_key_and_cursor(order, cursor);
    Condition::all().add(sort_key.lt(cursor))
}

/// The threads that sort before `cursor` in `order`, or are it: the complement of
/// [`after_cursor`], as a range an index can read.
fn at_or_before(order: ThreadOrder, cursor: Cursor) -> Condition {
    let (sort_key, cursor) = sort_key_and_cursor(order, cursor);
    Condition::all().add(sort_key.gte(cursor))
}

/// A thread's sort key in `order` and `cursor`'s, as row values: `(time, id)`, or
/// `(score, time, id)` for Top. Both databases read a comparison of row values as one range
/// of the index, where the equivalent OR of two conditions made them scan from the top.
fn sort_key_and_cursor(order: ThreadOrder, cursor: Cursor) -> (SimpleExpr, SimpleExpr) {
    let time = match order {
        ThreadOrder::Active => post::Column::LastActivityAt,
        ThreadOrder::New | ThreadOrder::Top => post::Column::PublishedAt,
    };
    let column = |column: post::Column| SimpleExpr::from(Expr::col((post::Entity, column)));
    match order {
        ThreadOrder::New | ThreadOrder::Active => (
            Expr::tuple([column(time), column(post::Column::Id)]),
            Expr::tuple([cursor.at.into(), cursor.id.into()]),
        ),
        ThreadOrder::Top => (
            Expr::tuple([score(), column(time), column(post::Column::Id)]),
            Expr::tuple([cursor.score.into(), cursor.at.into(), cursor.id.into()]),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{
        accounts::users,
        testing::{self, TestApp, dataset},
    };

    #[tokio::test]
    async fn a_home_feed_pages_through_every_joined_groups_threads_in_order() {
        testing::for_each_backend(async |backend| {
            let app = TestApp::on(backend)
                .expecting_pending_fan_outs()
                .start()
                .await;
            let context = app.context();
            let config = context.config.as_ref().clone();
            let built = dataset::build(&context, &config, dataset::DatasetSize::small())
                .await
                .unwrap();
            let db = &context.db;
            let person = users::find_by_name(db, &built.member_name)
                .await
                .unwrap()
                .unwrap()
                .actor;
            // What the feed must list, in order: every visible thread of the person's groups.
            assert!(
                joined_group_count(db, person.id).await.unwrap() > 1,
                "the person belongs to several groups"
            );
            let everything = post::Entity::find()
                .filter(post::Column::ParentId.is_null())
                .filter(post::Column::DeletedAt.is_null())
                .filter(post::Column::RemovedAt.is_null())
                .filter(post::Column::AwaitingApproval.eq(false))
                .filter(post::Column::GroupId.in_subquery(joined_groups_query(person.id)))
                .all(db)
                .await
                .unwrap();
            for order in [ThreadOrder::New, ThreadOrder::Active, ThreadOrder::Top] {
                let mut expected: Vec<(SortKey, i64)> = everything
                    .iter()
                    .map(|thread| {
                        let key = (
                            thread.id,
                            thread.like_count,
                            thread.dislike_count,
                            thread.published_at,
                            thread.last_activity_at,
                        );
                        (sort_key(key, order), thread.id)
                    })
                    .collect();
                expected.sort_by(|first, second| second.cmp(first));
                let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).take(60).collect();
                // A group at a time (SQLite's way for a few groups), and all groups in order.
                for few_groups in [FEW_GROUPS, 0] {
                    let mut listed = Vec::new();
                    let mut after: Option<String> = None;
                    while listed.len() < expected.len() {
                        let page = page_of_threads_reading(
                            db,
                            ThreadSource::JoinedBy(person.id),
                            order,
                            after.as_deref(),
                            13,
                            few_groups,
                        )
                        .await
                        .unwrap();
                        assert!(!page.threads.is_empty());
                        listed.extend(page.threads.iter().map(|thread| thread.id));
                        after = page.next;
                        assert!(after.is_some(), "{order:?}: more threads follow");
                    }
                    listed.truncate(expected.len());
                    assert_eq!(listed, expected, "{order:?}, {few_groups} groups at a time");
                }
            }
        })
        .await;
    }

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
