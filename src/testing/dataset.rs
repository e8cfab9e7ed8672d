//! A big instance, built fast for benchmarks: local groups and people, remote members on many
//! servers, threads and replies, votes, reports and notifications in realistic proportions,
//! written with multi-row inserts in large transactions (not through the HTTP path or the
//! actions, which would take hours at a million posts). The `scale` bench builds the size the
//! cost issue names; a test builds a small one, so the generator keeps working.
//!
//! Rows are consistent with what the app would have written: threads carry their reply
//! counts, last activity and like counts, replies their thread, parents and search text, and
//! the full-text index is kept by the database's own triggers.

use crate::{
    accounts::users::{self, NewUser},
    config::Config,
    context::Context,
    error::{Error, Result},
    groups::directory::{self, NewGroup},
};
use chrono::{Duration, Utc};
use kindred_entities::{
    activity,
    actor::{self, ActorKind},
    instance,
    membership::{self, MembershipRole, MembershipState},
    notification::{self, NotificationKind},
    post, report, vote,
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DbBackend, EntityTrait, TransactionTrait,
};

/// How big an instance to build.
#[derive(Debug, Clone, Copy)]
pub struct DatasetSize {
    pub groups: usize,
    pub posts: usize,
    /// The largest group's share of the posts (the others share the rest evenly).
    pub largest_group_posts: usize,
    pub remote_members: usize,
    pub remote_servers: usize,
    pub local_people: usize,
}

impl DatasetSize {
    /// The instance of the cost issue: 200 groups, a million posts (200,000 in the largest),
    /// 20,000 remote members on 10,000 servers.
    pub fn issue() -> DatasetSize {
        DatasetSize {
            groups: 200,
            posts: 1_000_000,
            largest_group_posts: 200_000,
            remote_members: 20_000,
            remote_servers: 10_000,
            local_people: 20,
        }
    }

    /// A small one, for the test that keeps the generator working.
    pub fn small() -> DatasetSize {
        DatasetSize {
            groups: 4,
            posts: 2_000,
            largest_group_posts: 1_000,
            remote_members: 60,
            remote_servers: 20,
            local_people: 3,
        }
    }
}

/// What was built: the largest group's name and its biggest thread, for the requests to time.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub largest_group: String,
    /// The largest group's thread with the most replies, and how many it has.
    pub biggest_thread_id: i64,
    pub biggest_thread_replies: i32,
    /// A local person who belongs to every group (for the home feed).
    pub member_name: String,
    pub posts: usize,
}

/// Rows written a statement (within SQLite's and PostgreSQL's limits on bound values).
const ROWS_A_STATEMENT: usize = 500;
/// Statements a transaction.
const STATEMENTS_A_TRANSACTION: usize = 40;
/// One reply in this many is in the largest group's biggest thread, so that it reaches a few
/// thousand replies at the issue's size.
const BIGGEST_THREAD_EVERY: u64 = 100;

/// A small, fixed pseudo-random sequence (xorshift), so that every build is the same.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Writes `rows` in multi-row statements, many statements a transaction.
async fn insert_all<A>(context: &Context, rows: Vec<A>) -> Result<()>
where
    A: sea_orm::ActiveModelTrait + Send + 'static,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let transaction = context.db.begin().await?;
        for _ in 0..STATEMENTS_A_TRANSACTION {
            let chunk: Vec<A> = rows.by_ref().take(ROWS_A_STATEMENT).collect();
            if chunk.is_empty() {
                break;
            }
            A::Entity::insert_many(chunk).exec(&transaction).await?;
        }
        transaction.commit().await?;
    }
    Ok(())
}

/// The next id of `table`, for rows written with their ids.
async fn next_id(context: &Context, table: &str) -> Result<i64> {
    let row = context
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            context.db.get_database_backend(),
            format!("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM {table}"),
        ))
        .await?
        .ok_or_else(|| Error::internal("no MAX(id)"))?;
    Ok(row.try_get::<i64>("", "next")?)
}

/// After rows were written with their ids, PostgreSQL's sequence is moved past them.
async fn move_sequence(context: &Context, table: &str) -> Result<()> {
    if context.db.get_database_backend() == DbBackend::Postgres {
        context
            .db
            .execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await?;
    }
    Ok(())
}

