//! Who moderates a group: the owner and moderators, and join requests they decide.

use super::*;

/// The role `actor_id` has in the group, if an accepted member.
pub async fn role_of(
    database: &impl ConnectionTrait,
    group_id: i64,
    actor_id: i64,
) -> Result<Option<MembershipRole>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::MemberId.eq(actor_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .one(database)
        .await?
        .map(|found| found.role))
}

/// True for the group's owner and its moderators.
pub async fn is_moderator(
    database: &impl ConnectionTrait,
    group_id: i64,
    actor_id: i64,
) -> Result<bool> {
    Ok(matches!(
        role_of(database, group_id, actor_id).await?,
        Some(MembershipRole::Owner | MembershipRole::Moderator)
    ))
}

/// Refuses with 403 unless `actor_id` moderates the group (or `is_admin`: instance
/// administrators may moderate every local group, as on Lemmy).
pub async fn require_moderator(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    actor_id: i64,
    is_admin: bool,
) -> Result<()> {
    if !group.local {
        return Err(Error::bad_request(
            "this group is moderated on its own server",
        ));
    }
    if is_admin || is_moderator(database, group.id, actor_id).await? {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the group's moderators may do this".into(),
        ))
    }
}

/// The owner and moderators, owner first.
pub async fn moderators(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<(MembershipRole, actor::Model)>> {
    let roles = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .filter(membership::Column::Role.is_in([MembershipRole::Owner, MembershipRole::Moderator]))
        .order_by_asc(membership::Column::Id)
        .all(database)
        .await?;
    let people = actor::Entity::find()
        .filter(actor::Column::Id.is_in(roles.iter().map(|found| found.member_id)))
        .all(database)
        .await?;
    let mut listed: Vec<(MembershipRole, actor::Model)> = roles
        .iter()
        .filter_map(|found| {
            people
                .iter()
                .find(|person| person.id == found.member_id)
                .map(|person| (found.role, person.clone()))
        })
        .collect();
    listed.sort_by_key(|(role, _)| *role != MembershipRole::Owner);
    Ok(listed)
}

/// Makes an accepted member a moderator, or a moderator a member again. The owner's role does
/// not change this way.
pub async fn set_moderator(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    member: &actor::Model,
    moderator: bool,
    by: &actor::Model,
) -> Result<()> {
    let Some(found) = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.eq(member.id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .one(database)
        .await?
    else {
        return Err(Error::invalid("only a member of the group can moderate it"));
    };
    if found.role == MembershipRole::Owner {
        return Err(Error::invalid("the owner's role cannot be changed"));
    }
    let mut update: membership::ActiveModel = found.into();
    update.role = Set(if moderator {
        MembershipRole::Moderator
    } else {
        MembershipRole::Member
    });
    update.updated_at = Set(Utc::now());
    update.update(database).await?;
    let action = if moderator {
        Action::AppointModerator
    } else {
        Action::DismissModerator
    };
    record(database, group, by, action, Some(member.id), None, None).await
}

/// Join requests waiting for a moderator, oldest first, with who asked.
pub async fn pending_requests(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<(membership::Model, actor::Model)>> {
    let pending = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::State.eq(MembershipState::Pending))
        .order_by_asc(membership::Column::Id)
        .all(database)
        .await?;
    let people = actor::Entity::find()
        .filter(actor::Column::Id.is_in(pending.iter().map(|found| found.member_id)))
        .all(database)
        .await?;
    Ok(pending
        .into_iter()
        .filter_map(|found| {
            let person = people
                .iter()
                .find(|person| person.id == found.member_id)?
                .clone();
            Some((found, person))
        })
        .collect())
}

/// Decides a pending join request: approved, the membership is accepted; refused, it is
/// removed. Returns the request as it was (its Follow id is what the answer names).
pub async fn decide_request(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    member: &actor::Model,
    approve: bool,
    by: &actor::Model,
) -> Result<membership::Model> {
    let found = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.eq(member.id))
        .filter(membership::Column::State.eq(MembershipState::Pending))
        .one(database)
        .await?
        .ok_or_else(|| Error::not_found("join request"))?;
    if approve {
        let mut update: membership::ActiveModel = found.clone().into();
        update.state = Set(MembershipState::Accepted);
        update.updated_at = Set(Utc::now());
        update.update(database).await?;
    } else {
        membership::Entity::delete_by_id(found.id)
            .exec(database)
            .await?;
    }
    let action = if approve {
        Action::ApproveMember
    } else {
        Action::RefuseMember
    };
    record(database, group, by, action, Some(member.id), None, None).await?;
    Ok(found)
}
