//! A PostgreSQL cluster of one test's own, which that test may stop, crash and start again: the
//! shared test cluster of `pg.rs` must never go down under the other tests.
//!
//! Made like `pg.rs`'s ([`ClusterDir`]: the same server binaries, `initdb` and settings), except
//! that a commit waits for its WAL to be written (`synchronous_commit=on`), as in production: a
//! crash ([`Halt::Crash`]) then loses nothing a commit returned for. `fsync` stays off, which
//! matters only if the operating system goes down, as no test makes it. Each
//! start runs `postgres` under a small `sh` watchdog that stops it once this test process is gone
//! (exit, panic, crash or SIGKILL alike) and then deletes the directory; [`Cluster`]'s `Drop` does
//! both otherwise.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::pg::ClusterDir;

/// Watchdog: `$1` = test pid, `$2` = directory, `$3...` = postgres command. Postgres gets SIGINT
/// (fast shutdown) once the test pid is gone, and the directory goes with it then.
const WATCHDOG: &str = r#"pid=$1; dir=$2; shift 2
"$@" </dev/null & pg=$!
( while [ -d "/proc/$pid" ] || kill -0 "$pid" 2>/dev/null; do sleep 1; done
  kill -INT "$pg" 2>/dev/null ) & watcher=$!
wait "$pg"; status=$?
kill "$watcher" 2>/dev/null
[ -d "/proc/$pid" ] || kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
exit "$status""#;

/// How [`Cluster::halt`] takes `postgres` down.
#[derive(Clone, Copy, Debug)]
pub enum Halt {
    /// Fast shutdown (SIGINT): sessions are ended and a checkpoint writes everything out.
    Fast,
    /// Immediate shutdown (SIGQUIT), as in a crash: every process exits at once, nothing is
    /// written out, and the next start recovers from the WAL on disk.
    Crash,
}

/// A private cluster on a free loopback port, with trust authentication for `postgres`.
pub struct Cluster {
    pg: ClusterDir,
    watchdog: Option<Child>,
}

impl Cluster {
    /// Creates and starts the cluster.
    pub fn start() -> Self {
        let mut cluster = Self {
            pg: ClusterDir::create("tokenmint-pg-fault-"),
            watchdog: None,
        };
        cluster.resume();
        cluster
    }

    /// The URL of a database of this cluster.
    pub fn url(&self, database: &str) -> String {
        self.pg.url(database)
    }

    /// Starts `postgres` (again, on the same port and data) and waits until it accepts connections.
    pub fn resume(&mut self) {
        assert!(self.watchdog.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.pg.dir.join("postgres.log"))
            .unwrap();
        let child = self
            .pg
            .postgres_under(WATCHDOG)
            .args(["-c", "synchronous_commit=on"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.pg.is_ready() {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops `postgres` (fast shutdown: sessions are ended, a checkpoint writes everything out)
    /// and waits until it has exited.
    pub fn stop(&mut self) {
        self.halt(Halt::Fast);
    }

    /// Takes `postgres` down as `halt` says and waits until it has exited.
    pub fn halt(&mut self, halt: Halt) {
        let Some(mut watchdog) = self.watchdog.take() else {
            return;
        };
        let pid_file = std::fs::read_to_string(self.pg.dir.join("data/postmaster.pid"));
        if let Some(pid) = pid_file
            .ok()
            .and_then(|f| f.lines().next().map(str::to_owned))
        {
            let signal = match halt {
                Halt::Fast => "-INT",
                Halt::Crash => "-QUIT",
            };
            let _ = Command::new("kill").args([signal, &pid]).status();
        }
        let _ = watchdog.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.pg.dir);
    }
}
