//! Group commit: concurrent writes of one kind gathered into one statement and one commit.
//!
//! A durable commit costs the database a flush and a round of messages whatever it carries, so
//! writes that arrive together are written together: each writer task takes everything queued
//! (waiting only for the first item, never for more), hands the batch to a [`BatchWrite`] that
//! writes it in one transaction, and answers every caller with its own outcome once the batch has
//! committed. A failed batch fails every caller in it; nobody is told "written" before the
//! commit. The issuance record and the used-assertion record are written this way; what they
//! write is theirs (`signing`, `registry`), only the gathering is here.
//!
//! A writer keeps one pooled connection between batches when the pool has room for it (see
//! [`GroupCommit::start`]): its batch statements (one per batch size) are then prepared, and the
//! pages they touch cached, on that connection alone instead of on every connection of the pool.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection as _};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{Backend, ALIVE_BYPASS};

/// Writes one batch of items in one transaction.
pub trait BatchWrite: Send + Sync + 'static {
    /// What a caller submits.
    type Item: Send + Sync + 'static;
    /// What each caller is told once the batch committed.
    type Outcome: Clone + Send + 'static;

    /// Writes `items` (never empty) in one transaction and returns one outcome per item, in the
    /// same order. An error fails the whole batch.
    fn write<'a>(
        &'a self,
        connection: &'a mut AnyConnection,
        items: &'a [Self::Item],
    ) -> impl Future<Output = Result<Vec<Self::Outcome>, sqlx::Error>> + Send + 'a;
}

/// Pool connections per writer below which writers give their connection back after each batch
/// (the issuance and used-assertion writers then hold at most half of the pool).
const CONNECTIONS_PER_KEPT_WRITER: usize = 4;

/// Why a submitted item was not written; shared by every caller of a failed batch.
#[derive(Clone, Debug)]
pub enum BatchError {
    /// The database could not be reached or is overloaded (see [`super::is_unavailable`]).
    Unavailable(Arc<sqlx::Error>),
    /// Any other failure of the batch's statement: a bug or corrupted data.
    Failed(Arc<str>),
    /// The writers have stopped (the service is shutting down).
    Stopped,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(e) => write!(f, "database unavailable: {e}"),
            Self::Failed(why) => write!(f, "batch write failed: {why}"),
            Self::Stopped => f.write_str("the batch writer has stopped"),
        }
    }
}

struct Pending<W: BatchWrite> {
    item: W::Item,
    done: oneshot::Sender<Result<W::Outcome, BatchError>>,
}

/// Gathers submitted items into batches written by `W`.
pub struct GroupCommit<W: BatchWrite> {
    queue: mpsc::Sender<Pending<W>>,
}

impl<W: BatchWrite> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<W: BatchWrite> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("queued", &self.queued())
            .finish()
    }
}

impl<W: BatchWrite> GroupCommit<W> {
    /// Starts the writer tasks (they end once every handle is dropped) on the current runtime.
    ///
    /// `postgres_writers` writers commit concurrently on PostgreSQL: the commit's flush dominates
    /// a batch's time and PostgreSQL flushes concurrent commits together, so an item that arrives
    /// during a flush is written at once and joins the next flush instead of waiting. SQLite
    /// has one writer at a time (concurrent writers only wait on its lock while its busy handler
    /// sleeps), so it gets one writer whose batches grow instead. A batch holds at most
    /// `max_batch` items. Each writer keeps its connection between batches when the pool has at
    /// least `CONNECTIONS_PER_KEPT_WRITER` connections per writer (never for a one-connection
    /// in-memory SQLite database, whose only connection every query needs).
    pub fn start(
        pool: AnyPool,
        backend: Backend,
        postgres_writers: usize,
        max_batch: usize,
        writer: W,
    ) -> Self {
        let writers = match backend {
            Backend::Postgres => postgres_writers.max(1),
            Backend::Sqlite => 1,
        };
        let max_batch = max_batch.max(1);
        let keep_connection =
            pool.options().get_max_connections() as usize >= writers * CONNECTIONS_PER_KEPT_WRITER;
        let (queue, receiver) = mpsc::channel(max_batch * 16);
        let receiver = Arc::new(Mutex::new(receiver));
        let writer = Arc::new(writer);
        for _ in 0..writers {
            tokio::spawn(write_batches(
                pool.clone(),
                Arc::clone(&writer),
                Arc::clone(&receiver),
                max_batch,
                keep_connection,
            ));
        }
        Self { queue }
    }

    /// Items waiting for their batch (read-only, for metrics).
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Submits one item; returns its outcome once its batch has committed.
    pub async fn submit(&self, item: W::Item) -> Result<W::Outcome, BatchError> {
        self.enqueue(item).await?.await
    }

