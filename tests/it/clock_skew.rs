//! A server's clock against the database's (several servers, issue 18): `/healthz` and
//! `/readyz` report how far apart they are, give or take the reading's round trip, and say when
//! it is over a second, without acting on it (a database whose own clock is off would make
//! every server look skewed). SQLite reports nothing: one machine.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;

use crate::harness::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_this_servers_clock_against_the_databases() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    #[allow(clippy::disallowed_methods)] // the database keeps real time: so must this test
    t.clock.set(chrono::Utc::now());
    let (status, body) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let skew = body["clock"]["skewMs"]
        .as_i64()
        .expect("a skew on PostgreSQL");
    // The test clock stands still while the request runs, so the database is a little ahead.
    assert!((0..1000).contains(&skew), "{body}");
    assert_eq!(body["clock"]["tooLarge"], false, "{body}");

    // This server's clock five minutes fast.
    t.clock.advance(TimeDelta::minutes(5));
    let (status, body) = t.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let skew = body["clock"]["skewMs"].as_i64().unwrap();
    assert!((-300_000..-299_000).contains(&skew), "{body}");
    assert_eq!(body["clock"]["tooLarge"], true, "{body}");
}

#[tokio::test]
async fn sqlite_reports_no_clock_skew() {
    let t = TestApp::new().await;
    let (status, body) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body.get("clock")),
        (StatusCode::OK, None),
        "{body}"
    );
}
