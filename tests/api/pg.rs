//! Throwaway PostgreSQL for the integration tests: [`fresh_database_url`] hands every caller a
//! brand-new, empty database. If `DATABASE_URL` points at a PostgreSQL server, the databases are
//! created there. Otherwise the first call starts one private cluster for this test process
//! (server binaries from `PG_BIN`, `pg_config --bindir` or `/usr/lib/postgresql/*/bin`; run as
//! the `postgres` OS user through `runuser` when we are root, since PostgreSQL refuses to run as
//! root) in a fresh directory under /tmp, on a free loopback port, with durability switched off.
//! Postgres runs under a small `sh` watchdog that polls for this test process every second and,
//! once it is gone (exit, panic, crash or SIGKILL alike), shuts the server down fast and deletes
//! the directory, so no cluster outlives the tests. Only plain data (the admin URL) is shared
//! between tests, never a pool or anything else tied to one test's tokio runtime.

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

/// Admin URL of this process's private cluster, or why it could not be started (kept, so the
/// remaining tests fail at once with the same message instead of each retrying for 30 s).
static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();

/// Server settings: loopback only, no durability (throwaway data), room for many test pools.
pub const SETTINGS: &str = "listen_addresses=127.0.0.1 logging_collector=off fsync=off \
    synchronous_commit=off full_page_writes=off max_connections=300 shared_buffers=64MB";

/// Watchdog: `$1` = test pid, `$2` = directory to delete afterwards, `$3...` = postgres command.
/// It exits when postgres does; postgres gets SIGINT (fast shutdown) once the test pid is gone.
/// `[ -d /proc/PID ]`, as `kill -0` on a root-owned pid fails (EPERM) for the postgres user;
/// `kill -0` is the fallback where there is no /proc.
const WATCHDOG: &str = r#"pid=$1; dir=$2; shift 2
"$@" </dev/null & pg=$!
( while [ -d "/proc/$pid" ] || kill -0 "$pid" 2>/dev/null; do sleep 1; done
  kill -INT "$pg" 2>/dev/null ) & watcher=$!
wait "$pg"; status=$?
kill "$watcher" 2>/dev/null
rm -rf "$dir"
echo "watchdog: postgres exited with status $status" >&2; exit "$status""#;

/// Returns a connection URL (postgres://...) to a brand-new, empty database created for the caller.
pub async fn fresh_database_url() -> String {
    let admin_url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => tokio::task::spawn_blocking(|| CLUSTER.get_or_init(start_cluster_once).clone())
            .await
            .expect("PostgreSQL start-up task failed")
            .unwrap_or_else(|msg| panic!("{msg}")),
    };
    let name = format!("tm_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test PostgreSQL at {admin_url}: {e}"));
    conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
    conn.close().await.ok();
    let mut url = url::Url::parse(&admin_url).expect("DATABASE_URL is not a valid URL");
    url.set_path(&name);
    url.to_string()
}

/// Runs [`start_cluster`], turning a panic into a cached error message.
fn start_cluster_once() -> Result<String, String> {
    std::panic::catch_unwind(start_cluster).map_err(|e| {
        let msg = e.downcast_ref::<String>().map(String::as_str);
        let msg = msg.or(e.downcast_ref::<&str>().copied());
        format!(
            "could not start the test PostgreSQL cluster: {}",
            msg.unwrap_or("?")
        )
    })
}

