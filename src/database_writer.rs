//! The database writer: write transactions handed to one thread of its own, which commits
//! several of them together (group commit). Used where many small transactions arrive at once
//! (an inbox taking posts); everything else may keep opening its own transactions on `db`.
//!
//! Why: SQLite has one writer connection, and every statement is a round trip to that
//! connection's thread. A transaction opened by a request handler keeps the connection while
//! the handler waits its turn on the busy async runtime between statements, so the connection
//! sits idle most of the time it is held. Here the statements run back to back on a thread that
//! does nothing else, and one commit covers a whole batch. When a job of a batch fails, the
//! batch is rolled back, that job gets its error, and the others run again in a new
//! transaction: so a job may run more than once, and only the run that is committed counts.
//! (Savepoints around each job would do the same at two more statements per job, which cost
//! 12% of the inbox's throughput.) Callers learn their outcome only once their writes are
//! committed. On PostgreSQL, which has many connections and its own group commit, a job simply
//! runs once in a transaction of its own in the caller's task. (Batches there were tried: two
//! tasks committing what waited, 17 activities a commit. They were no faster on the inbox
//! bench, 373–439 against 388–390 activities a second (docs/performance.md), and a batch holds
//! every job's row locks, a group's outbox counter among them, until it commits, so two
//! batches could deadlock.) The commonest write there, a new inbound post, does not come here
//! at all: it is one statement (`create_or_update::store_new_post_in_one_statement`).

use crate::error::{Error, Result};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait};
use std::{
    any::Any,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};
use tokio::sync::{mpsc, oneshot};

/// What a write job returns: a future borrowing the transaction it runs in and its input.
pub type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A write job: a function of the transaction and of the job's input, which the writer keeps
/// (a job may run more than once). It must have no effect outside the transaction.
pub type WriteJob<D, T> = for<'a> fn(&'a DatabaseTransaction, &'a D) -> WriteFuture<'a, T>;

type AnyValue = Box<dyn Any + Send>;
type Job = Box<dyn for<'t> Fn(&'t DatabaseTransaction) -> WriteFuture<'t, AnyValue> + Send + Sync>;

struct QueuedJob {
    job: Job,
    reply: oneshot::Sender<Result<AnyValue>>,
}

/// The most jobs committed together. Large enough to absorb a burst, small enough that one
/// commit stays short.
const MOST_JOBS_PER_COMMIT: usize = 64;

/// How many jobs may wait for the writer before callers wait to hand theirs over.
const QUEUE_LENGTH: usize = 1024;

/// Hands write transactions to the writer thread (SQLite) or runs them directly (PostgreSQL).
pub struct DatabaseWriter {
    database: DatabaseConnection,
    queue: Option<mpsc::Sender<QueuedJob>>,
    counts: Arc<WriterCounts>,
}

/// How many jobs the writer ran and in how many commits (jobs per commit shows how much
/// batching saves under load), for `/metrics`.
#[derive(Default)]
pub struct WriterCounts {
    pub jobs: AtomicU64,
    pub commits: AtomicU64,
}

