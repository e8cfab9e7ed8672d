//! Indexes for "the authors on blocked servers", which every thread list leaves out: the
//! blocked servers by their flag, and the actors by their server. Without them each list
//! scanned every actor (20,000 remote people on a big instance) to build that set, a cost
//! that grew with the instance and was paid once per list query.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 2] = [
    ("idx_actors_instance_id", "ON actors (instance_id)"),
    ("idx_instances_blocked", "ON instances (blocked)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        for (name, definition) in INDEXES {
            connection
                .execute_unprepared(&format!("CREATE INDEX {name} {definition}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        for (name, _) in INDEXES {
            connection
                .execute_unprepared(&format!("DROP INDEX {name}"))
                .await?;
        }
        Ok(())
    }
}
