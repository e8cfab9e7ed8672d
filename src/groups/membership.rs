//! Who belongs to a group: joining (pending when the group approves members by hand), leaving,
//! and the inboxes of its members for relaying.

use crate::error::Result;
use chrono::Utc;
use kindred_entities::{
    actor,
    membership::{self, MembershipRole, MembershipState},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, sea_query::Query,
};
use std::collections::BTreeSet;

/// Records that `member` asked to join `group`: with the Follow `follow_ap_id` for a remote
/// member, with none for a local one. A group that approves members by hand keeps the
/// request pending; an existing member stays a member.
pub async fn join(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    member: &actor::Model,
    follow_ap_id: Option<&str>,
) -> Result<membership::Model> {
    let now = Utc::now();
    if let Some(existing) = find(database, group.id, member.id).await? {
        let mut update: membership::ActiveModel = existing.into();
        if let Some(follow_ap_id) = follow_ap_id {
            update.follow_activity_ap_id = Set(Some(follow_ap_id.to_string()));
        }
        update.updated_at = Set(now);
        return Ok(update.update(database).await?);
    }
    let state = if group.manually_approves_followers {
        MembershipState::Pending
    } else {
        MembershipState::Accepted
    };
    Ok(membership::ActiveModel {
        group_id: Set(group.id),
        member_id: Set(member.id),
        state: Set(state),
        follow_activity_ap_id: Set(follow_ap_id.map(str::to_string)),
        role: Set(MembershipRole::Member),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(database)
    .await?)
}

/// The founder of a new local group becomes its first member and its owner.
pub async fn found(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    founder: &actor::Model,
) -> Result<membership::Model> {
    let joined = join(database, group, founder, None).await?;
    let mut update: membership::ActiveModel = joined.into();
    update.state = Set(MembershipState::Accepted);
    update.role = Set(MembershipRole::Owner);
    Ok(update.update(database).await?)
}

/// True when `member_id` owns the group.
pub async fn is_owner(
    database: &impl ConnectionTrait,
    group_id: i64,
    member_id: i64,
) -> Result<bool> {
    Ok(find(database, group_id, member_id)
        .await?
        .is_some_and(|found| found.role == MembershipRole::Owner))
}

/// Records a local person's request to join a remote group with the Follow `follow_ap_id`:
/// pending until the group's `Accept` arrives. An accepted membership stays accepted.
pub async fn request_remote(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    member: &actor::Model,
    follow_ap_id: &str,
) -> Result<membership::Model> {
    let now = Utc::now();
    if let Some(existing) = find(database, group.id, member.id).await? {
        let mut update: membership::ActiveModel = existing.into();
        update.follow_activity_ap_id = Set(Some(follow_ap_id.to_string()));
        update.updated_at = Set(now);
        return Ok(update.update(database).await?);
    }
    Ok(membership::ActiveModel {
        group_id: Set(group.id),
        member_id: Set(member.id),
        state: Set(MembershipState::Pending),
        follow_activity_ap_id: Set(Some(follow_ap_id.to_string())),
        created_at: Set(now),
        updated_at: Set(now),
        role: Set(MembershipRole::Member),
        ..Default::default()
    }
    .insert(database)
    .await?)
}

/// The remote group accepted the Follow `follow_ap_id` (or, when the Accept names no id we
/// know, the pending request of `member_id`). Returns the membership, if one was waiting.
pub async fn accept_remote(
    database: &impl ConnectionTrait,
    group_id: i64,
    member_id: Option<i64>,
    follow_ap_id: &str,
) -> Result<Option<membership::Model>> {
    let by_follow = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::FollowActivityApId.eq(follow_ap_id))
        .one(database)
        .await?;
    let found = match (by_follow, member_id) {
        (Some(found), _) => Some(found),
        (None, Some(member_id)) => find(database, group_id, member_id).await?,
        (None, None) => None,
    };
    let Some(found) = found else {
        return Ok(None);
    };
    let mut update: membership::ActiveModel = found.into();
    update.state = Set(MembershipState::Accepted);
    update.updated_at = Set(Utc::now());
    Ok(Some(update.update(database).await?))
}

