//! The stock OAuth 2.0 clients `POST /oauth/token` must serve (CONTRACT.md F), as integrators
//! run them: Python's Authlib (`tests/stock/authlib_client.py`: client_secret_basic,
//! private_key_jwt) and Node's openid-client (`tests/stock/openid_client.mjs`: client_secret_post
//! or _basic, DPoP), each verifying its token against the service's JWKS. Their pinned packages
//! (`requirements.txt` with hashes, `package-lock.json`) are installed once into
//! `target/stock-clients/`, again when the pins change, never globally; tests that need them at
//! the same moment, in threads or processes, wait for one install instead of racing it.
//!
//! Needs python3 (3.11+) with venv, Node.js 20+ with npm, and PyPI and the npm registry for the
//! first install. It never skips.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::json;

use crate::binary::run;
use crate::browser::npm_ci;
use crate::helpers::{standard_client_body, TestApp};

/// The stock clients' folder: the pins and the scripts.
pub const STOCK_TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stock");

/// How pip installs the pins: every file checked against its hash, wheels only (nothing is
/// compiled here).
const PIP_INSTALL: [&str; 8] = [
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
    "--no-input",
    "--require-hashes",
    "--only-binary=:all:",
];

/// `target/stock-clients/`, beside cargo's `CARGO_TARGET_TMPDIR` (`<target dir>/tmp`).
fn installs() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).with_file_name("stock-clients")
}

/// The Python of a venv (`target/stock-clients/python`) holding `requirements.txt`'s packages.
pub fn python() -> PathBuf {
    let venv = installs().join("python");
    let requirements = Path::new(STOCK_TESTS).join("requirements.txt");
    install_once(&venv, std::slice::from_ref(&requirements), |venv| {
        install_step(
            Command::new("python3").args(["-m", "venv"]).arg(venv),
            "python3 -m venv (install Python 3.11+ with venv; Debian: apt-get install python3-venv)",
        );
        install_step(
            Command::new(venv.join("bin/python"))
                .args(PIP_INSTALL)
                .arg("-r")
                .arg(&requirements),
            "pip install -r tests/stock/requirements.txt (is PyPI reachable?)",
        );
    });
    venv.join("bin/python")
}

/// The `node_modules` folder (`target/stock-clients/node/node_modules`) holding
/// `package-lock.json`'s openid-client and jose.
pub fn node_modules() -> PathBuf {
    let folder = installs().join("node");
    let package = Path::new(STOCK_TESTS);
    let pins = ["package.json", "package-lock.json"].map(|file| package.join(file));
    install_once(&folder, &pins, |folder| {
        npm_ci(package, folder, "tests/stock (openid-client, jose)");
    });
    folder.join("node_modules")
}

/// Runs `authlib_client.py` with only `env` (TOKEN_URL, JWKS_URL, ISSUER, CLIENT_ID, and
/// CLIENT_SECRET or PRIVATE_KEY_FILE + KEY_ID + KEY_ALG; SCOPE) and returns the JSON object it
/// prints, panicking with its output when it fails. It blocks, so an async test calls it inside
/// `spawn_blocking`: the service it calls runs on the test's runtime and must keep answering.
pub fn run_authlib(env: &[(&str, &str)]) -> Value {
    let mut command = Command::new(python());
    command.arg(Path::new(STOCK_TESTS).join("authlib_client.py"));
    run_script(command, &[], env, "python3 3.11+ with venv")
}

/// Runs `openid_client.mjs` with only `env` (TOKEN_URL, JWKS_URL, ISSUER, CLIENT_ID,
/// CLIENT_SECRET; AUTH_METHOD, SCOPE, DPOP=1) and returns the JSON object it prints, panicking
/// with its output when it fails. It blocks, as `run_authlib` does.
pub fn run_openid_client(env: &[(&str, &str)]) -> Value {
    let modules = node_modules();
    let mut command = Command::new("node");
    command.arg(Path::new(STOCK_TESTS).join("openid_client.mjs"));
    let set = [("NODE_MODULES", modules.as_os_str())];
    run_script(command, &set, env, "Node.js 20+")
}

