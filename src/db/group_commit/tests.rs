//! Batching and answers of the group commit, on SQLite in memory.

use super::*;

/// Inserts each item as a row of `t(n)`.
struct Rows;

impl BatchWrite for Rows {
    type Item = i64;
    type Outcome = ();

    async fn write(
        &self,
        connection: &mut AnyConnection,
        items: &[i64],
    ) -> Result<Vec<()>, sqlx::Error> {
        let sql = format!(
            "insert into t (n) values {}",
            values_placeholders(items.len(), 1, 1)
        );
        let mut query = sqlx::query(&sql);
        for n in items {
            query = query.bind(*n);
        }
        query.execute(connection).await?;
        Ok(vec![(); items.len()])
    }
}

async fn rows(pool: &AnyPool) -> Vec<i64> {
    sqlx::query_scalar("select n from t order by n")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_enqueued_item_is_written_by_the_time_it_resolves_and_even_if_dropped() {
    let db = super::super::Database::connect_url(
        "sqlite::memory:",
        1,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    let pool = db.pool().clone();
    sqlx::query("create table t (n bigint not null)")
        .execute(&pool)
        .await
        .unwrap();
    let batches = GroupCommit::start(pool.clone(), db.backend(), 1, 8, Rows);

    let committed = batches.enqueue(1).await.unwrap();
    committed.await.unwrap();
    assert_eq!(rows(&pool).await, [1]);

    // Dropping the handle does not withdraw the item: it is written with its batch.
    drop(batches.enqueue(2).await.unwrap());
    batches.submit(3).await.unwrap();
    assert_eq!(rows(&pool).await, [1, 2, 3]);
}

#[test]
fn placeholders_number_rows_then_columns() {
    assert_eq!(values_placeholders(1, 1, 1), "($1)");
    assert_eq!(values_placeholders(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
    assert_eq!(values_placeholders(2, 2, 3), "($3, $4), ($5, $6)");
}

#[test]
fn sized_statements_are_built_once_per_row_count() {
    let statements =
        SizedStatements::new(|rows| format!("values {}", values_placeholders(rows, 2, 1)));
    let two = statements.get(2);
    assert_eq!(&*two, "values ($1, $2), ($3, $4)");
    assert!(Arc::ptr_eq(&two, &statements.get(2)));
    assert_eq!(&*statements.get(1), "values ($1, $2)");
}