/// Builds an instance of `size` in `context`'s database (which should be fresh).
pub async fn build(context: &Context, config: &Config, size: DatasetSize) -> Result<Dataset> {
    let mut random = Sequence(0x9e37_79b9_7f4a_7c15);
    let now = Utc::now();
    let year_ago = now - Duration::days(365);
    let keys = crate::testing::test_keypairs();
    let key = keys
        .first()
        .ok_or_else(|| Error::internal("no test key pair"))?;

    // Local people (a few, with accounts) and groups, through the usual functions.
    let mut local_people = Vec::new();
    for number in 0..size.local_people.max(1) {
        let name = format!("local{number}");
        let account = users::create_user(
            &context.db,
            config,
            &crate::testing::test_key_source(),
            NewUser {
                name: &name,
                password: crate::testing::TEST_PASSWORD,
                email: None,
                application_text: None,
            },
            kindred_entities::user::UserState::Active,
            false,
        )
        .await?;
        local_people.push(account);
    }
    let mut groups = Vec::new();
    for number in 0..size.groups.max(1) {
        let name = format!("group{number}");
        let group = directory::create_group(
            &context.db,
            config,
            &crate::testing::test_key_source(),
            NewGroup {
                name: &name,
                title: &format!("Group number {number}"),
                summary_markdown: Some("A group of the benchmark's instance."),
            },
        )
        .await?;
        crate::groups::membership::found(&context.db, &group, &local_people[0].actor).await?;
        groups.push(group);
    }

    // Their servers, with the software a running instance learned from their NodeInfo on the
    // first delivery (and reads again daily): one in ten a Lemmy, the rest Mastodon.
    let servers: Vec<instance::ActiveModel> = (0..size.remote_servers)
        .map(|server| instance::ActiveModel {
            host: Set(format!("s{server}.remote.example")),
            software: Set(Some(
                if server % 10 == 0 {
                    "lemmy"
                } else {
                    "mastodon"
                }
                .to_string(),
            )),
            software_version: Set(None),
            software_checked_at: Set(Some(now)),
            first_seen_at: Set(year_ago),
            last_success_at: Set(Some(now)),
            failing_since: Set(None),
            dead_since: Set(None),
            blocked: Set(false),
            consecutive_failures: Set(0),
            retry_at: Set(None),
            signature_scheme: Set(None),
            ..Default::default()
        })
        .collect();
    insert_all(context, servers).await?;

    // Remote people, spread over their servers.
    let first_remote = next_id(context, "actors").await?;
    let remote: Vec<actor::ActiveModel> = (0..size.remote_members)
        .map(|number| {
            let server = number % size.remote_servers.max(1);
            let host = format!("s{server}.remote.example");
            let name = format!("r{number}");
            actor::ActiveModel {
                id: Set(first_remote + number as i64),
                ap_id: Set(format!("https://{host}/users/{name}")),
                kind: Set(ActorKind::Person),
                local: Set(false),
                local_name: Set(None),
                preferred_username: Set(name.clone()),
                display_name: Set(Some(format!("Remote person {number}"))),
                summary_html: Set(None),
                summary_source: Set(None),
                icon_url: Set(None),
                image_url: Set(None),
                inbox_url: Set(format!("https://{host}/users/{name}/inbox")),
                shared_inbox_url: Set(Some(format!("https://{host}/inbox"))),
                outbox_url: Set(None),
                followers_url: Set(None),
                featured_url: Set(None),
                moderators_url: Set(None),
                html_url: Set(Some(format!("https://{host}/@{name}"))),
                public_key_pem: Set(key.public_key.clone()),
                private_key_pem: Set(None),
                manually_approves_followers: Set(false),
                posting_restricted_to_mods: Set(false),
                discoverable: Set(true),
                instance_id: Set(None),
                published_at: Set(Some(year_ago)),
                updated_at: Set(None),
                last_refreshed_at: Set(now),
                deleted_at: Set(None),
                created_at: Set(year_ago),
                ..Default::default()
            }
        })
        .collect();
    insert_all(context, remote).await?;
    move_sequence(context, "actors").await?;
    let remote_ids: Vec<i64> = (0..size.remote_members)
        .map(|number| first_remote + number as i64)
        .collect();

    // Memberships: every remote member follows the largest group and one other; the first
    // local person is in every group (founded above), the other local people in a few.
    let mut memberships = Vec::new();
    let member = |group_id: i64, member_id: i64| membership::ActiveModel {
        id: NotSet,
        group_id: Set(group_id),
        member_id: Set(member_id),
        state: Set(MembershipState::Accepted),
        follow_activity_ap_id: Set(None),
        created_at: Set(year_ago),
        updated_at: Set(year_ago),
        role: Set(MembershipRole::Member),
    };
    for (index, remote_id) in remote_ids.iter().enumerate() {
        memberships.push(member(groups[0].id, *remote_id));
        if groups.len() > 1 {
            let other = 1 + index % (groups.len() - 1);
            memberships.push(member(groups[other].id, *remote_id));
        }
    }
    for person in local_people.iter().skip(1) {
        for _ in 0..3 {
            let group = &groups[random.below(groups.len())];
            if !memberships.iter().any(|row: &membership::ActiveModel| {
                row.group_id.as_ref() == &group.id && row.member_id.as_ref() == &person.actor.id
            }) {
                memberships.push(member(group.id, person.actor.id));
            }
        }
    }
    insert_all(context, memberships).await?;

    // Posts: the largest group's share, the rest evenly; a thread for every five posts, and
    // replies to earlier posts of their group (a fifth of them to the thread itself).
    let first_post = next_id(context, "posts").await?;
    let others = groups.len().saturating_sub(1).max(1);
    let rest = size.posts.saturating_sub(size.largest_group_posts);
    let (per_other, left_over) = (rest / others, rest % others);
    let authors: Vec<i64> = local_people
        .iter()
        .map(|person| person.actor.id)
        .chain(remote_ids.iter().copied())
        .collect();
    let mut next_post = first_post;
    let mut biggest = (0_i64, 0_i32);
    let mut notifications = Vec::new();
    let mut votes = Vec::new();
    let mut reports = Vec::new();
    let body = "<p>I tried descaling the kettle with citric acid, then vinegar; it still clicks \
                when it heats, and the light flickers. The element looks fine. Has anyone \
                replaced the thermostat of this model, and where did you find the part?</p>";
    let text = crate::html::to_plain_text(body);
    for (group_index, group) in groups.iter().enumerate() {
        let count = if group_index == 0 {
            size.largest_group_posts
        } else {
            per_other + usize::from(group_index <= left_over)
        };
        let mut rows: Vec<post::ActiveModel> = Vec::with_capacity(count);
        // The group's outbox: its Announce of every thread, as it would have sent them.
        let mut announces: Vec<activity::ActiveModel> = Vec::new();
        // Per post of this group: (id, thread id, author, reply count, last activity).
        let mut threads_here: Vec<usize> = Vec::new();
        let step = Duration::seconds((365 * 24 * 3600 / count.max(1) as i64).max(1));
        for number in 0..count {
            let id = next_post;
            next_post += 1;
            let at = year_ago + step * number as i32;
            let author = authors[random.below(authors.len())];
            let is_thread = number % 5 == 0 || threads_here.is_empty();
            let (parent_id, thread_id) = if is_thread {
                threads_here.push(rows.len());
                (None, None)
            } else {
                let in_biggest = group_index == 0
                    && random.next().is_multiple_of(BIGGEST_THREAD_EVERY)
                    && !threads_here.is_empty();
                let thread_index = if in_biggest {
                    threads_here[0]
                } else {
                    threads_here[threads_here.len() - 1 - random.below(threads_here.len().min(50))]
                };
                let thread_row_id = first_post_of(&rows, thread_index);
                (Some(thread_row_id), Some(thread_row_id))
            };
            let published = at;
            rows.push(post::ActiveModel {
                id: Set(id),
                ap_id: Set(format!("{}posts/{id}", config.instance.public_url)),
                group_id: Set(group.id),
                author_id: Set(author),
                parent_id: Set(parent_id),
                thread_id: Set(thread_id),
                kind: Set(if is_thread { "Page" } else { "Note" }.to_string()),
                title: Set(is_thread
                    .then(|| format!("Kettle question {number} in {}", group.preferred_username))),
                content_html: Set(body.to_string()),
                source_markdown: Set(None),
                url: Set(None),
                sensitive: Set(false),
                local: Set(true),
                published_at: Set(published),
                updated_at: Set(None),
                deleted_at: Set(None),
                like_count: Set(0),
                dislike_count: Set(0),
                reply_count: Set(0),
                share_count: Set(0),
                content_purged: Set(false),
                last_activity_at: Set(published),
                created_at: Set(published),
                removed_at: Set(None),
                locked: Set(false),
                pinned_at: Set(None),
                awaiting_approval: Set(false),
                pending_activity: Set(None),
                context_url: Set(None),
                content_warning: Set(None),
                search_text: Set(Some(text.clone())),
            });
            if is_thread {
                let object = format!("{}posts/{id}", config.instance.public_url);
                let announce_id = format!("{}activities/announce/{id}", config.instance.public_url);
                let json = serde_json::json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": announce_id,
                    "type": "Announce",
                    "actor": group.ap_id,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "cc": [group.followers_url],
                    "object": {
                        "id": format!("{object}/create"),
                        "type": "Create",
                        "actor": format!("https://remote.example/users/{author}"),
                        "object": {
                            "id": object,
                            "type": "Page",
                            "name": format!("Kettle question {number}"),
                            "content": body,
                            "attributedTo": format!("https://remote.example/users/{author}"),
                            "audience": group.ap_id,
                            "published": published.to_rfc3339(),
                        },
                    },
                });
                announces.push(activity::ActiveModel {
                    id: NotSet,
                    ap_id: Set(announce_id),
                    actor_id: Set(group.id),
                    kind: Set("Announce".to_string()),
                    object_ap_id: Set(Some(object)),
                    json: Set(json.to_string()),
                    in_outbox: Set(true),
                    created_at: Set(published),
                    ordering_key: Set(None),
                    targets: Set(None),
                    fanout_pending: Set(false),
                    fanout_progress: Set(0),
                    fanout_leased_until: Set(None),
                    fanout_done: Set(None),
                });
            }
            if let Some(thread_id) = thread_id {
                let group_start = first_post_of_group(&rows);
                let thread = &mut rows[(thread_id - group_start) as usize];
                let replies = thread.reply_count.as_ref() + 1;
                thread.reply_count = Set(replies);
                thread.last_activity_at = Set(published);
                if group_index == 0 && replies > biggest.1 {
                    biggest = (thread_id, replies);
                }
                // The thread's author hears of the reply when they are local.
                let thread_author = *thread.author_id.as_ref();
                if let Some(account) = local_people
                    .iter()
                    .find(|person| person.actor.id == thread_author)
                {
                    notifications.push(notification::ActiveModel {
                        id: NotSet,
                        user_id: Set(account.user.id),
                        kind: Set(NotificationKind::Reply),
                        post_id: Set(id),
                        actor_id: Set(Some(author)),
                        created_at: Set(published),
                        read_at: Set(None),
                    });
                }
            }
            // About one vote for every two posts, and a report for one in a thousand.
            let voters = random.below(2);
            let row = rows.last_mut().ok_or_else(|| Error::internal("no row"))?;
            for voter in 0..voters {
                let voter_id = remote_ids
                    .get((id as usize + voter * 7919) % remote_ids.len().max(1))
                    .copied()
                    .unwrap_or(author);
                votes.push(vote::ActiveModel {
                    id: NotSet,
                    post_id: Set(id),
                    actor_id: Set(voter_id),
                    value: Set(1),
                    activity_ap_id: Set(format!("https://remote.example/likes/{id}/{voter}")),
                    created_at: Set(published),
                });
            }
            row.like_count = Set(voters as i32);
            if number % 1000 == 999 {
                reports.push(report::ActiveModel {
                    id: NotSet,
                    group_id: Set(group.id),
                    post_id: Set(id),
                    reporter_id: Set(remote_ids.first().copied().unwrap_or(author)),
                    reason: Set(Some("spam".to_string())),
                    flag_ap_id: Set(None),
                    state: Set(report::ReportState::Open),
                    resolved_by: Set(None),
                    created_at: Set(published),
                    resolved_at: Set(None),
                });
            }
        }
        insert_all(context, rows).await?;
        let announced = announces.len() as i64;
        insert_all(context, announces).await?;
        crate::federation::outbox_totals::add(
            &context.db,
            &std::collections::BTreeMap::from([(group.id, announced)]),
        )
        .await?;
    }
    move_sequence(context, "posts").await?;
    insert_all(context, votes).await?;
    insert_all(context, notifications).await?;
    insert_all(context, reports).await?;
    // As a running instance has them: statistics for the planner (an hour's maintenance on
    // SQLite, autovacuum on PostgreSQL).
    context.db.execute_unprepared("ANALYZE").await?;
    // Every local person is in the first group: the home feed has something to show.
    Ok(Dataset {
        largest_group: groups[0].preferred_username.clone(),
        biggest_thread_id: biggest.0,
        biggest_thread_replies: biggest.1,
        member_name: local_people[0].user.name.clone(),
        posts: (next_post - first_post) as usize,
    })
}

