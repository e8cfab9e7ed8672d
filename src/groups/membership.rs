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
/// only while someone here follows it.
pub async fn local_member_count(database: &impl ConnectionTrait, group_id: i64) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    let local_people = Query::select()
        .column(actor::Column::Id)
        .from(actor::Entity)
        .and_where(actor::Column::Local.eq(true))
        .to_owned();
    Ok(membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .filter(membership::Column::MemberId.in_subquery(local_people))
        .count(database)
        .await?)
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

/// How many accepted members each of `group_ids` has, in one grouped query (a directory
/// page); a group with none is absent.
pub async fn member_counts(
    database: &impl ConnectionTrait,
    group_ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, u64>> {
    use sea_orm::QuerySelect;
    if group_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let counted: Vec<(i64, i64)> = membership::Entity::find()
        .select_only()
        .column(membership::Column::GroupId)
        .column_as(
            sea_orm::sea_query::ExprTrait::count(sea_orm::sea_query::Expr::col(
                membership::Column::Id,
            )),
            "members",
        )
        .filter(membership::Column::GroupId.is_in(group_ids))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .group_by(membership::Column::GroupId)
        .into_tuple()
        .all(database)
        .await?;
    Ok(counted
        .into_iter()
        .map(|(group_id, members)| (group_id, u64::try_from(members).unwrap_or(0)))
        .collect())
}

/// How many accepted members a group has.
pub async fn member_count(database: &impl ConnectionTrait, group_id: i64) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .count(database)
        .await?)
}
