//! A thin layer over SQLite's own file layer (its default VFS, "unix") that hands a commit's
//! WAL frames to the kernel a few large writes at a time instead of two writes per frame.
//!
//! SQLite appends each page of a commit to the WAL as two writes, the frame's 24-byte header and
//! then the page. A batch of activations is about 270 frames, so about 540 `pwrite`s, each
//! through the file system's per-page write path, all on the one writer thread every write
//! waits for. And the file system makes a growing file pay again at the sync: on this project's
//! VM, syncing 268 frames appended as 536 writes took 2.8–4.0 ms, appended in 124 KiB pieces
//! 1.9–2.2 ms (BENCHMARKS.md, "A commit's frames in a few writes").
//!
//! So a WAL opened through this layer holds the frames SQLite writes in a row and writes them
//! at once. What makes that exactly as durable, and as visible to other connections, as SQLite
//! without it: frames are held only while nothing can look for them, and are written
//! - when the page of the commit frame is written (a frame header whose "database size" field is
//!   not zero): the end of a commit's frames, before SQLite syncs them and before it publishes
//!   the commit in the WAL index, so no connection ever looks for a frame still held here,
//!   whatever `synchronous` is;
//! - before any other call on the WAL file (a sync, a read, its size, a truncation, a file
//!   control, closing it) and before a write that does not continue the held bytes;
//! - when the connection releases the WAL's write lock (called on the database file, which
//!   knows its WAL): frames a transaction spilled before it rolled back reach the file while
//!   their connection still owns that part of the WAL, as they would have without this layer,
//!   and never after another connection (or process) wrote there;
//! - past [`HOLD_AT_MOST`] bytes, so a large transaction streams as before.
//!
//! A write that fails is reported by the call that wrote it, so SQLite fails that transaction as
//! it would have failed it for its own write. Other files (journals, temporary files) are the
//! default VFS's own, untouched.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// The name connections ask for (`SqliteConnectOptions::vfs`).
pub(crate) const NAME: &str = "eligo-wal";
const NAME_C: &CStr = c"eligo-wal";

/// Held bytes past which they are written: a batch's commit is about 1.1 MiB.
const HOLD_AT_MOST: usize = 4 << 20;
/// The most one write of the default VFS takes: `os_unix.c` masks a write's length to 17 bits
/// (`seekAndWriteFd`), so held bytes go in whole 4 KiB pieces below 128 KiB.
const WRITE_AT_MOST: usize = 0x1_ffff & !4095;
/// SQLite writes a WAL frame's header on its own, and nothing else in a WAL has this size (the
/// WAL's own header is 32 bytes, a page at least 512).
const FRAME_HEADER_BYTES: c_int = 24;
/// The WAL lock SQLite holds while it writes frames (`WAL_WRITE_LOCK` in `wal.c`).
const WAL_WRITE_LOCK: c_int = 0;

/// Registers the VFS (once per process) and answers whether it is there. A failure leaves
/// connections on SQLite's default.
pub(crate) fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            // SAFETY: `sqlite3_vfs_find` initialises SQLite and returns the default VFS, which
            // lives as long as the process. The copy is leaked on purpose: SQLite keeps a pointer
            // to a registered VFS for ever.
            unsafe {
                let default = ffi::sqlite3_vfs_find(ptr::null());
                if default.is_null() {
                    return Err("SQLite has no default VFS".into());
                }
                let real_size = (*default).szOsFile as usize;
                let mut vfs = *default;
                vfs.zName = NAME_C.as_ptr();
                vfs.pNext = ptr::null_mut();
                vfs.szOsFile = (REAL_OFFSET + real_size) as c_int;
                vfs.pAppData = default.cast();
                vfs.xOpen = Some(open);
                // The default VFS's other calls ignore the VFS they are given (`os_unix.c`
                // reads it only in `xOpen`, which opens the real file with the real VFS).
                let vfs = Box::leak(Box::new(vfs));
                match ffi::sqlite3_vfs_register(vfs, 0) {
                    ffi::SQLITE_OK => Ok(()),
                    rc => Err(format!("registering SQLite's VFS {NAME}: error {rc}")),
                }
            }
        })
        .clone()
}