/// Runs a stock client's script in a clean environment (PATH, then `set`, then `env`: nothing
/// leaks in from the test's own environment) and parses what it prints.
fn run_script(
    mut command: Command,
    set: &[(&str, &std::ffi::OsStr)],
    env: &[(&str, &str)],
    needs: &str,
) -> Value {
    let output = command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(set.iter().copied())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} ({e}): {needs} is required"));
    let report = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{report}",
        output.status
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{command:?} printed no JSON object ({e}):\n{report}"))
}

/// Runs `install` into an empty `folder` unless the last install there came from the same `pins`
/// (by their SHA-256, in a marker written last, so an interrupted install is redone). A lock file
/// beside `folder` (flock, released when the process ends) makes other tests wait meanwhile.
// `File::lock` is Rust 1.89; the tests build with rust-toolchain.toml's 1.95 (the crate's
// rust-version is the library's).
#[allow(clippy::incompatible_msrv)]
fn install_once(folder: &Path, pins: &[PathBuf], install: impl FnOnce(&Path)) {
    let mut hash = Sha256::new();
    for pin in pins {
        hash.update(std::fs::read(pin).unwrap_or_else(|e| panic!("{}: {e}", pin.display())));
    }
    let pinned = hex::encode(hash.finalize());
    let marker = folder.join(".installed-from");
    std::fs::create_dir_all(installs()).unwrap();
    let lock = File::create(folder.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == pinned) {
        return;
    }
    if folder.exists() {
        std::fs::remove_dir_all(folder).unwrap();
    }
    std::fs::create_dir_all(folder).unwrap();
    install(folder);
    std::fs::write(marker, pinned).unwrap();
}

/// Runs one install step, panicking with its output, naming `what`, when it fails.
fn install_step(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn installs_into_target() {
    // Two at once, as two tests would: when nothing is installed yet, one installs and the other
    // waits for it.
    let [first, second] = [(); 2].map(|()| std::thread::spawn(|| (python(), node_modules())));
    let (python, node_modules) = first.join().unwrap();
    assert_eq!(
        second.join().unwrap(),
        (python.clone(), node_modules.clone())
    );
    assert!(python.starts_with(installs()) && node_modules.starts_with(installs()));

    let imported = run(Command::new(&python).args([
        "-c",
        "import authlib, authlib.jose, requests\n\
         from authlib.integrations.requests_client import OAuth2Session\n\
         from authlib.oauth2.rfc7523 import PrivateKeyJWT\n\
         print(authlib.__version__)",
    ]));
    let requirements = std::fs::read_to_string(Path::new(STOCK_TESTS).join("requirements.txt"));
    let pin = format!("authlib=={} ", imported.trim());
    assert!(requirements.unwrap().contains(&pin), "{pin}");

    let imported = run(Command::new("node")
        .args(["--input-type=module", "-e"])
        .arg(
            "const client = await import('openid-client'); const jose = await import('jose');\n\
             console.log(typeof client.clientCredentialsGrant, typeof jose.jwtVerify)",
        )
        .current_dir(node_modules.parent().unwrap()));
    assert_eq!(imported.trim(), "function function");
}

/// What every script needs to find the service: its token endpoint, JWKS and issuer.
fn service_env(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("TOKEN_URL", app.url("/oauth/token")),
        ("JWKS_URL", app.url("/.well-known/jwks.json")),
        ("ISSUER", app.address.clone()),
    ]
}