impl DatabaseWriter {
    /// Starts the writer thread for an SQLite database. The thread ends when the writer is
    /// dropped and the jobs already queued are done.
    pub fn start(database: DatabaseConnection) -> Result<DatabaseWriter> {
        if database.get_database_backend() != DbBackend::Sqlite {
            return Ok(DatabaseWriter {
                database,
                queue: None,
                counts: Arc::default(),
            });
        }
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::internal)?;
        let thread_database = database.clone();
        let counts = Arc::new(WriterCounts::default());
        let thread_counts = counts.clone();
        std::thread::Builder::new()
            .name("kindred-writer".to_string())
            .spawn(move || runtime.block_on(run_jobs(thread_database, receiver, thread_counts)))
            .map_err(Error::internal)?;
        Ok(DatabaseWriter {
            database,
            queue: Some(sender),
            counts,
        })
    }

    /// Jobs run and transactions committed so far.
    pub fn counts(&self) -> &WriterCounts {
        &self.counts
    }

    /// Runs `job` on `input` in a transaction and returns its value once the transaction is
    /// committed. When the job fails, nothing it wrote is kept. The job may run more than once
    /// (when another job of its batch fails); it must write only through the transaction it is
    /// given (never through `AppState::db`, whose one SQLite connection it holds) and have no
    /// other effect.
    pub async fn write<D, T>(&self, input: D, job: WriteJob<D, T>) -> Result<T>
    where
        D: Send + Sync + 'static,
        T: Send + 'static,
    {
        let Some(queue) = &self.queue else {
            self.counts.jobs.fetch_add(1, Ordering::Relaxed);
            let transaction = self.database.begin().await?;
            let value = job(&transaction, &input).await?;
            transaction.commit().await?;
            self.counts.commits.fetch_add(1, Ordering::Relaxed);
            return Ok(value);
        };
        let (reply, answer) = oneshot::channel();
        let input = Arc::new(input);
        let job: Job = Box::new(move |transaction| {
            let input = input.clone();
            Box::pin(async move {
                let value = job(transaction, &input).await?;
                Ok(Box::new(value) as AnyValue)
            })
        });
        queue
            .send(QueuedJob { job, reply })
            .await
            .map_err(|_| Error::internal("the database writer has stopped"))?;
        let value = answer
            .await
            .map_err(|_| Error::internal("the database writer dropped a job"))??;
        value
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| Error::internal("the database writer returned another type"))
    }
}

/// The writer thread's loop: take what is waiting (at most a batch), commit it, repeat.
async fn run_jobs(
    database: DatabaseConnection,
    mut receiver: mpsc::Receiver<QueuedJob>,
    counts: Arc<WriterCounts>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MOST_JOBS_PER_COMMIT {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counts.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        counts.commits.fetch_add(1, Ordering::Relaxed);
        // A task of its own, so that a panic in a job ends only this batch (its callers hear
        // that their job was dropped; the transaction rolls back) and not the writer.
        let database = database.clone();
        if let Err(error) = tokio::spawn(async move { commit_batch(&database, batch).await }).await
        {
            tracing::error!(%error, "a batch of writes failed");
        }
    }
}

