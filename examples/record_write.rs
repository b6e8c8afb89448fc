//! How fast PostgreSQL takes the issuance record in batches, written three ways (issue 25, point
//! 2): the multi-row `INSERT ... VALUES` with one parameter per column and row that the service
//! sends, an `INSERT ... SELECT FROM unnest(...)` with one array parameter per column, and
//! `COPY ... FROM STDIN`. Run by `bench/record.sh` (which starts the database and migrates it);
//! by hand: `DATABASE_URL=postgres://... cargo run --release --example record_write`.
//!
//! Each variant empties the table, then `RECORD_CLIENTS` connections (8) write batches of
//! `RECORD_BATCH` rows (64), each batch committed on its own as the service's group commit does,
//! for `RECORD_SECONDS` (10); it prints rows per second and WAL bytes per row. Settings: the
//! environment variables named.

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool, Row};
use tokenmint::clock::{Clock, SystemClock};

/// The record's columns in the service's insert order (signing::issuance::RECORD_COLUMNS).
const COLUMNS: &str = "jti, client_id, scheme, subject, scopes, state, caller_ip, declared_ip, \
     kid, issued_at, expires_at, revocable_by_subject, trust_policy_id, external_issuer, \
     external_subject";

#[derive(Clone, Copy, Debug)]
enum Shape {
    Values,
    Unnest,
    Copy,
}

/// One record as the service writes it for `/auth/jwt`.
struct Row15 {
    jti: String,
    client_id: String,
    issued_at: i64,
}

fn setting(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .with_context(|| format!("{name} must be a number")),
        Err(_) => Ok(default),
    }
}

fn batch(rows: usize) -> Vec<Row15> {
    let now = SystemClock.now().timestamp_millis();
    (0..rows)
        .map(|i| Row15 {
            jti: uuid::Uuid::now_v7().to_string(),
            client_id: format!("bench-client-{}", i % 4),
            issued_at: now,
        })
        .collect()
}

async fn write(pool: &PgPool, shape: Shape, rows: &[Row15]) -> anyhow::Result<()> {
    match shape {
        Shape::Values => {
            // As the service: every column of every row a parameter.
            let mut sql = format!("insert into issuances ({COLUMNS}) values ");
            for i in 0..rows.len() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for column in 0..15 {
                    if column > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", i * 15 + column + 1));
                }
                sql.push(')');
            }
            let mut query = sqlx::query(&sql);
            for row in rows {
                query = query
                    .bind(&row.jti)
                    .bind(&row.client_id)
                    .bind("auth_jwt")
                    .bind(&row.client_id)
                    .bind("programs:read")
                    .bind(Some("IC"))
                    .bind(Some("127.0.0.1"))
                    .bind(None::<&str>)
                    .bind("bench-kid")
                    .bind(row.issued_at)
                    .bind(row.issued_at + 3_600_000)
                    .bind(false)
                    .bind(None::<&str>)
                    .bind(None::<&str>)
                    .bind(None::<&str>);
            }
            query.execute(pool).await?;
        }
        Shape::Unnest => {
            // One array per column.
            let text = |f: fn(&Row15) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
            let constant = |value: &'static str| vec![value; rows.len()];
            let none = vec![None::<&str>; rows.len()];
            let issued: Vec<i64> = rows.iter().map(|r| r.issued_at).collect();
            let expires: Vec<i64> = issued.iter().map(|i| i + 3_600_000).collect();
            sqlx::query(&format!(
                "insert into issuances ({COLUMNS}) select * from unnest($1::text[], \
                 $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                 $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bool[], \
                 $13::text[], $14::text[], $15::text[])"
            ))
            .bind(text(|r| r.jti.as_str()))
            .bind(text(|r| r.client_id.as_str()))
            .bind(constant("auth_jwt"))
            .bind(text(|r| r.client_id.as_str()))
            .bind(constant("programs:read"))
            .bind(constant("IC"))
            .bind(constant("127.0.0.1"))
            .bind(&none)
            .bind(constant("bench-kid"))
            .bind(&issued)
            .bind(&expires)
            .bind(vec![false; rows.len()])
            .bind(&none)
            .bind(&none)
            .bind(&none)
            .execute(pool)
            .await?;
        }
        Shape::Copy => {
            let mut data = String::with_capacity(rows.len() * 160);
            for row in rows {
                data.push_str(&format!(
                    "{}\t{}\tauth_jwt\t{}\tprograms:read\tIC\t127.0.0.1\t\\N\tbench-kid\t{}\t{}\tf\t\\N\t\\N\t\\N\n",
                    row.jti,
                    row.client_id,
                    row.client_id,
                    row.issued_at,
                    row.issued_at + 3_600_000
                ));
            }
            let mut connection = pool.acquire().await?;
            let mut copy = connection
                .copy_in_raw(&format!("copy issuances ({COLUMNS}) from stdin"))
                .await?;
            copy.send(data.as_bytes()).await?;
            copy.finish().await?;
        }
    }
    Ok(())
}

async fn scalar_text(pool: &PgPool, sql: &str) -> anyhow::Result<String> {
    Ok(sqlx::query(sql).fetch_one(pool).await?.try_get(0)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL (PostgreSQL) is needed")?;
    let seconds = setting("RECORD_SECONDS", 10)?;
    let clients = setting("RECORD_CLIENTS", 8)?;
    let rows_per_batch = setting("RECORD_BATCH", 64)?;
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(clients)?)
        .connect(&url)
        .await?;
    for shape in [Shape::Values, Shape::Unnest, Shape::Copy] {
        pool.execute("truncate issuances").await?;
        pool.execute("checkpoint").await?;
        let wal_before = scalar_text(&pool, "select pg_current_wal_lsn()::text").await?;
        let deadline = Instant::now() + Duration::from_secs(u64::try_from(seconds)?);
        let mut writers = Vec::new();
        for _ in 0..clients {
            let pool = pool.clone();
            writers.push(tokio::spawn(async move {
                let mut written = 0usize;
                while Instant::now() < deadline {
                    let rows = batch(rows_per_batch);
                    write(&pool, shape, &rows).await?;
                    written += rows.len();
                }
                anyhow::Ok(written)
            }));
        }
        let mut written = 0;
        for writer in writers {
            written += writer.await??;
        }
        let wal: f64 = sqlx::query_scalar::<_, f64>(
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8",
        )
        .bind(&wal_before)
        .fetch_one(&pool)
        .await?;
        let per_second = written as f64 / seconds as f64;
        println!(
            "{:<8} {:>9.0} rows/s {:>7.0} WAL B/row",
            format!("{shape:?}"),
            per_second,
            wal / written.max(1) as f64
        );
    }
    Ok(())
}
