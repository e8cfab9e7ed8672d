//! Every ActivityPub actor Kindred knows: local groups, local people, the instance actor, and
//! remote actors of any type (cached copies, refreshed from their servers).

use sea_orm::entity::prelude::*;

/// The ActivityStreams actor type, stored as its wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ActorKind {
    #[sea_orm(string_value = "Person")]
    Person,
    #[sea_orm(string_value = "Group")]
    Group,
    #[sea_orm(string_value = "Application")]
    Application,
    #[sea_orm(string_value = "Service")]
    Service,
    #[sea_orm(string_value = "Organization")]
    Organization,
}

/// Who may start threads and reply in a local group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PostingMode {
    /// Anyone, member or not.
    #[sea_orm(string_value = "open")]
    Open,
    /// Accepted members (the default).
    #[sea_orm(string_value = "members")]
    Members,
    /// Only the owner and moderators (`postingRestrictedToMods`).
    #[sea_orm(string_value = "moderators")]
    Moderators,
    /// Members post, and each post waits until a moderator approves it.
    #[sea_orm(string_value = "premoderated")]
    Premoderated,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "actors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The actor's ActivityPub id (a URL), unique across the whole table.
    #[sea_orm(unique)]
    pub ap_id: String,
    pub kind: ActorKind,
    pub local: bool,
    /// For local actors only: the lower-case handle, unique across people and groups alike,
    /// so that `acct:NAME@DOMAIN` always names exactly one actor.
    #[sea_orm(unique)]
    pub local_name: Option<String>,
    pub preferred_username: String,
    pub display_name: Option<String>,
    pub summary_html: Option<String>,
    pub summary_source: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub outbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub featured_url: Option<String>,
    pub moderators_url: Option<String>,
    pub html_url: Option<String>,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub manually_approves_followers: bool,
    pub posting_restricted_to_mods: bool,
    pub discoverable: bool,
    pub instance_id: Option<i64>,
    pub published_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
    pub last_refreshed_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// For local groups: who may post.
    pub posting_mode: PostingMode,
    /// For remote groups: when their history (outbox) was last read for people here who
    /// joined; empty until it has been read once.
    pub history_read_at: Option<DateTimeUtc>,
    /// A group not safe for work (NSFW, `sensitive`): its posts are shown folded.
    pub sensitive: bool,
    /// For groups: how many accepted members they have, kept by the database (triggers on
    /// `memberships`) in the transaction that changes a membership.
    pub member_count: i64,
    /// For groups: how many of those members are people here, kept the same way.
    pub local_member_count: i64,
    /// For groups: moves whenever the inboxes that reach its members may have changed (a
    /// membership accepted or ended, a member's inbox or deletion changed), kept by triggers;
    /// the member inboxes kept in memory are valid for one version.
    pub membership_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
