//! Statements given as text, for tests that look at rows the store has no query for (a count,
//! the columns of the schema) or that break the database on purpose.

use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use okienko_store::{on_read, Db, Result};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The value of `sql`, a query whose one row has one BIGINT column named `n`.
pub async fn count(db: &Db, sql: &str) -> i64 {
    let n: Result<i64> =
        async { on_read!(db, c => Ok(diesel::sql_query(sql).get_result::<Count>(c).await?.n)) }
            .await;
    n.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The rows of `sql`, read into `T` (a `QueryableByName` for both backends).
pub async fn rows<T>(db: &Db, sql: &str) -> Vec<T>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + Send + 'static,
{
    let rows: Result<Vec<T>> =
        async { on_read!(db, c => Ok(diesel::sql_query(sql).load::<T>(c).await?)) }.await;
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs `sql` (statements without results) on the writer.
pub async fn execute(db: &Db, sql: &str) {
    db.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