/// Runs a blocking script on the blocking pool, so the service on this runtime keeps answering.
async fn blocking(script: fn(&[(&str, &str)]) -> Value, env: Vec<(&'static str, String)>) -> Value {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        script(&env)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn authlib_gets_a_token_with_client_secret_basic_and_with_private_key_jwt() {
    let app = TestApp::spawn().await;
    let by_secret = app.standard_client("ES256").await;
    let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "authlib-1", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
    let mut body = standard_client_body("ES256");
    body["jwks"] = json!({"keys": [jwk]});
    let by_key = app.create_client(body).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("client.pem");
    std::fs::write(&key_file, pair.serialize_pem()).unwrap();

    let mut secret_env = service_env(&app);
    secret_env.extend([
        ("CLIENT_ID", by_secret.id.clone()),
        ("CLIENT_SECRET", by_secret.secret.clone()),
        ("SCOPE", "schools:read".to_owned()),
    ]);
    let with_secret = blocking(run_authlib, secret_env).await;
    let mut key_env = service_env(&app);
    key_env.extend([
        ("CLIENT_ID", by_key.id.clone()),
        ("PRIVATE_KEY_FILE", key_file.display().to_string()),
        ("KEY_ID", "authlib-1".to_owned()),
        ("KEY_ALG", "ES256".to_owned()),
    ]);
    let with_key = blocking(run_authlib, key_env).await;

    assert_eq!(with_secret["token_type"], "Bearer");
    assert_eq!(with_secret["claims"]["client_id"], by_secret.id.as_str());
    assert_eq!(with_secret["claims"]["scope"], "schools:read");
    assert_eq!(with_key["claims"]["client_id"], by_key.id.as_str());
    assert_eq!(with_key["header"]["typ"], "at+jwt");
}

#[tokio::test]
async fn openid_client_discovers_the_endpoint_and_gets_plain_and_dpop_bound_tokens() {
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let mut env = service_env(&app);
    env.extend([
        ("CLIENT_ID", client.id.clone()),
        ("CLIENT_SECRET", client.secret.clone()),
    ]);
    let mut dpop_env = env.clone();
    dpop_env.push(("DPOP", "1".to_owned()));
    let mut basic_env = env.clone();
    basic_env.push(("AUTH_METHOD", "client_secret_basic".to_owned()));

    let plain = blocking(run_openid_client, env).await;
    let basic = blocking(run_openid_client, basic_env).await;
    let bound = blocking(run_openid_client, dpop_env).await;

    assert_eq!(plain["token_type"], "Bearer");
    assert_eq!(plain["claims"]["client_id"], client.id.as_str());
    assert_eq!(basic["claims"]["sub"], client.id.as_str());
    assert_eq!(bound["token_type"], "DPoP");
    assert!(bound["claims"]["cnf"]["jkt"].is_string());
    assert_eq!(bound["me_status"], 200);
}

/// The README's "verify it in your backend" snippet (its first `js` block), run as written with
/// the `token` it expects in scope: it accepts the service's token and refuses one whose payload
/// was changed.
#[tokio::test]
async fn the_readmes_verification_snippet_accepts_a_token_and_refuses_a_forged_one() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let snippet = readme
        .split("```js\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a js block");
    let app = TestApp::spawn().await;
    let client = app.standard_client("ES256").await;
    let answer: Value = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["access_token"].as_str().unwrap().to_owned();
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["scope"] = json!("everything:write");
    let forged = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );

    // Beside node_modules, so that `import ... from 'jose'` resolves as in a backend's project.
    let folder = node_modules().parent().unwrap().to_owned();
    let script = tempfile::Builder::new()
        .prefix("readme-verify-")
        .suffix(".mjs")
        .tempfile_in(&folder)
        .unwrap();
    std::fs::write(
        script.path(),
        format!(
            "const token = process.env.TOKEN;\n{snippet}\
             console.log(JSON.stringify(payload));\n"
        ),
    )
    .unwrap();
    let verify = |token: String| {
        let script = script.path().to_owned();
        let url = app.address.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(script)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("TOKENMINT_URL", url)
                .env("TOKEN", token)
                .output()
                .unwrap()
        })
    };
    let accepted = verify(token).await.unwrap();
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let payload: Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(payload["client_id"], client.id.as_str());
    let refused = verify(forged).await.unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("signature verification failed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
