//! Bans of a person or a whole server from a group, and a member's standing.

use super::*;

/// Who or what a ban is for.
pub enum BanTarget<'a> {
    Person(&'a actor::Model),
    /// Everyone on a server (host, with its port if it has one).
    Server(&'a str),
}

/// What a moderator decides when banning.
#[derive(Debug, Clone, Copy)]
pub struct Ban<'a> {
    pub reason: Option<&'a str>,
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// Also remove everything the person (or server) posted in the group.
    pub remove_content: bool,
}

/// Bans a person or a server from a local group: their membership ends, their activities are
/// refused until the ban ends, and with `remove_content` their posts there are removed. A
/// group's moderators cannot be banned.
pub async fn ban(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: BanTarget<'_>,
    decision: Ban<'_>,
    by: &actor::Model,
) -> Result<group_ban::Model> {
    let now = Utc::now();
    if decision.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid("a ban ends in the future"));
    }
    let reason = decision
        .reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(MAX_REASON_LENGTH).collect::<String>());
    let (actor_id, host, banned_people) = match target {
        BanTarget::Person(person) => {
            if is_moderator(database, group.id, person.id).await? {
                return Err(Error::invalid(
                    "a moderator cannot be banned; dismiss them first",
                ));
            }
            (Some(person.id), None, vec![person.id])
        }
        BanTarget::Server(host) => {
            let host = crate::hosts::parse_host(host)
                .map_err(|_| Error::invalid("give a host name, like spam.example"))?;
            let people = people_on_server(database, &host).await?;
            (None, Some(host), people)
        }
    };
    lift_bans(database, group.id, actor_id, host.as_deref()).await?;
    let stored = group_ban::ActiveModel {
        group_id: Set(group.id),
        actor_id: Set(actor_id),
        host: Set(host),
        banned_by: Set(by.id),
        reason: Set(reason.clone()),
        expires_at: Set(decision.expires_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(database)
    .await?;
    membership::Entity::delete_many()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.is_in(banned_people.clone()))
        .filter(membership::Column::Role.ne(MembershipRole::Owner))
        .exec(database)
        .await?;
    if decision.remove_content {
        post::Entity::update_many()
            .col_expr(
                post::Column::RemovedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(post::Column::GroupId.eq(group.id))
            .filter(post::Column::AuthorId.is_in(banned_people))
            .filter(post::Column::RemovedAt.is_null())
            .exec(database)
            .await?;
    }
    record(
        database,
        group,
        by,
        Action::Ban,
        actor_id,
        None,
        reason.as_deref(),
    )
    .await?;
    Ok(stored)
}

/// Lifts a ban; returns whether there was one.
pub async fn unban(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: BanTarget<'_>,
    by: &actor::Model,
) -> Result<bool> {
    let (actor_id, host) = match target {
        BanTarget::Person(person) => (Some(person.id), None),
        BanTarget::Server(host) => (
            None,
            Some(
                crate::hosts::parse_host(host)
                    .map_err(|_| Error::invalid("give a host name, like spam.example"))?,
            ),
        ),
    };
    let lifted = lift_bans(database, group.id, actor_id, host.as_deref()).await?;
    if lifted {
        record(
            database,
            group,
            by,
            Action::Unban,
            actor_id,
            None,
            host.as_deref(),
        )
        .await?;
    }
    Ok(lifted)
}

pub(super) async fn lift_bans(
    database: &impl ConnectionTrait,
    group_id: i64,
    actor_id: Option<i64>,
    host: Option<&str>,
) -> Result<bool> {
    let mut query =
        group_ban::Entity::delete_many().filter(group_ban::Column::GroupId.eq(group_id));
    query = match (actor_id, host) {
        (Some(actor_id), _) => query.filter(group_ban::Column::ActorId.eq(actor_id)),
        (None, Some(host)) => query.filter(group_ban::Column::Host.eq(host)),
        (None, None) => return Ok(false),
    };
    Ok(query.exec(database).await?.rows_affected > 0)
}

/// The bans that apply to `person` in the group now (of them, or of their server).
pub(super) fn active_bans_of(
    group_id: i64,
    person: &actor::Model,
) -> sea_orm::Select<group_ban::Entity> {
    let mut target = sea_orm::Condition::any().add(group_ban::Column::ActorId.eq(person.id));
    if !person.local {
        target = target
            .add(group_ban::Column::Host.eq(crate::groups::directory::host_of_id(&person.ap_id)));
    }
    group_ban::Entity::find()
        .filter(group_ban::Column::GroupId.eq(group_id))
        .filter(target)
        .filter(
            sea_orm::Condition::any()
                .add(group_ban::Column::ExpiresAt.is_null())
                .add(group_ban::Column::ExpiresAt.gt(Utc::now())),
        )
}

/// The ban that applies to `person` in the group now (of them, or of their server), if any.
pub async fn active_ban(
    database: &impl ConnectionTrait,
    group_id: i64,
    person: &actor::Model,
) -> Result<Option<group_ban::Model>> {
    Ok(crate::database::unique_row(active_bans_of(group_id, person), database).await?)
}

/// Where someone stands in a group, read in one query: an accepted member, and banned now.
pub struct Standing {
    pub member: bool,
    pub banned: bool,
}

/// `person`'s standing in the group (one statement: posting checks run for every activity
/// an inbox takes).
pub async fn standing(
    database: &impl ConnectionTrait,
    group_id: i64,
    person: &actor::Model,
) -> Result<Standing> {
    use sea_orm::{
        QueryTrait,
        sea_query::{Expr, Query},
    };
    let membership = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::MemberId.eq(person.id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .into_query();
    let bans = active_bans_of(group_id, person)
        .select_only()
        .column(group_ban::Column::Id)
        .into_query();
    let query = Query::select()
        .expr_as(Expr::exists(membership), "member")
        .expr_as(Expr::exists(bans), "banned")
        .to_owned();
    let row = database
        .query_one_raw(database.get_database_backend().build(&query))
        .await?
        .ok_or_else(|| Error::internal("a SELECT without FROM returned no row"))?;
    Ok(Standing {
        member: row.try_get("", "member")?,
        banned: row.try_get("", "banned")?,
    })
}

/// Refuses (403) a person banned from the group.
pub async fn require_not_banned(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    person: &actor::Model,
) -> Result<()> {
    match active_ban(database, group.id, person).await? {
        None => Ok(()),
        Some(ban) => Err(Error::Forbidden(match ban.expires_at {
            Some(until) => format!(
                "you are banned from this group until {}",
                until.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "you are banned from this group".to_string(),
        })),
    }
}

/// The group's bans in force, newest first.
pub async fn bans(database: &impl ConnectionTrait, group_id: i64) -> Result<Vec<group_ban::Model>> {
    Ok(group_ban::Entity::find()
        .filter(group_ban::Column::GroupId.eq(group_id))
        .filter(
            sea_orm::Condition::any()
                .add(group_ban::Column::ExpiresAt.is_null())
                .add(group_ban::Column::ExpiresAt.gt(Utc::now())),
        )
        .order_by_desc(group_ban::Column::Id)
        .all(database)
        .await?)
}

/// Actors whose id is on `host`.
pub(super) async fn people_on_server(
    database: &impl ConnectionTrait,
    host: &str,
) -> Result<Vec<i64>> {
    use kindred_entities::instance;
    let ids: Vec<i64> = actor::Entity::find()
        .select_only()
        .column(actor::Column::Id)
        .filter(
            actor::Column::InstanceId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(instance::Column::Id)
                    .from(instance::Entity)
                    .and_where(instance::Column::Host.eq(host))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(database)
        .await?;
    Ok(ids)
}
