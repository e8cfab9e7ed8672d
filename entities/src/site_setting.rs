//! The instance's settings as an administrator changed them on the web: one row, id 1; a
//! `None` column means "as the config file says".

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `open`, `approval` or `closed`, as `instance.registration` takes them.
    pub registration: Option<String>,
    /// `anyone` or `admins`, as `instance.group_creation` takes them.
    pub group_creation: Option<String>,
    pub updated_by_user_id: Option<i64>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