/// How many local people belong to a (remote) group: a remote group's announcements are taken
/// only while someone here follows it. One read of the counter the database keeps on the
/// group's row (`actors.local_member_count`, triggers on `memberships`).
pub async fn local_member_count(database: &impl ConnectionTrait, group_id: i64) -> Result<u64> {
    counter(database, group_id, actor::Column::LocalMemberCount).await
}

/// One of the membership counters of a group's row; 0 for a group that is not there.
async fn counter(
    database: &impl ConnectionTrait,
    group_id: i64,
    column: actor::Column,
) -> Result<u64> {
    use sea_orm::QuerySelect;
    // No LIMIT: a lookup by primary key (see `database::unique_row`).
    let counts: Vec<i64> = actor::Entity::find()
        .select_only()
        .column(column)
        .filter(actor::Column::Id.eq(group_id))
        .into_tuple()
        .all(database)
        .await?;
    Ok(counts
        .first()
        .map_or(0, |count| u64::try_from(*count).unwrap_or(0)))
}

/// Ends a membership (or a pending request). Returns whether there was one.
pub async fn leave(database: &impl ConnectionTrait, group_id: i64, member_id: i64) -> Result<bool> {
    let result = membership::Entity::delete_many()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::MemberId.eq(member_id))
        .exec(database)
        .await?;
    Ok(result.rows_affected > 0)
}

pub async fn find(
    database: &impl ConnectionTrait,
    group_id: i64,
    member_id: i64,
) -> Result<Option<membership::Model>> {
    Ok(crate::database::unique_row(
        membership::Entity::find()
            .filter(membership::Column::GroupId.eq(group_id))
            .filter(membership::Column::MemberId.eq(member_id)),
        database,
    )
    .await?)
}

/// True when `member_id` is an accepted member of the group.
pub async fn is_member(
    database: &impl ConnectionTrait,
    group_id: i64,
    member_id: i64,
) -> Result<bool> {
    Ok(find(database, group_id, member_id)
        .await?
        .is_some_and(|membership| membership.state == MembershipState::Accepted))
}

/// The distinct inboxes that reach every accepted member: each member's shared inbox when it
/// has one, its own inbox otherwise. One delivery per shared inbox reaches a whole server.
pub async fn member_inboxes(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<BTreeSet<String>> {
    let members = Query::select()
        .column(membership::Column::MemberId)
        .from(membership::Entity)
        .and_where(membership::Column::GroupId.eq(group_id))
        .and_where(membership::Column::State.eq(MembershipState::Accepted))
        .to_owned();
    let rows: Vec<(String, Option<String>)> = actor::Entity::find()
        .select_only()
        .column(actor::Column::InboxUrl)
        .column(actor::Column::SharedInboxUrl)
        .filter(actor::Column::Id.in_subquery(members))
        .filter(actor::Column::DeletedAt.is_null())
        .into_tuple()
        .all(database)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(inbox, shared_inbox)| shared_inbox.unwrap_or(inbox))
        .collect())
}

/// As [`member_inboxes`], read on `context.read_db` only when the group's members or their
/// inboxes changed since the last read (`actors.membership_version`, which triggers move; the
/// caller read `group` just now): an inbound post to a group with members on 10,000 servers
/// would otherwise read 20,000 rows each time.
pub async fn member_inboxes_of_group(
    context: &crate::context::Context,
    group: &actor::Model,
) -> Result<std::sync::Arc<BTreeSet<String>>> {
    context
        .member_inboxes
        .get_or_read(
            group.id,
            group.membership_version,
            member_inboxes(&context.read_db, group.id),
        )
        .await
}