/// Runs a batch in one transaction and commits it, then tells every caller its outcome. When a
/// job fails, the transaction is rolled back, that job gets its error, and the rest of the
/// batch runs again from the start.
async fn commit_batch(database: &DatabaseConnection, mut batch: Vec<QueuedJob>) {
    while !batch.is_empty() {
        let transaction = match database.begin().await {
            Ok(transaction) => transaction,
            Err(error) => {
                let why = error.to_string();
                for queued in batch {
                    let _ = queued.reply.send(Err(Error::internal(why.clone())));
                }
                return;
            }
        };
        let mut values = Vec::with_capacity(batch.len());
        let mut failure = None;
        for (index, queued) in batch.iter().enumerate() {
            match (queued.job)(&transaction).await {
                Ok(value) => values.push(value),
                Err(error) => {
                    failure = Some((index, error));
                    break;
                }
            }
        }
        if let Some((index, error)) = failure {
            if let Err(rollback_error) = transaction.rollback().await {
                tracing::error!(%rollback_error, "a batch of writes could not be rolled back");
            }
            let failed = batch.remove(index);
            let _ = failed.reply.send(Err(error));
            continue;
        }
        match transaction.commit().await {
            Ok(()) => {
                for (queued, value) in batch.into_iter().zip(values) {
                    let _ = queued.reply.send(Ok(value));
                }
            }
            Err(error) => {
                tracing::error!(%error, "a batch of writes could not be committed");
                let why = format!("the transaction could not be committed: {error}");
                for queued in batch {
                    let _ = queued.reply.send(Err(Error::internal(why.clone())));
                }
            }
        }
        return;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing;
    use kindred_entities::received_activity;
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    };
    use std::sync::Arc;

    fn received(number: usize) -> received_activity::ActiveModel {
        received_activity::ActiveModel {
            ap_id: Set(format!("https://a.example/activities/{number}")),
            actor_ap_id: Set("https://a.example/users/a".to_string()),
            kind: Set("Create".to_string()),
            received_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn jobs_written_together_keep_their_own_outcomes() {
        testing::for_each_database(async |database| {
            let writer = Arc::new(DatabaseWriter::start(database.connection.clone()).unwrap());
            // Many jobs at once, so that the SQLite writer commits them in batches; every
            // third one writes a row and then fails, which must leave no trace.
            let mut tasks = Vec::new();
            for number in 0..150 {
                let writer = writer.clone();
                tasks.push(tokio::spawn(async move {
                    writer
                        .write(number, |transaction, number| {
                            Box::pin(async move {
                                received(*number).insert(transaction).await?;
                                if number % 3 == 0 {
                                    return Err(Error::bad_request("refused on purpose"));
                                }
                                Ok(*number)
                            })
                        })
                        .await
                }));
            }
            let mut succeeded = 0;
            for (number, task) in tasks.into_iter().enumerate() {
                match task.await.unwrap() {
                    Ok(value) => {
                        assert_eq!(value, number);
                        succeeded += 1;
                    }
                    Err(error) => {
                        assert_eq!(number % 3, 0);
                        assert!(error.to_string().contains("refused on purpose"), "{error}");
                    }
                }
            }
            assert_eq!(succeeded, 100);
            let stored = received_activity::Entity::find()
                .count(&database.connection)
                .await
                .unwrap();
            assert_eq!(stored, 100);
            let counts = writer.counts();
            assert_eq!(counts.jobs.load(Ordering::Relaxed), 150);
            if database.backend == testing::Backend::Sqlite {
                // Jobs that waited together were committed together.
                assert!(counts.commits.load(Ordering::Relaxed) < 150);
            }
            for number in (0..150).step_by(3) {
                let id = format!("https://a.example/activities/{number}");
                let found = received_activity::Entity::find()
                    .filter(received_activity::Column::ApId.eq(id))
                    .one(&database.connection)
                    .await
                    .unwrap();
                assert!(found.is_none(), "a failed job's row was kept");
            }
        })
        .await;
    }

    #[tokio::test]
    async fn a_job_that_panics_does_not_stop_the_writer() {
        testing::for_each_database(async |database| {
            if database.backend != testing::Backend::Sqlite {
                // PostgreSQL jobs run in the caller's task: a panic is the caller's.
                return;
            }
            let writer = DatabaseWriter::start(database.connection.clone()).unwrap();
            let outcome: Result<()> = writer
                .write((), |_, ()| Box::pin(async { panic!("a bug in a job") }))
                .await;
            assert!(outcome.is_err());
            let stored = writer
                .write((), |transaction, ()| {
                    Box::pin(async move {
                        received(7).insert(transaction).await?;
                        Ok(7)
                    })
                })
                .await
                .unwrap();
            assert_eq!(stored, 7);
        })
        .await;
    }

    #[tokio::test]
    async fn a_lone_failing_job_is_rolled_back() {
        testing::for_each_database(async |database| {
            let writer = DatabaseWriter::start(database.connection.clone()).unwrap();
            let outcome: Result<()> = writer
                .write((), |transaction, ()| {
                    Box::pin(async move {
                        received(1).insert(transaction).await?;
                        // The same id again violates the unique index.
                        received(1).insert(transaction).await?;
                        Ok(())
                    })
                })
                .await;
            assert!(outcome.is_err());
            let stored = received_activity::Entity::find()
                .count(&database.connection)
                .await
                .unwrap();
            assert_eq!(stored, 0);
        })
        .await;
    }
}