/// Our part of an open file; the default VFS's file follows at [`REAL_OFFSET`].
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    state: *mut State,
}

const REAL_OFFSET: usize = (size_of::<File>() + 7) & !7;

/// What one open database file or WAL keeps. A database file and its WAL belong to one
/// connection, and SQLite calls a connection's files from one thread at a time.
struct State {
    /// A database file's WAL, while it is open.
    wal: *mut State,
    /// A WAL's database file, while it is open; a WAL holds frames only while it has one.
    db: *mut State,
    /// The real WAL file, to write the held bytes to.
    real: *mut ffi::sqlite3_file,
    held: Vec<u8>,
    /// The offset in the WAL of `held`'s first byte.
    held_at: i64,
    /// The last write was a commit frame's header: the next, its page, ends the commit.
    commit_page_next: bool,
    /// Writes SQLite asked of this WAL, and writes it took to the file (for the tests).
    asked: u64,
    made: u64,
}

fn real_of(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY (for callers): `file` is one of ours, allocated with `szOsFile` bytes.
    file.cast::<u8>().wrapping_add(REAL_OFFSET).cast()
}

/// # Safety
/// `file` is a file this VFS opened and has not closed.
unsafe fn state_of<'a>(file: *mut ffi::sqlite3_file) -> &'a mut State {
    unsafe { &mut *(*file.cast::<File>()).state }
}

/// # Safety
/// `real` is an open file of the default VFS.
unsafe fn methods(real: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    unsafe { &*(*real).pMethods }
}

impl State {
    fn over(real: *mut ffi::sqlite3_file) -> Self {
        State {
            wal: ptr::null_mut(),
            db: ptr::null_mut(),
            real,
            held: Vec::new(),
            held_at: 0,
            commit_page_next: false,
            asked: 0,
            made: 0,
        }
    }

