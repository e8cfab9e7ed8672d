//! `Block` with a group as `target`: a moderator bans someone from a local group (Lemmy's
//! form, with `summary` as the reason, `removeData` and `expires`), announced by the group and
//! sent to the banned person's server; `Undo{Block}` lifts it. A ban of a whole server stays
//! local: there is no activity for it. When a remote group bans a person from here, their
//! membership ends here too, so their next post is refused before it leaves.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{
        activities::{announce, local_activity, publish_in_group_also_to, require_moderator},
        delivery::wake_delivery_worker,
    },
    groups::moderation::{self, Ban, BanTarget},
};
use kindred_entities::{actor, membership};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};
use url::Url;

/// Bans `target` from the local `group`.
pub async fn send_ban(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    target: BanTarget<'_>,
    decision: Ban<'_>,
) -> Result<()> {
    moderation::check_reason_length(decision.reason, moderation::MAX_REASON_LENGTH)?;
    require_moderator(context, group, moderator).await?;
    let person = match &target {
        BanTarget::Person(person) => Some((*person).clone()),
        BanTarget::Server(_) => None,
    };
    let reason = decision.reason.map(str::to_string);
    let expires_at = decision.expires_at;
    let remove_content = decision.remove_content;
    let transaction = context.db.begin().await?;
    moderation::ban(&transaction, group, target, decision, moderator).await?;
    if let Some(person) = &person {
        let (id, mut block) = local_activity(
            &context.config,
            "Block",
            moderator,
            group,
            Value::String(person.ap_id.clone()),
        );
        block["target"] = json!(group.ap_id);
        block["removeData"] = json!(remove_content);
        if let Some(reason) = reason
            .as_deref()
            .map(str::trim)
            .filter(|reason| !reason.is_empty())
        {
            block["summary"] = json!(reason);
        }
        if let Some(expires_at) = expires_at {
            block["expires"] = json!(expires_at);
        }
        let also_to = banned_inbox(person);
        publish_in_group_also_to(
            &transaction,
            context,
            moderator,
            group,
            (&id, &block),
            &group.ap_id,
            announce::Boost::No,
            &also_to,
        )
        .await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// Lifts a ban.
pub async fn send_unban(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    target: BanTarget<'_>,
) -> Result<()> {
    require_moderator(context, group, moderator).await?;
    let person = match &target {
        BanTarget::Person(person) => Some((*person).clone()),
        BanTarget::Server(_) => None,
    };
    // Built before the transaction: SQLite has one connection, which the transaction holds.
    let undo = match &person {
        Some(person) => {
            let block = crate::federation::activities::undone_activity(
                context,
                "Block",
                &person.ap_id,
                json!({
                    "type": "Block",
                    "actor": moderator.ap_id,
                    "object": person.ap_id,
                    "target": group.ap_id,
                }),
            )
            .await?;
            Some(local_activity(
                &context.config,
                "Undo",
                moderator,
                group,
                block,
            ))
        }
        None => None,
    };
    let transaction = context.db.begin().await?;
    if !moderation::unban(&transaction, group, target, moderator).await? {
        return Err(Error::not_found("ban"));
    }
    if let (Some(person), Some((id, undo))) = (&person, &undo) {
        let also_to = banned_inbox(person);
        publish_in_group_also_to(
            &transaction,
            context,
            moderator,
            group,
            (id, undo),
            &group.ap_id,
            announce::Boost::No,
            &also_to,
        )
        .await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// Lifts the ban with this id (as the group's list of bans shows it).
pub async fn send_unban_by_id(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    ban_id: i64,
) -> Result<()> {
    require_moderator(context, group, moderator).await?;
    let found = moderation::bans(&context.db, group.id)
        .await?
        .into_iter()
        .find(|ban| ban.id == ban_id)
        .ok_or_else(|| Error::not_found("ban"))?;
    match (found.actor_id, found.host) {
        (Some(actor_id), _) => {
            let person =
                crate::database::unique_row(actor::Entity::find_by_id(actor_id), &context.db)
                    .await?
                    .ok_or_else(|| Error::not_found("person"))?;
            send_unban(context, moderator, group, BanTarget::Person(&person)).await
        }
        (None, Some(host)) => send_unban(context, moderator, group, BanTarget::Server(&host)).await,
        (None, None) => Err(Error::not_found("ban")),
    }
}

/// The banned person's own server hears of it too (they are no longer a member).
fn banned_inbox(person: &actor::Model) -> Vec<Url> {
    if person.local {
        return Vec::new();
    }
    Url::parse(
        person
            .shared_inbox_url
            .as_deref()
            .unwrap_or(&person.inbox_url),
    )
    .into_iter()
    .collect()
}

#[derive(Debug, serde::Deserialize)]
pub struct Block {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
    #[serde(default)]
    pub target: Option<Value>,
    /// Lemmy's flag: also remove what the person posted in the group.
    #[serde(default, rename = "removeData")]
    pub remove_data: Option<bool>,
}

/// A remote group's moderator banned a local person (sent to them, or announced by the group):
/// once the group's moderators collection confirms the moderator, the person's membership of
/// that group ends here. A Block of anything else (a user blocking a user) changes nothing.
pub async fn receive(context: &Context, block: Block) -> Result<()> {
    use crate::federation::inbox::{id_of, record_received};
    let (Some(person_id), Some(group_id)) =
        (id_of(&block.object), block.target.as_ref().and_then(id_of))
    else {
        return Ok(());
    };
    let Some(person) = actor::Entity::find()
        .filter(actor::Column::ApId.eq(person_id))
        .filter(actor::Column::Local.eq(true))
        .one(&context.db)
        .await?
    else {
        return Ok(());
    };
    let Some(group) = actor::Entity::find()
        .filter(actor::Column::ApId.eq(group_id))
        .filter(actor::Column::Local.eq(false))
        .filter(actor::Column::Kind.eq(actor::ActorKind::Group))
        .one(&context.db)
        .await?
    else {
        return Ok(());
    };
    if block.actor.as_str() != group.ap_id
        && !crate::federation::collections::is_remote_moderator(context, &group, &block.actor)
            .await?
    {
        return Err(Error::Forbidden(
            "only the group's moderators may ban from it".into(),
        ));
    }
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &block.id, &block.actor, "Block").await? {
        return Ok(());
    }
    membership::Entity::delete_many()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.eq(person.id))
        .exec(&transaction)
        .await?;
    if block.remove_data == Some(true) {
        kindred_entities::post::Entity::update_many()
            .col_expr(
                kindred_entities::post::Column::RemovedAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now()),
            )
            .filter(kindred_entities::post::Column::GroupId.eq(group.id))
            .filter(kindred_entities::post::Column::AuthorId.eq(person.id))
            .filter(kindred_entities::post::Column::RemovedAt.is_null())
            .exec(&transaction)
            .await?;
    }
    transaction.commit().await?;
    tracing::info!(group = %group.ap_id, person = %person.ap_id, "a remote group banned a local person");
    Ok(())
}