/// The id of the row at `index` of the group's rows being built.
fn first_post_of(rows: &[post::ActiveModel], index: usize) -> i64 {
    *rows[index].id.as_ref()
}

/// The id of the first row of the group's rows being built.
fn first_post_of_group(rows: &[post::ActiveModel]) -> i64 {
    rows.first().map_or(0, |row| *row.id.as_ref())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::{self, TestApp};
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};

    #[tokio::test]
    async fn a_small_instance_is_built_consistent_and_its_pages_serve() {
        testing::for_each_backend(async |backend| {
            // The new thread at the end is for remote members; it is not sent here.
            let app = TestApp::on(backend)
                .expecting_pending_fan_outs()
                .start()
                .await;
            let context = app.context();
            let size = DatasetSize::small();
            let config = context.config.as_ref().clone();
            let built = build(&context, &config, size).await.unwrap();
            let db = &context.db;
            assert_eq!(built.posts, size.posts);
            assert_eq!(
                post::Entity::find().count(db).await.unwrap(),
                size.posts as u64
            );
            let largest = directory::find_local_group(db, &built.largest_group)
                .await
                .unwrap();
            assert_eq!(
                post::Entity::find()
                    .filter(post::Column::GroupId.eq(largest.id))
                    .count(db)
                    .await
                    .unwrap(),
                size.largest_group_posts as u64
            );
            // Reply counts agree with the replies.
            let biggest = post::Entity::find_by_id(built.biggest_thread_id)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            let replies = post::Entity::find()
                .filter(post::Column::ThreadId.eq(biggest.id))
                .count(db)
                .await
                .unwrap();
            assert_eq!(replies, biggest.reply_count as u64);
            assert_eq!(biggest.reply_count, built.biggest_thread_replies);
            // The membership counters the database keeps agree with the bulk-inserted rows.
            let members = kindred_entities::membership::Entity::find()
                .filter(kindred_entities::membership::Column::GroupId.eq(largest.id))
                .count(db)
                .await
                .unwrap();
            assert!(members > 0);
            assert_eq!(largest.member_count as u64, members);
            assert!(vote::Entity::find().count(db).await.unwrap() > 0);
            assert!(report::Entity::find().count(db).await.unwrap() > 0);
            assert!(notification::Entity::find().count(db).await.unwrap() > 0);
            // The app takes it from there: new rows get new ids, and pages and search serve.
            let thread = crate::actions::posts::start_thread(
                &context,
                &users::find_by_name(db, &built.member_name)
                    .await
                    .unwrap()
                    .unwrap()
                    .actor,
                &largest,
                crate::groups::posts::Draft {
                    title: Some("After the build".into()),
                    markdown: "A new thread".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert!(thread.id > built.biggest_thread_id);
            for path in [
                format!("/groups/{}", built.largest_group),
                format!("/posts/{}", built.biggest_thread_id),
                format!("/api/v1/groups/{}/threads", built.largest_group),
                "/api/v1/search?q=thermostat".to_string(),
            ] {
                let answer = app
                    .call(
                        axum::http::Request::builder()
                            .uri(&path)
                            .header(axum::http::header::ACCEPT, "text/html")
                            .body(axum::body::Body::empty())
                            .unwrap(),
                    )
                    .await;
                assert_eq!(answer.status, axum::http::StatusCode::OK, "{path}");
            }
        })
        .await;
    }
}
