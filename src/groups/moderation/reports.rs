//! Reports of posts, filed by members or forwarded by other servers, and their closing.

use super::*;

/// The longest reason a report keeps.
pub const MAX_REPORT_LENGTH: usize = 2000;

/// Files a report about `target` (in `group`) by `reporter`, and notifies the group's local
/// moderators. A repeated `flag_ap_id` files nothing new.
pub async fn file_report(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: &post::Model,
    reporter: &actor::Model,
    reason: Option<&str>,
    flag_ap_id: Option<&str>,
) -> Result<report::Model> {
    if target.group_id != group.id {
        return Err(Error::not_found("post in this group"));
    }
    if let Some(flag_ap_id) = flag_ap_id
        && let Some(existing) = report::Entity::find()
            .filter(report::Column::FlagApId.eq(flag_ap_id))
            .one(database)
            .await?
    {
        return Ok(existing);
    }
    let reason = reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(MAX_REPORT_LENGTH).collect::<String>());
    let now = Utc::now();
    let filed = report::ActiveModel {
        group_id: Set(group.id),
        post_id: Set(target.id),
        reporter_id: Set(reporter.id),
        reason: Set(reason),
        flag_ap_id: Set(flag_ap_id.map(str::to_string)),
        state: Set(ReportState::Open),
        resolved_by: Set(None),
        created_at: Set(now),
        resolved_at: Set(None),
        ..Default::default()
    }
    .insert(database)
    .await?;
    // Every local moderator hears of it.
    let local_moderators: Vec<i64> = moderators(database, group.id)
        .await?
        .into_iter()
        .filter(|(_, person)| person.local)
        .map(|(_, person)| person.id)
        .collect();
    let accounts: Vec<i64> = kindred_entities::user::Entity::find()
        .select_only()
        .column(kindred_entities::user::Column::Id)
        .filter(kindred_entities::user::Column::ActorId.is_in(local_moderators))
        .into_tuple()
        .all(database)
        .await?;
    if !accounts.is_empty() {
        use kindred_entities::notification::{self, NotificationKind};
        notification::Entity::insert_many(accounts.into_iter().map(|user_id| {
            notification::ActiveModel {
                user_id: Set(user_id),
                kind: Set(NotificationKind::Report),
                post_id: Set(target.id),
                // The notification names who reported, not the post's author.
                actor_id: Set(Some(reporter.id)),
                created_at: Set(now),
                read_at: Set(None),
                ..Default::default()
            }
        }))
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                notification::Column::UserId,
                notification::Column::PostId,
                notification::Column::Kind,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(database)
        .await?;
    }
    Ok(filed)
}

/// A group's reports (only the open ones with `open_only`), newest first: at most `limit`,
/// with ids below `below` when given (a later page, `crate::paging`).
pub async fn reports(
    database: &impl ConnectionTrait,
    group_id: i64,
    open_only: bool,
    below: Option<i64>,
    limit: u64,
) -> Result<Vec<report::Model>> {
    let mut query = report::Entity::find().filter(report::Column::GroupId.eq(group_id));
    if open_only {
        query = query.filter(report::Column::State.eq(ReportState::Open));
    }
    if let Some(below) = below {
        query = query.filter(report::Column::Id.lt(below));
    }
    Ok(query
        .order_by_desc(report::Column::Id)
        .limit(limit)
        .all(database)
        .await?)
}

/// Closes a report as resolved or dismissed.
pub async fn close_report(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    report_id: i64,
    resolved: bool,
    by: &actor::Model,
) -> Result<report::Model> {
    let found = report::Entity::find_by_id(report_id)
        .filter(report::Column::GroupId.eq(group.id))
        .one(database)
        .await?
        .ok_or_else(|| Error::not_found("report"))?;
    let post_id = found.post_id;
    let mut update: report::ActiveModel = found.into();
    update.state = Set(if resolved {
        ReportState::Resolved
    } else {
        ReportState::Dismissed
    });
    update.resolved_by = Set(Some(by.id));
    update.resolved_at = Set(Some(Utc::now()));
    let closed = update.update(database).await?;
    let action = if resolved {
        Action::ResolveReport
    } else {
        Action::DismissReport
    };
    record(database, group, by, action, None, Some(post_id), None).await?;
    Ok(closed)
}
