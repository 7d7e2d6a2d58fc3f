//! The shared PostgreSQL: fresh databases are distinct, usable, and cheap to get concurrently.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

async fn has_table(conn: &mut PgConnection, table: &str) -> bool {
    sqlx::query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = $1")
        .bind(table)
        .fetch_one(conn)
        .await
        .expect("query pg_tables")
        .get::<i64, _>(0)
        == 1
}

#[tokio::test]
async fn fresh_databases_are_distinct_and_usable() {
    let Some(a) = eligo_testkit::postgres_database().await else {
        return; // skipped loudly by the testkit (never under CI)
    };
    let b = eligo_testkit::postgres_database()
        .await
        .expect("a second database");
    assert_ne!(a, b);

    let mut conn_a = connect(&a).await;
    let mut conn_b = connect(&b).await;
    assert!(!has_table(&mut conn_a, "widgets").await, "{a} is not empty");

    sqlx::query("CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&mut conn_a)
        .await
        .expect("create table");
    sqlx::query("INSERT INTO widgets (id, name) VALUES ($1, $2)")
        .bind(1_i64)
        .bind("one")
        .execute(&mut conn_a)
        .await
        .expect("insert");
    let name: String = sqlx::query_scalar("SELECT name FROM widgets WHERE id = 1")
        .fetch_one(&mut conn_a)
        .await
        .expect("select");
    assert_eq!(name, "one");

    assert!(has_table(&mut conn_a, "widgets").await);
    assert!(
        !has_table(&mut conn_b, "widgets").await,
        "{b} sees {a}'s table"
    );

    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn_b)
        .await
        .expect("server_version");
    assert!(!version.is_empty());
}

// Each #[tokio::test] has its own runtime; the server is shared by all of them, and many callers
// at once (as in a parallel test run) each get their own database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_server() {
    let tasks: Vec<_> = (0..16)
        .map(|_| tokio::spawn(eligo_testkit::postgres_database()))
        .collect();
    let mut urls = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Some(url) => urls.push(url),
            None => return,
        }
    }
    // postgres://host:port/DATABASE[?query]
    let without_query = |url: &str| url.split('?').next().unwrap_or_default().to_string();
    let server = |url: &str| {
        without_query(url)
            .rsplit_once('/')
            .map(|(s, _)| s.to_string())
    };
    assert!(
        urls.iter().all(|u| server(u) == server(&urls[0])),
        "{urls:?}"
    );
    let distinct: std::collections::HashSet<_> = urls.iter().collect();
    assert_eq!(distinct.len(), urls.len());
    for url in &urls {
        let mut conn = connect(url).await;
        let db: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut conn)
            .await
            .expect("current_database");
        assert!(
            without_query(url).ends_with(&format!("/{db}")),
            "{url} vs {db}"
        );
    }
}

#[test]
fn free_port_can_be_bound() {
    let port = eligo_testkit::free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the free port");
}

#[tokio::test]
async fn a_dropped_database_is_gone_even_with_a_connection_open() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return; // skipped loudly by the testkit (never under CI)
    };
    let name = url.rsplit('/').next().expect("a database name").to_string();
    let mut open = connect(&url).await;
    sqlx::query("CREATE TABLE widgets (id BIGINT PRIMARY KEY)")
        .execute(&mut open)
        .await
        .expect("create table");

    eligo_testkit::drop_postgres_database(&url);

    // The drop is done in the background: wait for it, for a while.
    let other = eligo_testkit::postgres_database()
        .await
        .expect("another database");
    let mut conn = connect(&other).await;
    let mut left = 1;
    for _ in 0..300 {
        left = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .expect("query pg_database");
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "{name} was not dropped within 30 s");
    assert!(
        sqlx::query("SELECT 1").execute(&mut open).await.is_err(),
        "the connection to the dropped database still answers"
    );
}
