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

/// Which branch of the statement a row comes from; a statement asking several writers'
/// questions adds `PARTS` times the question's tag to it.
const PRINCIPAL: i32 = 0;
const SCHEDULE: i32 = 1;
const REQUEST: i32 = 2;
const PARTS: i32 = 4;

/// What a read-ahead found, to be installed in the transaction that asked (`SqlTx::install`).
pub(crate) struct Answers {
    principals: Vec<(Uuid, Option<crate::Principal>)>,
    ahead: Ahead,
}

/// Writes the statement asking `ahead` (but for principals not in `principals`, which the
/// asking transaction knows already) into `q`, its rows tagged `tag`: false when there is
/// nothing to ask.
fn push_question(
    q: &mut QueryBuilder<Db>,
    ahead: &ReadAhead,
    principals: &[Uuid],
    tag: i32,
) -> bool {
    let (principal, schedule, request) = (
        PRINCIPAL + PARTS * tag,
        SCHEDULE + PARTS * tag,
        REQUEST + PARTS * tag,
    );
    // Rows of `part, id, kind, data, start_pending, end_pending`, whatever the branch.
    let mut branches = 0;
    let mut union = |q: &mut QueryBuilder<Db>| {
        if branches > 0 {
            q.push(" UNION ALL ");
        }
        branches += 1;
    };
    if !principals.is_empty() {
        union(q);
        q.push(format_args!(
            "SELECT {principal}, id, kind, data, FALSE, FALSE FROM principals WHERE id IN ("
        ));
        let mut list = q.separated(", ");
        for id in principals {
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
        union(q);
        q.push(format_args!(
            "SELECT {schedule}, id, '', data, start_pending, end_pending FROM role_schedules"
        ));
        push_schedules_filter(q, query);
    }
    if let Some((query, page)) = &ahead.requests {
        union(q);
        // The page is taken in the database's order; the rows are put back in it below.
        q.push(format_args!(
            "SELECT {request}, id, '', data, FALSE, FALSE FROM \
             (SELECT id, data FROM schedule_requests"
        ));
        push_requests_filter(q, query);
        q.push(" ORDER BY created_at DESC, id DESC");
        push_page(q, *page);
        q.push(") AS page");
    }
    branches > 0
}

/// Whether `push_question` has something to ask for `ahead` (all principals unknown).
fn asks_anything(ahead: &ReadAhead) -> bool {
    !ahead.principals.is_empty()
        || ahead.requests.is_some()
        || ahead
            .schedules
            .as_ref()
            .is_some_and(|q| q.principal_ids.as_ref().is_none_or(|ids| !ids.is_empty()))
}

/// Every principal whose rows `ahead` reads (its principals, the holders its schedules are
/// read of, the principal its requests are read of); None when a part of it is not bounded
/// by principal (a query naming none reads everyone's).
pub(crate) fn principals_read(ahead: &ReadAhead) -> Option<Vec<Uuid>> {
    let mut read = ahead.principals.clone();
    if let Some(query) = &ahead.schedules {
        read.extend(query.principal_ids.as_ref()?);
    }
    if let Some((query, _)) = &ahead.requests {
        read.push(query.principal_id?);
    }
    Some(read)
}

/// An upper bound of the parameters `push_question` binds (for `Deferred::statement`).
pub(super) fn question_binds(ahead: &ReadAhead) -> usize {
    let schedules = ahead
        .schedules
        .as_ref()
        .and_then(|q| q.principal_ids.as_ref())
        .map_or(0, Vec::len);
    // Besides the id lists, the filters bind a few single values (the requests' only those).
    ahead.principals.len() + schedules + 32
}

/// The rows of a statement `push_question` wrote with `tag`, sorted into answers to `ahead`
/// (rows of other tags are another question's).
fn answers_from(
    rows: &[<Db as sqlx::Database>::Row],
    ahead: &ReadAhead,
    principals: &[Uuid],
    tag: i32,
) -> Result<Answers> {
    let mut found = HashMap::with_capacity(principals.len());
    let mut read_schedules = Vec::new();
    let mut read_requests = Vec::new();
    for r in rows {
        let part = r.try_get::<i32, _>(0)?;
        if part / PARTS != tag {
            continue;
        }
        let data: String = r.try_get(3)?;
        match part % PARTS {
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
    // As `list_role_schedules` and `list_schedule_requests` order them.
    read_schedules.sort_by_key(|s| (s.start_date_time, s.id));
    read_requests.sort_by_key(|r| std::cmp::Reverse((r.created_date_time, r.id)));
    Ok(Answers {
        principals: principals
            .iter()
            .map(|id| (*id, found.remove(id)))
            .collect(),
        ahead: Ahead {
            // Asked, even if there was nothing to ask for: the answer is then empty.
            schedules: ahead
                .schedules
                .as_ref()
                .map(|query| (query.clone(), read_schedules)),
            requests: ahead
                .requests
                .as_ref()
                .map(|(query, page)| (query.clone(), *page, read_requests)),
        },
    })
}

impl SqlTx {
    pub(super) async fn read_ahead_now(&mut self, ahead: &ReadAhead) -> Result<()> {
        // Asked with the writes the member before sent ahead: waiting for them costs no more
        // than reading, which would wait for them too. Only while this transaction has run
        // and written nothing, as for an answer taken when it joined.
        if self.answered.is_none()
            && !self.ran_statements
            && self.deferred.touched().is_empty()
            && matches!(&self.tx, super::Conn::Member(m) if m.answer_in_flight())
        {
            self.ready().await?;
            if let super::Conn::Member(member) = &mut self.tx
                && let Some(handed) = member.take_settled_answer()
            {
                self.install(handed.answers);
                self.answered = Some(handed.question);
            }
        }
        // Read for this transaction by the batch member before it, with nothing run since.
        if self.answered.take().is_some_and(|asked| *asked == *ahead) {
            if let super::Conn::Member(member) = &self.tx {
                member.answered_ahead();
            }
            return Ok(());
        }
        let principals: Vec<Uuid> = ahead
            .principals
            .iter()
            .filter(|id| !self.principals.contains_key(id))
            .copied()
            .collect();
        let mut q = QueryBuilder::<Db>::new("");
        if !push_question(&mut q, ahead, &principals, 0) {
            return Ok(());
        }
        let rows = q.build().fetch_all(self.conn().await?).await?;
        let answers = answers_from(&rows, ahead, &principals, 0)?;
        self.install(answers);
        Ok(())
    }

    /// Makes `answers` this transaction's: the principals to its cache, the rest for the
    /// next reads asking exactly the same.
    pub(super) fn install(&mut self, answers: Answers) {
        self.principals.extend(answers.principals);
        self.ahead = answers.ahead;
    }

    /// Queues `question` (a waiting writer's) to be read after the writes queued so far, its
    /// rows tagged `tag`, on a backend that runs several statements from one text (see
    /// `batch`): false when there is nothing to ask. Only once the batch is settled.
    pub(super) async fn queue_question(&mut self, question: &ReadAhead, tag: i32) -> Result<bool> {
        if !asks_anything(question) {
            return Ok(false);
        }
        let binds = question_binds(question);
        let q = self.deferred.statement(&mut self.tx, binds, None).await?;
        Ok(push_question(q, question, &question.principals, tag))
    }

    /// PostgreSQL's `queue_question`: makes `question` the query that ends the statement of
    /// the queued writes (`Deferred::close_with_question`), which is allowed only when it
    /// reads none of the principals they write, since it does not see them: false, and
    /// nothing queued, when not so or when there is nothing to ask.
    pub(super) fn ask_after_writes(&mut self, question: &ReadAhead) -> bool {
        if !asks_anything(question) {
            return false;
        }
        let Some(reads) = principals_read(question) else {
            return false;
        };
        match self
            .deferred
            .close_with_question(question_binds(question), &reads)
        {
            // Asks something: `asks_anything`, with every principal asked for.
            Some(q) => push_question(q, question, &question.principals, 0),
            None => false,
        }
    }
}

/// The rows of a question `queue_question` queued with `tag`, sorted into its answers; None
/// when they are not well formed (the writer then reads for itself and meets the fault there).
pub(crate) fn tagged_answers(
    question: &ReadAhead,
    rows: &[<Db as sqlx::Database>::Row],
    tag: i32,
) -> Option<Answers> {
    answers_from(rows, question, &question.principals, tag).ok()
}