fn start_cluster() -> String {
    let cluster = ClusterDir::create("tokenmint-pg-");
    // The log is created by us and handed over as stdout/stderr; our own read handle keeps it
    // readable even after the watchdog has deleted the directory.
    let log_path = cluster.dir.join("postgres.log");
    let log = File::create(&log_path).expect("cannot create postgres.log");
    let mut log_reader = File::open(&log_path).expect("cannot open postgres.log");
    let mut watchdog = cluster.postgres_under(WATCHDOG);
    watchdog
        .stdout(log.try_clone().expect("cannot duplicate the log handle"))
        .stderr(log)
        .process_group(0); // a terminal's Ctrl-C is for the tests; the watchdog cleans up itself
    #[allow(clippy::zombie_processes)] // must outlive us; reaped by init once we are gone
    let mut child = watchdog
        .spawn()
        .expect("cannot start the postgres watchdog");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if cluster.is_ready() {
            return cluster.url("postgres");
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            std::thread::sleep(Duration::from_millis(200)); // let the last log lines land
            let mut log = String::new();
            log_reader.read_to_string(&mut log).ok();
            let why = exited.map_or("did not become ready within 30 s".into(), |s| s.to_string());
            panic!("postgres on port {}: {why}; its log:\n{log}", cluster.port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A new cluster's directory under /tmp, initialised (`initdb`, trust authentication for the
/// `postgres` role) and owned by the `postgres` OS user when we are root, with a free loopback
/// port for it; `postgres` is not started. Shared by this file's cluster and the fault tests' own.
pub struct ClusterDir {
    /// The server binaries.
    pub bin: PathBuf,
    /// Whether commands run as the `postgres` OS user (we are root).
    pub as_root: bool,
    /// The cluster's directory (`data/` holds the cluster itself).
    pub dir: PathBuf,
    /// The port `postgres` is to listen on.
    pub port: u16,
}

impl ClusterDir {
    /// Creates and initialises the directory; panics with the reason when it cannot.
    pub fn create(prefix: &str) -> Self {
        let bin = server_bin_dir();
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        // Directly under /tmp: traversable by the postgres user, and short enough for a socket path.
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .expect("cannot create a temporary directory under /tmp")
            .keep();
        if as_root {
            let chown = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&dir)
                .status();
            assert!(
                chown.is_ok_and(|s| s.success()),
                "chown to the `postgres` OS user failed"
            );
        }
        let initdb = pg_command(as_root, &dir, &bin.join("initdb"))
            .arg("-D")
            .arg(dir.join("data"))
            .args("-A trust -U postgres --no-sync -E UTF8 --locale=C".split(' '))
            .output()
            .expect("cannot run initdb");
        if !initdb.status.success() {
            std::fs::remove_dir_all(&dir).ok();
            let (out, err) = (initdb.stdout, initdb.stderr);
            let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
            panic!("initdb failed:\n{out}{err}");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("cannot find a free port")
            .port();
        Self {
            bin,
            as_root,
            dir,
            port,
        }
    }

    /// `sh -c <watchdog>` with the watchdog's arguments: this test process's pid, the directory,
    /// then the `postgres` command for this cluster with [`SETTINGS`]. Its stdin is closed; its
    /// output is the caller's to direct.
    pub fn postgres_under(&self, watchdog: &str) -> Command {
        let mut command = pg_command(self.as_root, &self.dir, Path::new("sh"));
        command.args(["-c", watchdog, "pg-watchdog"]);
        command.arg(std::process::id().to_string()).arg(&self.dir);
        command
            .arg(self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.join("data"));
        command
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir);
        for setting in SETTINGS.split_whitespace() {
            command.args(["-c", setting]);
        }
        command.stdin(Stdio::null());
        command
    }

    /// Whether `postgres` accepts connections on the port.
    pub fn is_ready(&self) -> bool {
        is_ready(&self.bin, self.port)
    }

    /// The URL of one of the cluster's databases, as the `postgres` role.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

/// `pg_isready` if the bin dir has it, else a plain TCP connect.
fn is_ready(bin: &Path, port: u16) -> bool {
    let port_arg = port.to_string();
    match Command::new(bin.join("pg_isready"))
        .args([
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &port_arg,
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .status()
    {
        Ok(status) => status.success(),
        Err(_) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
    }
}

/// `program`, run as the `postgres` OS user when we are root, from a directory it can enter.
fn pg_command(as_root: bool, cwd: &Path, program: &Path) -> Command {
    let mut cmd = if as_root {
        let mut runuser = Command::new("runuser");
        runuser.args(["-u", "postgres", "--"]).arg(program);
        runuser
    } else {
        Command::new(program)
    };
    cmd.current_dir(cwd);
    cmd
}

pub fn server_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return dir.into();
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").is_file() {
            return dir;
        }
    }
    let version = |name: &str| -> Option<Vec<u32>> {
        name.split('.').map(|part| part.parse().ok()).collect()
    };
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((version(e.file_name().to_str()?)?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .max()
        .map(|(_, bin)| bin)
        .expect(
            "no PostgreSQL server binaries found (tried $PG_BIN, `pg_config --bindir`, \
             /usr/lib/postgresql/*/bin): install them with `apt-get install postgresql`, \
             set PG_BIN to the directory holding initdb and postgres, \
             or set DATABASE_URL=postgres://... to use a running server",
        )
}
