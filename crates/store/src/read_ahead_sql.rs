//! `Tx::read_ahead`: the reads a use case is about to make, asked in one statement.
//!
//! An activation reads the principal, its schedules of the role and its pending requests, one
//! after the other, inside the serialized write (each read a round trip: on SQLite a hand-over
//! to sqlx's worker thread and back). Asked together, the database answers all three at once,
//! as branches of one `UNION ALL` with a common shape, and each later read asking exactly the
//! same is answered from here, once.
//!
//! What was read ahead is an answer only while nothing else ran on the transaction: `SqlTx`
//! forgets it on every statement and every deferred write (`conn`, `defer`), so a read after
//! a write always goes to the database. Principals go to the transaction's principal cache,
//! which follows its own rule (dropped when the transaction writes a principal).

use std::collections::HashMap;

use eligo_core::request::ScheduleRequest;
use eligo_core::schedule::RoleSchedule;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::{
    Db, SqlTx, from_json, parse_uuid, principal_from, push_page, push_requests_filter,
    push_schedules_filter,
};
use crate::{Page, ReadAhead, RequestQuery, Result, ScheduleQuery};

/// Answers read ahead, each for the query that asked it.
#[derive(Default)]
pub(super) struct Ahead {
    schedules: Option<(ScheduleQuery, Vec<RoleSchedule>)>,
    requests: Option<(RequestQuery, Page, Vec<ScheduleRequest>)>,
}

impl Ahead {
    /// The schedules read ahead for exactly `query` (taken: a second read goes to the store).
    pub(super) fn schedules(&mut self, query: &ScheduleQuery) -> Option<Vec<RoleSchedule>> {
        match self.schedules.take() {
            Some((asked, read)) if asked == *query => Some(read),
            _ => None,
        }
    }

    /// The requests read ahead for exactly `query` and `page` (taken).
    pub(super) fn requests(
        &mut self,
        query: &RequestQuery,
        page: Page,
    ) -> Option<Vec<ScheduleRequest>> {
        match self.requests.take() {
            Some((asked, asked_page, read)) if asked == *query && asked_page == page => Some(read),
            _ => None,
        }
    }
}

/// Which branch of the statement a row comes from.
const PRINCIPAL: i32 = 0;
const SCHEDULE: i32 = 1;
const REQUEST: i32 = 2;

impl SqlTx {
    pub(super) async fn read_ahead_now(&mut self, ahead: &ReadAhead) -> Result<()> {
        let principals: Vec<Uuid> = ahead
            .principals
            .iter()
            .filter(|id| !self.principals.contains_key(id))
            .copied()
            .collect();
        // Rows of `part, id, kind, data, start_pending, end_pending`, whatever the branch.
        let mut q = QueryBuilder::<Db>::new("");
        let mut branches = 0;
        let mut union = |q: &mut QueryBuilder<Db>| {
            if branches > 0 {
                q.push(" UNION ALL ");
            }
            branches += 1;
        };
        if !principals.is_empty() {
            union(&mut q);
            q.push(format_args!(
                "SELECT {PRINCIPAL}, id, kind, data, FALSE, FALSE FROM principals WHERE id IN ("
            ));
            let mut list = q.separated(", ");
            for id in &principals {
                list.push_bind(id.to_string());
            }
            q.push(")");
        }
        let schedules = ahead.schedules.as_ref().filter(|query| {
            // A query naming no principal matches nothing: nothing to ask.
            query
                .principal_ids
                .as_ref()
                .is_none_or(|ids| !ids.is_empty())
        });
        if let Some(query) = schedules {
            union(&mut q);
            q.push(format_args!(
                "SELECT {SCHEDULE}, id, '', data, start_pending, end_pending FROM role_schedules"
            ));
            push_schedules_filter(&mut q, query);
        }
        if let Some((query, page)) = &ahead.requests {
            union(&mut q);
            // The page is taken in the database's order; the rows are put back in it below.
            q.push(format_args!(
                "SELECT {REQUEST}, id, '', data, FALSE, FALSE FROM \
                 (SELECT id, data FROM schedule_requests"
            ));
            push_requests_filter(&mut q, query);
            q.push(" ORDER BY created_at DESC, id DESC");
            push_page(&mut q, *page);
            q.push(") AS page");
        }
        if branches == 0 {
            return Ok(());
        }
        let rows = q.build().fetch_all(self.conn().await?).await?;

        let mut found = HashMap::with_capacity(principals.len());
        let mut read_schedules = Vec::new();
        let mut read_requests = Vec::new();
        for r in &rows {
            let data: String = r.try_get(3)?;
            match r.try_get::<i32, _>(0)? {
                PRINCIPAL => {
                    let id = parse_uuid(&r.try_get::<String, _>(1)?)?;
                    found.insert(id, principal_from(&r.try_get::<String, _>(2)?, &data)?);
                }
                SCHEDULE => {
                    let mut schedule: RoleSchedule = from_json(&data)?;
                    schedule.start_pending = r.try_get(4)?;
                    schedule.end_pending = r.try_get(5)?;
                    read_schedules.push(schedule);
                }
                _ => read_requests.push(from_json::<ScheduleRequest>(&data)?),
            }
        }
        for id in principals {
            self.principals.insert(id, found.remove(&id));
        }
        // As `list_role_schedules` and `list_schedule_requests` order them.
        read_schedules.sort_by_key(|s| (s.start_date_time, s.id));
        read_requests.sort_by_key(|r| std::cmp::Reverse((r.created_date_time, r.id)));
        if let Some(query) = &ahead.schedules {
            // Asked, even if there was nothing to ask for: the answer is then empty.
            self.ahead.schedules = Some((query.clone(), read_schedules));
        }
        if let Some((query, page)) = &ahead.requests {
            self.ahead.requests = Some((query.clone(), *page, read_requests));
        }
        Ok(())
    }
}
