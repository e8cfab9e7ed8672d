//! `Delete`: an author deletes their post (the row stays as a tombstone and the group relays
//! the Delete), or an account deletes itself (its memberships end).

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{announce, local_activity, publish_in_group, sender},
        delivery::wake_delivery_worker,
        inbox::{BodyDigest, id_of, record_received},
    },
    groups::posts,
};
use chrono::Utc;
use kindred_entities::{actor, membership, post};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Delete {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

pub async fn receive(
    context: &Context,
    delete: Delete,
    json: Value,
    digest: &BodyDigest,
) -> Result<()> {
    let object_id =
        id_of(&delete.object).ok_or_else(|| Error::bad_request("the Delete names no object"))?;
    if object_id == delete.actor.as_str() {
        return delete_account(context, &delete, digest).await;
    }
    let Some(target) = posts::find_by_ap_id(&context.db, &object_id).await? else {
        // Nothing of that id here: there is nothing to delete.
        let transaction = context.db.begin().await?;
        record_received(&transaction, &delete.id, &delete.actor, "Delete", digest).await?;
        transaction.commit().await?;
        return Ok(());
    };
    let author = sender(context, &delete.actor).await?;
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(target.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    if target.author_id != author.id {
        // Lemmy's removal: a Delete by one of the group's moderators.
        if group.local
            && crate::groups::moderation::is_moderator(&context.db, group.id, author.id).await?
        {
            return receive_removal(context, &delete, &json, &group, &author, target, digest).await;
        }
        return Err(Error::Forbidden("only its author may delete a post".into()));
    }

    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &delete.id, &delete.actor, "Delete", digest).await? {
        return Ok(());
    }
    if target.deleted_at.is_none() {
        let post_ap_id = target.ap_id.clone();
        posts::delete_post(&transaction, target).await?;
        if group.local {
            announce::relay(
                &transaction,
                context,
                &group,
                &json,
                &post_ap_id,
                announce::Boost::No,
            )
            .await?;
        }
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// A moderator of a local group (on another server) removed a post with a `Delete`: the post is
/// removed here (restorable) and the group relays the Delete to its members.
async fn receive_removal(
    context: &Context,
    delete: &Delete,
    json: &Value,
    group: &actor::Model,
    moderator: &actor::Model,
    target: post::Model,
    digest: &BodyDigest,
) -> Result<()> {
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &delete.id, &delete.actor, "Delete", digest).await? {
        return Ok(());
    }
    let reason = json.get("summary").and_then(Value::as_str);
    let post_ap_id = target.ap_id.clone();
    crate::groups::moderation::set_removed(&transaction, group, target, true, moderator, reason)
        .await?;
    announce::relay(
        &transaction,
        context,
        group,
        json,
        &post_ap_id,
        announce::Boost::No,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// A post deleted in a remote group a local person follows, as the group announced it. Only
/// its author's Delete counts (moderators' removals come with moderation).
pub async fn receive_announced(
    context: &Context,
    group: &actor::Model,
    delete: Delete,
    digest: &BodyDigest,
) -> Result<()> {
    let Some(object_id) = id_of(&delete.object) else {
        return Err(Error::bad_request("the Delete names no object"));
    };
    let Some(target) = posts::find_by_ap_id(&context.db, &object_id).await? else {
        return Ok(());
    };
    if target.group_id != group.id || target.deleted_at.is_some() {
        return Ok(());
    }
    let author =
        crate::database::unique_row(actor::Entity::find_by_id(target.author_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("author"))?;
    let by_author = author.ap_id == delete.actor.as_str();
    if !by_author
        && !crate::federation::collections::is_remote_moderator(context, group, &delete.actor)
            .await?
    {
        tracing::info!(post = %target.ap_id, "an announced Delete by someone who neither wrote the post nor moderates the group was skipped");
        return Ok(());
    }
    // Looked up before the transaction: SQLite has one connection, which it holds.
    let moderator = if by_author {
        None
    } else {
        Some(sender(context, &delete.actor).await?)
    };
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &delete.id, &delete.actor, "Delete", digest).await? {
        return Ok(());
    }
    match &moderator {
        None => {
            posts::delete_post(&transaction, target).await?;
        }
        Some(moderator) => {
            // A moderator's removal: hidden here too, and restorable.
            crate::groups::moderation::set_removed(
                &transaction,
                group,
                target,
                true,
                moderator,
                None,
            )
            .await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

/// Publishes a local person's deletion of their post `post_ap_id`, deleted already in
/// `transaction` (see `actions::posts::delete_post`): the group relays the `Delete`.
pub async fn publish_delete(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    author: &actor::Model,
    group: &actor::Model,
    post_ap_id: &str,
) -> Result<()> {
    let (id, delete) = local_activity(
        &context.config,
        "Delete",
        author,
        group,
        Value::String(post_ap_id.to_string()),
    );
    crate::federation::activities::publish_authors_change(
        transaction,
        context,
        author,
        group,
        (&id, &delete),
        post_ap_id,
    )
    .await
}

/// Publishes a moderator's removal of the post `post_ap_id` (removed already in `transaction`,
/// see `actions::moderation::remove_post`): the group relays `Delete{actor: moderator, object:
/// post, summary: reason}`, as Lemmy federates a removal.
pub async fn publish_removal(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    post_ap_id: &str,
    reason: Option<&str>,
) -> Result<()> {
    let (id, mut delete) = local_activity(
        &context.config,
        "Delete",
        moderator,
        group,
        Value::String(post_ap_id.to_string()),
    );
    if let Some(reason) = reason.map(str::trim).filter(|reason| !reason.is_empty()) {
        delete["summary"] = Value::String(reason.to_string());
    }
    publish_in_group(
        transaction,
        context,
        moderator,
        group,
        (&id, &delete),
        post_ap_id,
        announce::Boost::No,
    )
    .await
}

/// Publishes the removal of a local group or person (see
/// `actions::accounts::remove_account_or_group`): the actor sends `Delete{object: itself}` to
/// the servers that know it through its groups, as Mastodon and Lemmy announce a deleted
/// account or community. Call it before the memberships it reads are ended.
pub async fn publish_actor_deletion(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    target: &actor::Model,
) -> Result<()> {
    // Who knows it: a group's member servers; for a person, the groups they belong to (the
    // remote ones' inboxes, the local ones' member servers).
    let mut inboxes = std::collections::BTreeSet::new();
    if target.kind == actor::ActorKind::Group {
        inboxes.extend(crate::groups::membership::member_inboxes(transaction, target.id).await?);
    } else {
        let groups = membership::Entity::find()
            .filter(membership::Column::MemberId.eq(target.id))
            .all(transaction)
            .await?;
        for joined in groups {
            if let Some(group) =
                crate::database::unique_row(actor::Entity::find_by_id(joined.group_id), transaction)
                    .await?
            {
                if group.local {
                    inboxes.extend(
                        crate::groups::membership::member_inboxes(transaction, group.id).await?,
                    );
                } else {
                    inboxes.insert(group.inbox_url.clone());
                }
            }
        }
    }
    let id = crate::federation::activities::new_activity_id(&context.config);
    let delete = serde_json::json!({
        "@context": crate::federation::context::object_context(),
        "id": id,
        "type": "Delete",
        "actor": target.ap_id,
        "object": target.ap_id,
        "to": [crate::federation::objects::post::PUBLIC],
    });
    crate::federation::delivery::enqueue(
        transaction,
        context,
        &[crate::federation::delivery::OutgoingActivity {
            sender: target,
            ap_id: &id,
            kind: "Delete",
            object_ap_id: Some(&target.ap_id),
            json: &delete,
            in_outbox: true,
            ordering_key: Some(&target.ap_id),
        }],
        inboxes.iter().filter_map(|inbox| Url::parse(inbox).ok()),
    )
    .await?;
    Ok(())
}

/// The account deleted itself: mark it deleted and end its memberships. Its posts stay until
/// moderators remove them, as on Lemmy.
async fn delete_account(context: &Context, delete: &Delete, digest: &BodyDigest) -> Result<()> {
    let Some(account) = actor::Entity::find()
        .filter(actor::Column::ApId.eq(delete.actor.as_str()))
        .filter(actor::Column::Local.eq(false))
        .one(&context.db)
        .await?
    else {
        return Ok(());
    };
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &delete.id, &delete.actor, "Delete", digest).await? {
        return Ok(());
    }
    membership::Entity::delete_many()
        .filter(membership::Column::MemberId.eq(account.id))
        .exec(&transaction)
        .await?;
    let mut update: actor::ActiveModel = account.into();
    update.deleted_at = Set(Some(Utc::now()));
    update.update(&transaction).await?;
    transaction.commit().await?;
    Ok(())
}
