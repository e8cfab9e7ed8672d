//! `Flag`: a report about a post. A local person reports a post (the group's moderators here
//! hear of it, remote moderators get a Flag from the group, a remote group gets the Flag in its
//! inbox, and the author's server too when asked); a remote `Flag` about a post in a local
//! group becomes a report for its moderators.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{new_activity_id, sender},
        context::object_context,
        delivery::{self, OutgoingActivity, wake_delivery_worker},
        inbox::{BodyDigest, id_of, record_received},
        instances::host_of,
    },
    groups::{moderation, posts},
    instance,
};
use kindred_entities::{actor, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Flag {
    pub id: Url,
    pub actor: Url,
    /// A post id, or (Mastodon) a list of the account and its posts.
    pub object: Value,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
}

/// A remote report: the first post it names that a local group holds gets a report.
pub async fn receive(context: &Context, flag: Flag, digest: &BodyDigest) -> Result<()> {
    let named: Vec<String> = match &flag.object {
        Value::Array(items) => items.iter().filter_map(id_of).collect(),
        other => id_of(other).into_iter().collect(),
    };
    let mut target = None;
    for id in &named {
        if let Some(found) = posts::find_by_ap_id(&context.db, id).await? {
            target = Some(found);
            break;
        }
    }
    let Some(target) = target else {
        return Err(Error::not_found("reported post"));
    };
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(target.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    if !group.local {
        // A remote group tells its moderators; those who are here hear of it.
        return notify_local_moderators_of_remote_group(context, &flag, &group, &target, digest)
            .await;
    }
    let reporter = sender(context, &flag.actor).await?;
    let reason = flag.content.as_deref().or(flag.summary.as_deref());
    let remote_moderators = remote_moderator_inboxes(&context.db, &group).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &flag.id, &flag.actor, "Flag", digest).await? {
        return Ok(());
    }
    moderation::file_report(
        &transaction,
        &group,
        &target,
        &reporter,
        reason,
        Some(flag.id.as_str()),
    )
    .await?;
    forward_to_moderators(
        &transaction,
        context,
        &group,
        &target,
        reason,
        remote_moderators,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// A report forwarded by a remote group (the Flag's actor is the group): every local person the
/// group's moderators collection lists gets a report notification.
async fn notify_local_moderators_of_remote_group(
    context: &Context,
    flag: &Flag,
    group: &actor::Model,
    target: &post::Model,
    digest: &BodyDigest,
) -> Result<()> {
    use kindred_entities::{
        membership,
        notification::{self, NotificationKind},
        user,
    };
    use sea_orm::{ActiveValue::Set, QuerySelect};
    if flag.actor.as_str() != group.ap_id {
        return Ok(());
    }
    let local_members: Vec<actor::Model> = actor::Entity::find()
        .filter(actor::Column::Local.eq(true))
        .filter(
            actor::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(membership::Column::MemberId)
                    .from(membership::Entity)
                    .and_where(membership::Column::GroupId.eq(group.id))
                    .to_owned(),
            ),
        )
        .all(&context.db)
        .await?;
    let mut moderators = Vec::new();
    for person in local_members {
        if crate::federation::collections::is_remote_moderator(
            context,
            group,
            &Url::parse(&person.ap_id)?,
        )
        .await?
        {
            moderators.push(person.id);
        }
    }
    let accounts: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::ActorId.is_in(moderators))
        .into_tuple()
        .all(&context.db)
        .await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &flag.id, &flag.actor, "Flag", digest).await? {
        return Ok(());
    }
    for user_id in accounts {
        notification::Entity::insert(notification::ActiveModel {
            user_id: Set(user_id),
            kind: Set(NotificationKind::Report),
            post_id: Set(target.id),
            // The group forwarded the report: it is who the notification names.
            actor_id: Set(Some(group.id)),
            created_at: Set(chrono::Utc::now()),
            read_at: Set(None),
            ..Default::default()
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                notification::Column::UserId,
                notification::Column::PostId,
                notification::Column::Kind,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Publishes a local person's report of `target` (filed already in `transaction` for a local
/// group, see `actions::moderation::report_post`): to a remote group, a `Flag` in Lemmy's
/// form; for a local group, a `Flag` to its moderators on other servers. With
/// `tell_author_server`, the author's server (when it is neither this one nor the group's)
/// gets a `Flag` from this instance, as Mastodon forwards.
#[allow(clippy::too_many_arguments)]
pub async fn publish_report(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    reporter: &actor::Model,
    group: &actor::Model,
    author: &actor::Model,
    target: &post::Model,
    reason: Option<&str>,
    tell_author_server: bool,
) -> Result<()> {
    if group.local {
        let remote_moderators = remote_moderator_inboxes(transaction, group).await?;
        forward_to_moderators(
            transaction,
            context,
            group,
            target,
            reason,
            remote_moderators,
        )
        .await?;
    } else {
        // Lemmy's form: the reporter flags the post to the group, whose moderators decide.
        let id = new_activity_id(&context.config);
        let flag = json!({
            "@context": object_context(),
            "id": id,
            "type": "Flag",
            "actor": reporter.ap_id,
            "to": [group.ap_id],
            "audience": group.ap_id,
            "object": target.ap_id,
            "content": reason,
            "summary": reason,
        });
        enqueue_flag(
            transaction,
            context,
            reporter,
            &id,
            &flag,
            &target.ap_id,
            vec![Url::parse(&group.inbox_url)?],
        )
        .await?;
    }
    if !tell_author_server || author.local {
        return Ok(());
    }
    let Some(instance_actor) = actor::Entity::find()
        .filter(
            actor::Column::ApId.eq(context
                .config
                .url_for(instance::INSTANCE_ACTOR_PATH)
                .as_str()),
        )
        .one(transaction)
        .await?
    else {
        return Ok(());
    };
    let author_inbox = Url::parse(
        author
            .shared_inbox_url
            .as_deref()
            .unwrap_or(&author.inbox_url),
    )?;
    let group_host = host_of(&Url::parse(&group.ap_id)?)?;
    if host_of(&author_inbox)? != group_host || group.local {
        let id = new_activity_id(&context.config);
        let flag = json!({
            "@context": object_context(),
            "id": id,
            "type": "Flag",
            "actor": instance_actor.ap_id,
            "object": [author.ap_id, target.ap_id],
            "content": reason,
        });
        enqueue_flag(
            transaction,
            context,
            &instance_actor,
            &id,
            &flag,
            &target.ap_id,
            vec![author_inbox],
        )
        .await?;
    }
    Ok(())
}

/// The inboxes of a local group's moderators on other servers.
async fn remote_moderator_inboxes(
    database: &impl sea_orm::ConnectionTrait,
    group: &actor::Model,
) -> Result<Vec<Url>> {
    Ok(moderation::moderators(database, group.id)
        .await?
        .into_iter()
        .filter(|(_, person)| !person.local)
        .filter_map(|(_, person)| {
            Url::parse(
                person
                    .shared_inbox_url
                    .as_deref()
                    .unwrap_or(&person.inbox_url),
            )
            .ok()
        })
        .collect())
}

/// The group tells its moderators elsewhere: a Flag from the group.
async fn forward_to_moderators(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    target: &post::Model,
    reason: Option<&str>,
    inboxes: Vec<Url>,
) -> Result<()> {
    if inboxes.is_empty() {
        return Ok(());
    }
    let id = new_activity_id(&context.config);
    let flag = json!({
        "@context": object_context(),
        "id": id,
        "type": "Flag",
        "actor": group.ap_id,
        "audience": group.ap_id,
        "object": target.ap_id,
        "content": reason,
        "summary": reason,
    });
    enqueue_flag(
        transaction,
        context,
        group,
        &id,
        &flag,
        &target.ap_id,
        inboxes,
    )
    .await
}

async fn enqueue_flag(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    sender: &actor::Model,
    id: &Url,
    flag: &Value,
    post_ap_id: &str,
    inboxes: Vec<Url>,
) -> Result<()> {
    delivery::enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender,
            ap_id: id,
            kind: "Flag",
            object_ap_id: Some(post_ap_id),
            json: flag,
            // Reports are private: never listed in an outbox.
            in_outbox: false,
            ordering_key: None,
        }],
        inboxes,
    )
    .await
}
