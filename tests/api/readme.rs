//! The README runs as written. Its `sh` blocks are extracted in order and run, one after the
//! other in one bash session (so a variable a block captures serves the blocks after it), against
//! the binary serving a fresh data folder, exactly as a newcomer pastes them into a second
//! terminal after `cargo run`. The run stops at the first block that fails, and the test names it.
//!
//! What the session provides, and why:
//! - The working folder is a fresh temporary one holding only `config/` (a link to the
//!   repository's) and the service's `data/`, as a fresh clone's root would after `cargo run`.
//!   Anything else a block leaves there would have landed in the reader's clone, so it fails the
//!   test: examples write their files under a temporary folder of their own.
//! - `cargo` is a stand-in on `PATH`: `cargo run` and `cargo test` are the service already
//!   started and the suite already running; `cargo run [-q] -- <args>` is the built binary.
//! - `curl` reads a `.curlrc` with `--fail-with-body`, so an example answered with an HTTP error
//!   fails its block instead of printing an error body nobody reads.
//! - `bash -euo pipefail`: a failed command or an unset variable (an id never captured) fails too.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary::BIN;

/// The README, as committed.
const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

/// The longest the whole README may take (it takes seconds; a hang must not hang the suite).
const TIMEOUT: Duration = Duration::from_secs(300);

/// One `sh` block: its first line's number in the README and its text.
#[derive(Debug, PartialEq)]
struct Block {
    line: usize,
    text: String,
}

/// The README's fenced blocks whose info string is exactly `sh`, in order.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(bool, usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                let info = line.trim_start().trim_start_matches('`').trim();
                open = Some((info == "sh", index + 2, String::new()));
            }
            (Some((is_sh, first, text)), true) => {
                if *is_sh {
                    blocks.push(Block {
                        line: *first,
                        text: std::mem::take(text),
                    });
                }
                open = None;
            }
            (Some((_, _, text)), false) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

/// The session script: each block announced on stderr, then run as written.
fn script(blocks: &[Block]) -> String {
    let mut script = String::new();
    for (number, block) in blocks.iter().enumerate() {
        script.push_str(&format!(
            "echo '>>> README block {} (line {})' >&2\n{}\n",
            number + 1,
            block.line,
            block.text
        ));
    }
    script.push_str("echo '>>> README done' >&2\n");
    script
}

/// `cargo` as the README's blocks meet it (see the module comment).
const CARGO_STAND_IN: &str = r#"#!/bin/sh
# The README test's cargo: the service is running and the suite is this run.
case "$1" in
  run)
    shift
    [ "${1:-}" = "-q" ] && shift
    [ $# -eq 0 ] && exit 0
    [ "$1" = "--" ] && shift
    exec "$TOKENMINT_BIN" "$@"
    ;;
  test) exit 0 ;;
esac
echo "the README test's cargo does not know: cargo $*" >&2
exit 2
"#;

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment of both the service and the blocks: the newcomer's shell, with the port the
/// test picked instead of 8080.
fn session_env(command: &mut Command, tools: &Path, home: &Path, port: u16) {
    let path = std::env::var("PATH").unwrap_or_default();
    command
        .env_clear()
        .env("PATH", format!("{}:{path}", tools.display()))
        .env("HOME", home)
        .env("TOKENMINT_BIN", BIN)
        .env("TOKENMINT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn");
}

/// What is in the working folder besides what a fresh clone's root holds after `cargo run`.
fn leftovers(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| !["config", "data"].iter().any(|kept| path.ends_with(kept)))
        .collect()
}

#[test]
fn every_sh_block_of_the_readme_runs_in_order_against_a_fresh_service() {
    let readme = std::fs::read_to_string(README).unwrap();
    let blocks = sh_blocks(&readme);
    assert!(blocks.len() >= 5, "the README's sh blocks: {blocks:?}");

    let root = tempfile::tempdir().unwrap();
    let session = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        root.path().join("config"),
    )
    .unwrap();
    let tools = session.path().join("bin");
    let home = session.path().join("home");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let cargo = tools.join("cargo");
    std::fs::write(&cargo, CARGO_STAND_IN).unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(home.join(".curlrc"), "fail-with-body\n").unwrap();

    // `cargo run`: the service on a fresh data folder, up once it says so.
    let port = free_port();
    let mut command = Command::new(BIN);
    session_env(&mut command, &tools, &home, port);
    let mut child = command
        .current_dir(root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut service_log = child.stderr.take().unwrap();
    let service = Service(child);
    let mut banner = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("tokenmint is up") {
            break;
        }
    }
    assert!(banner.contains("tokenmint is up"), "{banner}");

    // The blocks, in one session.
    let mut command = Command::new("bash");
    session_env(&mut command, &tools, &home, port);
    let mut run = command
        .args(["--noprofile", "--norc", "-euo", "pipefail", "-c"])
        .arg(script(&blocks))
        .current_dir(root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = run.stdout.take().unwrap();
    let mut err = run.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            let _ = run.kill();
            let _ = run.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let succeeded = status.is_some_and(|status| status.success());
    if !succeeded {
        let failed = err
            .lines()
            .filter_map(|line| line.strip_prefix(">>> README block "))
            .next_back()
            .unwrap_or("before the first block");
        let mut log = String::new();
        drop(service);
        let _ = service_log.read_to_string(&mut log);
        panic!(
            "README block {failed} failed ({status:?})\n--- stdout ---\n{out}\n--- stderr ---\n{err}\n\
             --- service log ---\n{log}"
        );
    }
    assert!(err.contains(">>> README done"), "{err}");
    let left = leftovers(root.path());
    assert!(
        left.is_empty(),
        "the README's blocks left files where a reader's clone would keep them: {left:?}"
    );
    println!(
        "{} README blocks ran in {:?}",
        blocks.len(),
        started.elapsed()
    );
}

#[test]
fn sh_blocks_are_found_in_order_and_other_blocks_are_not() {
    let markdown = "text\n```sh\necho one\n```\n```js\nno\n```\n  ```sh\necho two\n```\n";
    assert_eq!(
        sh_blocks(markdown),
        [
            Block {
                line: 3,
                text: "echo one\n".into()
            },
            Block {
                line: 9,
                text: "echo two\n".into()
            }
        ]
    );
}
