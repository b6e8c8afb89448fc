//! A PostgreSQL cluster of one test's own, which that test may stop and start again: the shared
//! test cluster of `pg.rs` must never go down under the other tests.
//!
//! Built from the same server binaries and settings as `pg.rs`. Each start runs `postgres` under a
//! small `sh` watchdog that stops it once this test process is gone (exit, panic, crash or
//! SIGKILL alike) and then deletes the directory; [`Cluster`]'s `Drop` does both otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pg::{is_ready, pg_command, server_bin_dir, SETTINGS};

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

/// A private cluster on a free loopback port, with trust authentication for `postgres`.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_root: bool,
    port: u16,
    watchdog: Option<Child>,
}

impl Cluster {
    /// Creates and starts the cluster.
    pub fn start() -> Self {
        let bin = server_bin_dir();
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        let dir = tempfile::Builder::new()
            .prefix("tokenmint-pg-fault-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        if as_root {
            let chown = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&dir)
                .status();
            assert!(chown.is_ok_and(|s| s.success()));
        }
        let initdb = pg_command(as_root, &dir, &bin.join("initdb"))
            .arg("-D")
            .arg(dir.join("data"))
            .args("-A trust -U postgres --no-sync -E UTF8 --locale=C".split(' '))
            .output()
            .unwrap();
        assert!(initdb.status.success(), "initdb failed: {initdb:?}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cluster = Self {
            dir,
            bin,
            as_root,
            port,
            watchdog: None,
        };
        cluster.resume();
        cluster
    }

    /// The URL of a database of this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts `postgres` (again, on the same port and data) and waits until it accepts connections.
    pub fn resume(&mut self) {
        assert!(self.watchdog.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("postgres.log"))
            .unwrap();
        let mut watchdog = pg_command(self.as_root, &self.dir, Path::new("sh"));
        watchdog.args(["-c", WATCHDOG, "pg-watchdog"]);
        watchdog.arg(std::process::id().to_string()).arg(&self.dir);
        watchdog
            .arg(self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.join("data"));
        watchdog
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir);
        for setting in SETTINGS.split_whitespace() {
            watchdog.args(["-c", setting]);
        }
        let child = watchdog
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !is_ready(&self.bin, self.port) {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops `postgres` (fast shutdown: sessions are ended) and waits until it has exited.
    pub fn stop(&mut self) {
        let Some(mut watchdog) = self.watchdog.take() else {
            return;
        };
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid"));
        if let Some(pid) = pid_file
            .ok()
            .and_then(|f| f.lines().next().map(str::to_owned))
        {
            let _ = Command::new("kill").args(["-INT", &pid]).status();
        }
        let _ = watchdog.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
