//! Claiming work: leases on pending fan-outs and due retries (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so several workers can share one database), and giving leases back.

use super::*;

/// Clears every lease (fan-outs and retries): used at start on SQLite, where one process sends.
pub(super) async fn release_all_leases(database: &impl ConnectionTrait) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .exec(database)
        .await?;
    activity::Entity::update_many()
        .col_expr(
            activity::Column::FanoutLeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(activity::Column::FanoutPending.eq(true))
        .exec(database)
        .await?;
    Ok(())
}

pub(super) async fn release_leases(database: &impl ConnectionTrait, ids: &[i64]) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::Id.is_in(ids.iter().copied()))
        .exec(database)
        .await?;
    Ok(())
}

/// Placeholders for raw SQL on either backend.
pub(super) struct SqlValues {
    backend: DbBackend,
    values: Vec<SqlValue>,
}

impl SqlValues {
    fn new(backend: DbBackend) -> Self {
        SqlValues {
            backend,
            values: Vec::new(),
        }
    }

    fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }

    fn lock_clause(&self, table: &str) -> String {
        if self.backend == DbBackend::Postgres {
            format!("FOR UPDATE OF {table} SKIP LOCKED")
        } else {
            String::new()
        }
    }
}

/// Claims up to `limit` pending fan-outs: not leased, and not behind an older pending fan-out
/// with the same ordering key.
pub(super) async fn claim_fan_outs(
    database: &DatabaseConnection,
    config: &Config,
    limit: u64,
) -> Result<Vec<activity::Model>> {
    let now = Utc::now();
    let mut sql = SqlValues::new(database.get_database_backend());
    let pending = sql.bind(true);
    let now_placeholder = sql.bind(now);
    let pending_again = sql.bind(true);
    let limit_placeholder = sql.bind(limit as i64);
    let statement = format!(
        "SELECT a.* FROM activities a \
         WHERE a.fanout_pending = {pending} \
           AND (a.fanout_leased_until IS NULL OR a.fanout_leased_until < {now_placeholder}) \
           AND NOT EXISTS (SELECT 1 FROM activities b WHERE b.fanout_pending = {pending_again} \
               AND b.ordering_key = a.ordering_key AND b.id < a.id) \
         ORDER BY a.id LIMIT {limit_placeholder} {}",
        sql.lock_clause("a")
    );
    let leased_until = now + lease_length(config);
    select_and_lease::<activity::Entity>(
        database,
        sql,
        statement,
        activity::Column::FanoutLeasedUntil,
        activity::Column::Id,
        leased_until,
        |row| row.id,
    )
    .await
}

/// Claims up to `limit` due retries: pending, due, not leased, not behind an older pending
/// delivery with the same inbox and ordering key, and not to a server that is backing off,
/// dead, or in `exclude_hosts`.
pub async fn claim_due_deliveries(
    database: &DatabaseConnection,
    config: &Config,
    limit: u64,
    exclude_hosts: &[String],
) -> Result<Vec<delivery::Model>> {
    let now = Utc::now();
    let mut sql = SqlValues::new(database.get_database_backend());
    let pending = sql.bind(DeliveryState::Pending.to_value());
    let now_1 = sql.bind(now);
    let now_2 = sql.bind(now);
    let pending_again = sql.bind(DeliveryState::Pending.to_value());
    let now_3 = sql.bind(now);
    let excluded = if exclude_hosts.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = exclude_hosts
            .iter()
            .map(|host| sql.bind(host.clone()))
            .collect();
        format!("AND d.instance_host NOT IN ({})", list.join(", "))
    };
    let limit_placeholder = sql.bind(limit as i64);
    let statement = format!(
        "SELECT d.* FROM deliveries d \
         WHERE d.state = {pending} AND d.next_attempt_at <= {now_1} \
           AND (d.leased_until IS NULL OR d.leased_until < {now_2}) \
           AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.ordering_key = d.ordering_key \
               AND e.inbox_url = d.inbox_url AND e.state = {pending_again} AND e.id < d.id) \
           AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.host = d.instance_host \
               AND (i.retry_at > {now_3} OR i.dead_since IS NOT NULL)) \
           {excluded} \
         ORDER BY d.id LIMIT {limit_placeholder} {}",
        sql.lock_clause("d")
    );
    let leased_until = now + lease_length(config);
    select_and_lease::<delivery::Entity>(
        database,
        sql,
        statement,
        delivery::Column::LeasedUntil,
        delivery::Column::Id,
        leased_until,
        |row| row.id,
    )
    .await
}

/// Runs a claiming `SELECT` and sets the lease of the rows it returns, in one transaction (on
/// PostgreSQL the `SELECT` locks them with `FOR UPDATE SKIP LOCKED` until the commit).
pub(super) async fn select_and_lease<E: EntityTrait>(
    database: &DatabaseConnection,
    sql: SqlValues,
    statement: String,
    lease_column: E::Column,
    id_column: E::Column,
    leased_until: DateTime<Utc>,
    id_of: impl Fn(&E::Model) -> i64,
) -> Result<Vec<E::Model>>
where
    E::Model: FromQueryResult + Sync,
{
    let transaction = database.begin().await?;
    let rows = E::Model::find_by_statement(Statement::from_sql_and_values(
        sql.backend,
        statement,
        sql.values,
    ))
    .all(&transaction)
    .await?;
    if !rows.is_empty() {
        E::update_many()
            .col_expr(lease_column, Expr::value(Some(leased_until)))
            .filter(id_column.is_in(rows.iter().map(&id_of)))
            .exec(&transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(rows)
}
