//! `Block` with a group as `target`: a moderator bans someone from a local group (Lemmy's
//! form, with `summary` as the reason, `removeData` and `expires`), announced by the group and
//! sent to the banned person's server; `Undo{Block}` lifts it. A ban of a whole server stays
//! local: there is no activity for it. When a remote group bans a person from here, their
//! membership ends here too, so their next post is refused before it leaves.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::activities::{announce, local_activity, publish_in_group_also_to},
    groups::moderation::Ban,
};
use kindred_entities::{actor, membership};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};
use url::Url;

/// Publishes a moderator's ban of `person` from a local group (banned already in
/// `transaction`, see `actions::moderation::ban`): `Block{target: group}` in Lemmy's form,
/// announced by the group and sent to the person's own server. It is stored under the
/// person's id, which is where `Undo{Block}` looks for it.
pub async fn publish_ban(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    person: &actor::Model,
    ban: &Ban<'_>,
) -> Result<()> {
    let (id, mut block) = local_activity(
        &context.config,
        "Block",
        moderator,
        group,
        Value::String(person.ap_id.clone()),
    );
    block["target"] = json!(group.ap_id);
    block["removeData"] = json!(ban.remove_content);
    if let Some(reason) = ban
        .reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
    {
        block["summary"] = json!(reason);
    }
    if let Some(expires_at) = ban.expires_at {
        block["expires"] = json!(expires_at);
    }
    publish_in_group_also_to(
        transaction,
        context,
        moderator,
        group,
        (&id, &block),
        &person.ap_id,
        announce::Boost::No,
        &banned_inbox(person),
    )
    .await
}

/// Publishes the lifting of `person`'s ban (lifted already in `transaction`, see
/// `actions::moderation::lift_ban`): `Undo` of the `Block` this instance sent.
pub async fn publish_unban(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    person: &actor::Model,
) -> Result<()> {
    let block = crate::federation::activities::undone_activity(
        transaction,
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
    let (id, undo) = local_activity(&context.config, "Undo", moderator, group, block);
    publish_in_group_also_to(
        transaction,
        context,
        moderator,
        group,
        (&id, &undo),
        &person.ap_id,
        announce::Boost::No,
        &banned_inbox(person),
    )
    .await
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
pub async fn receive(
    context: &Context,
    block: Block,
    digest: &crate::federation::inbox::BodyDigest,
) -> Result<()> {
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
    if !record_received(&transaction, &block.id, &block.actor, "Block", digest).await? {
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