    /// Queues one item for the next batch and returns at once (waiting only while the queue is
    /// full); the returned [`Committed`] resolves to its outcome once its batch has committed.
    /// A caller can so do other work while its batch is written, and must still await it before
    /// acting on the write. Dropping it does not withdraw the item.
    pub async fn enqueue(&self, item: W::Item) -> Result<Committed<W::Outcome>, BatchError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { item, done })
            .await
            .map_err(|_| BatchError::Stopped)?;
        Ok(Committed(committed))
    }
}

/// An item queued by [`GroupCommit::enqueue`]: resolves to its outcome once its batch has
/// committed (or failed).
#[must_use = "the write is durable only once this has resolved to Ok"]
pub struct Committed<T>(oneshot::Receiver<Result<T, BatchError>>);

impl<T> Future for Committed<T> {
    type Output = Result<T, BatchError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Err(BatchError::Stopped)))
    }
}

/// A writer's connection between batches, and when it last finished a statement.
struct Kept {
    connection: PoolConnection<Any>,
    used: Instant,
}

/// Writes one batch on the kept connection, or on one taken from the pool. A kept connection
/// idle for [`ALIVE_BYPASS`] or longer is pinged first, as the pool pings the connections it
/// hands out, and replaced when the ping fails; a connection whose batch failed is closed, not
/// reused, so a connection the database dropped never fails two batches.
async fn write_batch<W: BatchWrite>(
    pool: &AnyPool,
    writer: &W,
    kept: &mut Option<Kept>,
    items: &[W::Item],
) -> Result<Vec<W::Outcome>, sqlx::Error> {
    if let Some(held) = kept.as_mut() {
        if held.used.elapsed() >= ALIVE_BYPASS && held.connection.ping().await.is_err() {
            if let Some(mut dead) = kept.take() {
                dead.connection.close_on_drop();
            }
        }
    }
    let held = match kept {
        Some(held) => held,
        None => kept.insert(Kept {
            connection: pool.acquire().await?,
            used: Instant::now(),
        }),
    };
    let written = writer.write(&mut held.connection, items).await;
    held.used = Instant::now();
    if written.is_err() {
        if let Some(mut failed) = kept.take() {
            failed.connection.close_on_drop();
        }
    }
    written
}

/// One writer: takes what is queued (waiting only for the first item), writes it, answers every
/// caller, and repeats until every handle is dropped.
async fn write_batches<W: BatchWrite>(
    pool: AnyPool,
    writer: Arc<W>,
    receiver: Arc<Mutex<mpsc::Receiver<Pending<W>>>>,
    max_batch: usize,
    keep_connection: bool,
) {
    let mut kept: Option<Kept> = None;
    let mut items = Vec::with_capacity(max_batch);
    let mut callers = Vec::with_capacity(max_batch);
    loop {
        {
            let mut queue = receiver.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            items.push(first.item);
            callers.push(first.done);
            while items.len() < max_batch {
                let Ok(next) = queue.try_recv() else { break };
                items.push(next.item);
                callers.push(next.done);
            }
        }
        let written = write_batch(&pool, &*writer, &mut kept, &items).await;
        if !keep_connection {
            kept = None;
        }
        let outcome = match written {
            Ok(outcomes) if outcomes.len() == items.len() => Ok(outcomes),
            Ok(outcomes) => Err(BatchError::Failed(
                format!(
                    "{} outcomes for a batch of {} items",
                    outcomes.len(),
                    items.len()
                )
                .into(),
            )),
            Err(e) if super::is_unavailable(&e) => Err(BatchError::Unavailable(Arc::new(e))),
            Err(e) => Err(BatchError::Failed(e.to_string().into())),
        };
        items.clear();
        match outcome {
            Ok(outcomes) => {
                for (done, outcome) in callers.drain(..).zip(outcomes) {
                    let _ = done.send(Ok(outcome));
                }
            }
            Err(failure) => {
                tracing::error!(items = callers.len(), error = %failure, "batch write failed");
                for done in callers.drain(..) {
                    let _ = done.send(Err(failure.clone()));
                }
            }
        }
    }
}

/// A batch writer's multi-row statements, each built once per row count and kept (a writer
/// writes at most its `max_batch` sizes; only writer tasks take the lock, once per batch).
pub struct SizedStatements {
    build: fn(usize) -> String,
    built: std::sync::Mutex<HashMap<usize, Arc<str>>>,
}

impl SizedStatements {
    /// Statements made by `build` from a row count.
    pub fn new(build: fn(usize) -> String) -> Self {
        Self {
            build,
            built: std::sync::Mutex::default(),
        }
    }

    /// The statement for `rows` rows.
    pub fn get(&self, rows: usize) -> Arc<str> {
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            built
                .entry(rows)
                .or_insert_with(|| (self.build)(rows).into()),
        )
    }
}

/// `(…), (…)` with `rows` groups of `columns` numbered placeholders starting at `$first`, for a
/// multi-row `values` list.
pub fn values_placeholders(rows: usize, columns: usize, first: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", first + row * columns + column);
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests;