    /// Writes what is held.
    ///
    /// # Safety
    /// `self.real` is open.
    unsafe fn write_held(&mut self) -> c_int {
        if self.held.is_empty() {
            return ffi::SQLITE_OK;
        }
        self.commit_page_next = false;
        let real_write = unsafe { methods(self.real).xWrite.expect("xWrite") };
        let mut rc = ffi::SQLITE_OK;
        let mut at = self.held_at;
        for piece in self.held.chunks(WRITE_AT_MOST) {
            self.made += 1;
            // SAFETY: `piece` is at most WRITE_AT_MOST bytes, which fits a c_int.
            rc = unsafe { real_write(self.real, piece.as_ptr().cast(), piece.len() as c_int, at) };
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += piece.len() as i64;
        }
        self.held.clear();
        rc
    }
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    unsafe {
        let default = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
        let real_open = (*default).xOpen.expect("xOpen");
        let wal = flags & ffi::SQLITE_OPEN_WAL != 0;
        if !wal && flags & ffi::SQLITE_OPEN_MAIN_DB == 0 {
            // Journals and temporary files: the default VFS's, in place.
            return real_open(default, name, file, flags, out_flags);
        }
        (*file).pMethods = ptr::null();
        let real = real_of(file);
        let rc = real_open(default, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            // SQLite closes only what it sees open (our `pMethods` is null).
            if !(*real).pMethods.is_null()
                && let Some(close) = methods(real).xClose
            {
                close(real);
            }
            return rc;
        }
        let state = Box::into_raw(Box::new(State::over(real)));
        if wal && !name.is_null() {
            // The WAL's name, as the pager passes it, leads to its database file.
            let db = ffi::sqlite3_database_file_object(name);
            if !db.is_null() && ptr::eq((*db).pMethods, &METHODS) {
                let db = state_of(db);
                db.wal = state;
                (*state).db = db;
            }
        }
        (*file.cast::<File>()).state = state;
        (*file).pMethods = &METHODS;
        ffi::SQLITE_OK
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// Writes what `file` holds and then runs `then` on the real file, unless the write failed.
///
/// # Safety
/// `file` is open and ours.
unsafe fn after_held(
    file: *mut ffi::sqlite3_file,
    then: impl FnOnce(*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) -> c_int,
) -> c_int {
    unsafe {
        let state = state_of(file);
        let rc = state.write_held();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        then(state.real, methods(state.real))
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let state = Box::from_raw((*file.cast::<File>()).state);
        (*file.cast::<File>()).state = ptr::null_mut();
        let mut state = state;
        let written = state.write_held();
        if !state.db.is_null() {
            (*state.db).wal = ptr::null_mut();
        }
        if !state.wal.is_null() {
            (*state.wal).db = ptr::null_mut();
        }
        let closed = (methods(state.real).xClose.expect("xClose"))(state.real);
        (*file).pMethods = ptr::null();
        if written != ffi::SQLITE_OK {
            written
        } else {
            closed
        }
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        after_held(file, |real, m| {
            m.xRead.expect("xRead")(real, buf, amount, offset)
        })
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let state = state_of(file);
        let real_write = methods(state.real).xWrite.expect("xWrite");
        state.asked += 1;
        if state.db.is_null() || amount <= 0 {
            state.made += 1;
            return real_write(state.real, buf, amount, offset);
        }
        if !state.held.is_empty() && offset != state.held_at + state.held.len() as i64 {
            let rc = state.write_held();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if state.held.is_empty() {
            state.held_at = offset;
        }
        let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), amount as usize);
        state.held.extend_from_slice(bytes);
        let ends_commit = if amount == FRAME_HEADER_BYTES {
            // Bytes 4..8 of a frame header: the database's size in pages after a commit,
            // zero in every other frame.
            state.commit_page_next = bytes[4..8] != [0, 0, 0, 0];
            false
        } else {
            state.commit_page_next
        };
        if ends_commit || state.held.len() >= HOLD_AT_MOST {
            return state.write_held();
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    unsafe { after_held(file, |real, m| m.xTruncate.expect("xTruncate")(real, size)) }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    unsafe { after_held(file, |real, m| m.xSync.expect("xSync")(real, flags)) }
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    unsafe { after_held(file, |real, m| m.xFileSize.expect("xFileSize")(real, size)) }
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe {
        let real = state_of(file).real;
        methods(real).xLock.expect("xLock")(real, level)
    }
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe {
        let real = state_of(file).real;
        methods(real).xUnlock.expect("xUnlock")(real, level)
    }
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    unsafe {
        let real = state_of(file).real;
        methods(real)
            .xCheckReservedLock
            .expect("xCheckReservedLock")(real, out)
    }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    unsafe {
        after_held(file, |real, m| {
            m.xFileControl.expect("xFileControl")(real, op, arg)
        })
    }
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let real = state_of(file).real;
        methods(real).xSectorSize.expect("xSectorSize")(real)
    }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let real = state_of(file).real;
        methods(real)
            .xDeviceCharacteristics
            .expect("xDeviceCharacteristics")(real)
    }
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    unsafe {
        let real = state_of(file).real;
        match methods(real).xShmMap {
            Some(map) => map(real, region, size, extend, out),
            None => ffi::SQLITE_IOERR_SHMMAP,
        }
    }
}

unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    unsafe {
        let state = state_of(file);
        let releases_write_lock = flags & ffi::SQLITE_SHM_UNLOCK != 0
            && flags & ffi::SQLITE_SHM_EXCLUSIVE != 0
            && offset <= WAL_WRITE_LOCK
            && WAL_WRITE_LOCK < offset + n;
        let mut written = ffi::SQLITE_OK;
        if releases_write_lock && !state.wal.is_null() {
            written = (*state.wal).write_held();
        }
        let rc = match methods(state.real).xShmLock {
            Some(shm_lock) => shm_lock(state.real, offset, n, flags),
            None => ffi::SQLITE_IOERR_SHMLOCK,
        };
        if written != ffi::SQLITE_OK {
            written
        } else {
            rc
        }
    }
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    unsafe {
        let real = state_of(file).real;
        if let Some(barrier) = methods(real).xShmBarrier {
            barrier(real)
        }
    }
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    unsafe {
        let real = state_of(file).real;
        match methods(real).xShmUnmap {
            Some(unmap) => unmap(real, delete),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    unsafe {
        after_held(file, |real, m| match m.xFetch {
            Some(fetch) if m.iVersion >= 3 => fetch(real, offset, amount, out),
            _ => {
                *out = ptr::null_mut();
                ffi::SQLITE_OK
            }
        })
    }
}

unsafe extern "C" fn unfetch(file: *mut ffi::sqlite3_file, offset: i64, p: *mut c_void) -> c_int {
    unsafe {
        let real = state_of(file).real;
        let m = methods(real);
        match m.xUnfetch {
            Some(unfetch) if m.iVersion >= 3 => unfetch(real, offset, p),
            _ => ffi::SQLITE_OK,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{Connection, Row, SqliteConnection};

    use super::*;

    /// A connection to `path` in WAL mode, through this VFS or SQLite's default (standing in for
    /// another process: `sqlite3`, or an older `eligo`).
    async fn connect(
        path: &std::path::Path,
        ours: bool,
        sync: SqliteSynchronous,
    ) -> SqliteConnection {
        register().unwrap();
        let mut options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync);
        if ours {
            options = options.vfs(NAME);
        }
        SqliteConnection::connect_with(&options).await.unwrap()
    }

    /// (writes SQLite asked of the connection's WAL, writes that reached the file, bytes held)
    async fn wal_writes(conn: &mut SqliteConnection) -> (u64, u64, usize) {
        let mut handle = conn.lock_handle().await.unwrap();
        let mut wal: *mut ffi::sqlite3_file = ptr::null_mut();
        // SAFETY: the handle is locked; the journal pointer is the connection's open WAL.
        unsafe {
            let rc = ffi::sqlite3_file_control(
                handle.as_raw_handle().as_ptr(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_JOURNAL_POINTER,
                (&raw mut wal).cast(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            assert!(ptr::eq((*wal).pMethods, &METHODS), "the WAL is ours");
            let state = state_of(wal);
            (state.asked, state.made, state.held.len())
        }
    }

    async fn rows(conn: &mut SqliteConnection) -> (i64, i64) {
        let row = sqlx::query("SELECT count(*), coalesce(sum(n), 0) FROM t")
            .fetch_one(conn)
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    async fn intact(path: &std::path::Path) -> (i64, i64) {
        let mut fresh = connect(path, false, SqliteSynchronous::Full).await;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut fresh)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        rows(&mut fresh).await
    }

    const CREATE: &str = "CREATE TABLE t (n INTEGER NOT NULL, pad BLOB NOT NULL)";
    const INSERT: &str = "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?2) \
                          INSERT INTO t (n, pad) SELECT n, randomblob(?1) FROM k";

    async fn insert(conn: &mut SqliteConnection, rows: i64, bytes: i64) {
        sqlx::query(INSERT)
            .bind(bytes)
            .bind(rows)
            .execute(conn)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_commits_frames_reach_the_wal_in_a_few_writes_and_stay_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let mut conn = connect(&path, true, SqliteSynchronous::Full).await;
        sqlx::query(CREATE).execute(&mut conn).await.unwrap();
        let before = wal_writes(&mut conn).await;
        // About 250 pages: two writes each from SQLite.
        insert(&mut conn, 1_000, 900).await;
        let after = wal_writes(&mut conn).await;
        let (asked, made) = (after.0 - before.0, after.1 - before.1);
        assert!(asked >= 400, "SQLite wrote {asked} times");
        assert!(
            made * 20 <= asked,
            "{made} writes reached the file for {asked} asked"
        );
        // A transaction larger than what is held (spilled and committed) commits whole.
        let mut tx = conn.begin().await.unwrap();
        insert(&mut tx, 12_000, 900).await;
        tx.commit().await.unwrap();
        drop(conn);
        let sum = |k: i64| k * (k + 1) / 2;
        assert_eq!(intact(&path).await, (13_000, sum(1_000) + sum(12_000)));
    }

    #[tokio::test]
    async fn a_reader_sees_every_commit_even_when_the_writer_does_not_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        // NORMAL: a commit publishes its frames without a sync, so nothing but the commit frame
        // itself writes what was held before another connection may look for it.
        let mut writer = connect(&path, true, SqliteSynchronous::Normal).await;
        sqlx::query(CREATE).execute(&mut writer).await.unwrap();
        let mut reader = connect(&path, true, SqliteSynchronous::Full).await;
        let mut other = connect(&path, false, SqliteSynchronous::Full).await;
        let mut expected = (0, 0);
        for round in 1..=40_i64 {
            insert(&mut writer, round * 5, 300).await;
            expected = (
                expected.0 + round * 5,
                expected.1 + round * 5 * (round * 5 + 1) / 2,
            );
            assert_eq!(rows(&mut reader).await, expected, "round {round}");
            assert_eq!(rows(&mut other).await, expected, "round {round}");
        }
        drop((writer, reader, other));
        assert_eq!(intact(&path).await, expected);
    }

    #[tokio::test]
    async fn frames_spilled_by_a_rolled_back_transaction_never_land_on_a_later_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let mut ours = connect(&path, true, SqliteSynchronous::Full).await;
        sqlx::query(CREATE).execute(&mut ours).await.unwrap();
        insert(&mut ours, 10, 100).await;
        // An empty WAL, so that undoing the transaction below reads nothing from it (a read
        // would write what is held, and hide what this test is after).
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut ours)
            .await
            .unwrap();
        // A page cache of 16 pages: the transaction below writes frames to the WAL before it
        // ends (a spill), and then rolls back.
        sqlx::query("PRAGMA cache_size = 16")
            .execute(&mut ours)
            .await
            .unwrap();
        let mut tx = ours.begin().await.unwrap();
        insert(&mut tx, 300, 1_000).await;
        let (asked, _, held) = wal_writes(&mut tx).await;
        assert!(asked > 20, "the transaction spilled ({asked} writes)");
        assert!(held > 0, "frames are held while the transaction runs");
        tx.rollback().await.unwrap();
        // Undoing it read nothing from the WAL; releasing the write lock wrote them.
        assert_eq!(
            wal_writes(&mut ours).await.2,
            0,
            "nothing held after the rollback"
        );
        // Another process commits where those frames were written.
        let mut other = connect(&path, false, SqliteSynchronous::Full).await;
        insert(&mut other, 200, 500).await;
        // Ours reads those pages from the WAL, and writes again.
        assert_eq!(rows(&mut ours).await, (210, 55 + 200 * 201 / 2));
        insert(&mut ours, 1, 10).await;
        drop((ours, other));
        assert_eq!(intact(&path).await, (211, 55 + 200 * 201 / 2 + 1));
    }

    thread_local! {
        /// What the recording file below was asked to write: (offset, length).
        static WRITTEN: std::cell::RefCell<Vec<(i64, c_int)>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    unsafe extern "C" fn record_write(
        _: *mut ffi::sqlite3_file,
        _: *const c_void,
        amount: c_int,
        offset: i64,
    ) -> c_int {
        WRITTEN.with(|w| w.borrow_mut().push((offset, amount)));
        ffi::SQLITE_OK
    }

    static RECORDING: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
        iVersion: 1,
        xClose: None,
        xRead: None,
        xWrite: Some(record_write),
        xTruncate: None,
        xSync: None,
        xFileSize: None,
        xLock: None,
        xUnlock: None,
        xCheckReservedLock: None,
        xFileControl: None,
        xSectorSize: None,
        xDeviceCharacteristics: None,
        xShmMap: None,
        xShmLock: None,
        xShmBarrier: None,
        xShmUnmap: None,
        xFetch: None,
        xUnfetch: None,
    };

    #[test]
    fn frames_are_held_until_the_commit_frames_page_then_written_in_pieces() {
        // A WAL of ours over a file that records its writes, linked to a database file.
        let mut real = ffi::sqlite3_file {
            pMethods: &RECORDING,
        };
        let mut db = Box::new(State::over(ptr::null_mut()));
        let wal = Box::into_raw(Box::new(State {
            db: &mut *db,
            ..State::over(&mut real)
        }));
        let mut file = File {
            base: ffi::sqlite3_file { pMethods: &METHODS },
            state: wal,
        };
        let file: *mut ffi::sqlite3_file = (&raw mut file).cast();
        let page = vec![7u8; 4096];
        let header = |commit: bool| {
            let mut h = [0u8; 24];
            if commit {
                h[7] = 9;
            }
            h
        };
        let frame = 24 + 4096_i64;
        let written = || WRITTEN.with(|w| w.borrow().clone());
        // SAFETY: the file and its state live until the end of the test.
        unsafe {
            let mut at = 32;
            for n in 0..40 {
                let commit = n == 39;
                let h = header(commit);
                assert_eq!(write(file, h.as_ptr().cast(), 24, at), ffi::SQLITE_OK);
                assert_eq!(
                    write(file, page.as_ptr().cast(), 4096, at + 24),
                    ffi::SQLITE_OK
                );
                at += frame;
                if !commit {
                    assert!(written().is_empty(), "frame {n} held");
                }
            }
            // The commit frame's page wrote all 40 frames, in pieces of at most WRITE_AT_MOST.
            let pieces = written();
            assert_eq!(pieces.len(), (40 * frame as usize).div_ceil(WRITE_AT_MOST));
            assert_eq!(pieces[0].0, 32);
            assert_eq!(pieces.iter().map(|p| p.1 as i64).sum::<i64>(), 40 * frame);
            assert!(pieces.windows(2).all(|p| p[0].0 + p[0].1 as i64 == p[1].0));
            assert!((*wal).held.is_empty());
            // A frame that is not a commit's is held, and a write elsewhere writes it first.
            WRITTEN.with(|w| w.borrow_mut().clear());
            let h = header(false);
            write(file, h.as_ptr().cast(), 24, at);
            write(file, page.as_ptr().cast(), 4096, at + 24);
            assert!(written().is_empty());
            write(file, page.as_ptr().cast(), 4096, 32 + 24);
            assert_eq!(written(), vec![(at, frame as c_int)]);
            // ...and the database file releasing the write lock writes what is held.
            WRITTEN.with(|w| w.borrow_mut().clear());
            (*wal).held.clear();
            write(file, h.as_ptr().cast(), 24, at);
            db.wal = wal;
            let mut db_real = ffi::sqlite3_file {
                pMethods: &RECORDING,
            };
            db.real = &mut db_real;
            let mut db_file = File {
                base: ffi::sqlite3_file { pMethods: &METHODS },
                state: &mut *db,
            };
            let db_file: *mut ffi::sqlite3_file = (&raw mut db_file).cast();
            // (the recording file has no shared memory: the lock answers an error)
            shm_lock(
                db_file,
                0,
                1,
                ffi::SQLITE_SHM_UNLOCK | ffi::SQLITE_SHM_EXCLUSIVE,
            );
            assert_eq!(written(), vec![(at, 24)]);
            drop(Box::from_raw(wal));
        }
    }
}