/// Whether `person_id` belongs to any group (an accepted membership), here or elsewhere.
pub async fn has_joined_any(database: &impl ConnectionTrait, person_id: i64) -> Result<bool> {
    use sea_orm::QuerySelect;
    Ok(membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::MemberId.eq(person_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .limit(1)
        .into_tuple::<i64>()
        .one(database)
        .await?
        .is_some())
}

/// How many accepted members a group has: one read of the counter the database keeps on the
/// group's row (`actors.member_count`).
pub async fn member_count(database: &impl ConnectionTrait, group_id: i64) -> Result<u64> {
    counter(database, group_id, actor::Column::MemberCount).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{
        groups::directory::{self, NewGroup},
        testing,
    };
    use kindred_entities::actor::ActorKind;
    use sea_orm::PaginatorTrait;

    async fn person(database: &impl ConnectionTrait, name: &str, local: bool) -> actor::Model {
        let base = if local {
            "https://kindred.example/users"
        } else {
            "https://elsewhere.example/users"
        };
        let now = Utc::now();
        actor::ActiveModel {
            ap_id: Set(format!("{base}/{name}")),
            kind: Set(ActorKind::Person),
            local: Set(local),
            local_name: Set(local.then(|| name.to_string())),
            preferred_username: Set(name.to_string()),
            inbox_url: Set(format!("{base}/{name}/inbox")),
            public_key_pem: Set(testing::test_keypairs()[0].public_key.clone()),
            manually_approves_followers: Set(false),
            posting_restricted_to_mods: Set(false),
            discoverable: Set(true),
            last_refreshed_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(database)
        .await
        .unwrap()
    }

    /// The counters on the group's row, and what counting the memberships gives.
    async fn counters_and_counts(
        database: &impl ConnectionTrait,
        group_id: i64,
    ) -> ((u64, u64), (u64, u64)) {
        let counters = (
            member_count(database, group_id).await.unwrap(),
            local_member_count(database, group_id).await.unwrap(),
        );
        let accepted = || {
            membership::Entity::find()
                .filter(membership::Column::GroupId.eq(group_id))
                .filter(membership::Column::State.eq(MembershipState::Accepted))
        };
        let local_people = Query::select()
            .column(actor::Column::Id)
            .from(actor::Entity)
            .and_where(actor::Column::Local.eq(true))
            .to_owned();
        let counted = (
            accepted().count(database).await.unwrap(),
            accepted()
                .filter(membership::Column::MemberId.in_subquery(local_people))
                .count(database)
                .await
                .unwrap(),
        );
        (counters, counted)
    }

    #[tokio::test]
    async fn member_counters_follow_every_change_of_a_membership() {
        testing::for_each_database(async |database| {
            let database = &database.connection;
            let config = testing::test_config("https://kindred.example").unwrap();
            let group = directory::create_group(
                database,
                &config,
                &testing::test_key_source(),
                NewGroup {
                    name: "repair",
                    title: "Repair café",
                    summary_markdown: None,
                },
            )
            .await
            .unwrap();
            let ann = person(database, "ann", true).await;
            let bob = person(database, "bob", true).await;
            let zoe = person(database, "zoe", false).await;
            let expect = async |members: u64, local: u64, step: &str| {
                let (counters, counted) = counters_and_counts(database, group.id).await;
                assert_eq!(
                    counters, counted,
                    "{step}: the counters drifted from the rows"
                );
                assert_eq!(counters, (members, local), "{step}");
            };
            expect(0, 0, "a new group").await;

            found(database, &group, &ann).await.unwrap();
            expect(1, 1, "founded").await;
            join(database, &group, &bob, None).await.unwrap();
            join(
                database,
                &group,
                &zoe,
                Some("https://elsewhere.example/follow/1"),
            )
            .await
            .unwrap();
            expect(3, 2, "two joined").await;
            // Joining again (a re-sent Follow) changes nothing.
            join(
                database,
                &group,
                &zoe,
                Some("https://elsewhere.example/follow/2"),
            )
            .await
            .unwrap();
            expect(3, 2, "a second Follow").await;

            // A membership put back to pending (as a moderator's queue holds it), then approved.
            let set_state = async |member_id: i64, state: MembershipState| {
                membership::Entity::update_many()
                    .col_expr(
                        membership::Column::State,
                        sea_orm::sea_query::Expr::value(state),
                    )
                    .filter(membership::Column::GroupId.eq(group.id))
                    .filter(membership::Column::MemberId.eq(member_id))
                    .exec(database)
                    .await
                    .unwrap();
            };
            set_state(bob.id, MembershipState::Pending).await;
            expect(2, 1, "bob pending").await;
            set_state(bob.id, MembershipState::Accepted).await;
            expect(3, 2, "bob approved").await;
            // A role change (an update of other columns) moves nothing.
            let found_bob = find(database, group.id, bob.id).await.unwrap().unwrap();
            let mut promoted: membership::ActiveModel = found_bob.into();
            promoted.role = Set(MembershipRole::Moderator);
            promoted.update(database).await.unwrap();
            expect(3, 2, "bob promoted").await;

            assert!(leave(database, group.id, zoe.id).await.unwrap());
            expect(2, 2, "zoe left").await;
            // A pending request that ends moves nothing.
            set_state(bob.id, MembershipState::Pending).await;
            assert!(leave(database, group.id, bob.id).await.unwrap());
            expect(1, 1, "bob's request withdrawn").await;

            // A local person joining a remote group: counted once the group accepts.
            let remote_group = {
                let mut row: actor::ActiveModel =
                    person(database, "elsewhere_group", false).await.into();
                row.kind = Set(ActorKind::Group);
                row.update(database).await.unwrap()
            };
            request_remote(
                database,
                &remote_group,
                &bob,
                "https://kindred.example/follows/1",
            )
            .await
            .unwrap();
            assert_eq!(
                local_member_count(database, remote_group.id).await.unwrap(),
                0
            );
            accept_remote(
                database,
                remote_group.id,
                None,
                "https://kindred.example/follows/1",
            )
            .await
            .unwrap();
            let (counters, counted) = counters_and_counts(database, remote_group.id).await;
            assert_eq!(
                (counters, counted),
                ((1, 1), (1, 1)),
                "accepted by the remote group"
            );
            // Accepted twice (a re-sent Accept): still one.
            accept_remote(database, remote_group.id, Some(bob.id), "unknown")
                .await
                .unwrap();
            assert_eq!(member_count(database, remote_group.id).await.unwrap(), 1);
            assert_eq!(member_count(database, i64::MAX).await.unwrap(), 0);
        })
        .await;
    }

    #[tokio::test]
    async fn member_inboxes_are_read_again_exactly_when_they_may_have_changed() {
        testing::for_each_backend(async |backend| {
            let app = testing::TestApp::on(backend)
                .with_user("ann")
                .with_group("repair", "ann")
                .start()
                .await;
            let context = app.context();
            let database = &app.database.connection;
            let group_id = app.group("repair").id;
            // The group's row as an inbound post reads it, then its member inboxes.
            let inboxes = async || {
                let group = actor::Entity::find_by_id(group_id)
                    .one(database)
                    .await
                    .unwrap()
                    .unwrap();
                let inboxes = member_inboxes_of_group(&context, &group).await.unwrap();
                assert_eq!(
                    *inboxes,
                    member_inboxes(database, group_id).await.unwrap(),
                    "kept inboxes differ from the memberships"
                );
                (group.membership_version, inboxes)
            };
            let (version, before) = inboxes().await;
            let zoe = person(database, "zoe", false).await;
            let group = app.group("repair").clone();
            join(
                database,
                &group,
                &zoe,
                Some("https://elsewhere.example/f/1"),
            )
            .await
            .unwrap();
            let (joined_version, joined) = inboxes().await;
            assert!(joined_version > version, "a join moves the version");
            assert!(joined.contains("https://elsewhere.example/users/zoe/inbox"));
            assert_eq!(joined.len(), before.len() + 1);

            // Changes that leave the inboxes alone keep the version: the kept set is used.
            let mut renamed: actor::ActiveModel = zoe.clone().into();
            renamed.display_name = Set(Some("Zoe".to_string()));
            let zoe = renamed.update(database).await.unwrap();
            let (same_version, same) = inboxes().await;
            assert_eq!(same_version, joined_version);
            assert!(
                std::sync::Arc::ptr_eq(&same, &joined),
                "read again needlessly"
            );

            // A member's server gains a shared inbox: posts go there from now on.
            let mut moved: actor::ActiveModel = zoe.clone().into();
            moved.shared_inbox_url = Set(Some("https://elsewhere.example/inbox".to_string()));
            moved.update(database).await.unwrap();
            let (moved_version, moved) = inboxes().await;
            assert!(moved_version > joined_version, "an inbox change moves it");
            assert!(moved.contains("https://elsewhere.example/inbox"));
            assert!(!moved.contains("https://elsewhere.example/users/zoe/inbox"));

            assert!(leave(database, group_id, zoe.id).await.unwrap());
            let (left_version, left) = inboxes().await;
            assert!(left_version > moved_version, "leaving moves it");
            assert_eq!(*left, *before);
        })
        .await;
    }
}
