//! A tiny SMTP server for tests: it listens on a loopback port, speaks just enough SMTP
//! (RFC 5321: 220 greeting, EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT)
//! and keeps every message it is given, so a test can point the service at it and read what was
//! sent. It accepts everything and delivers nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long [`SmtpSink::wait_for_message`] waits before giving up.
const WAIT_LIMIT: Duration = Duration::from_secs(15);

/// One message as received.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_to: Vec<String>,
    /// Headers and body, as sent after `DATA` (unstuffed, CRLF line ends).
    pub data: String,
}

/// A running sink.
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    messages: Arc<Mutex<Vec<Captured>>>,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, store.clone()));
            }
        });
        Self { port, messages }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Captured> {
        self.messages.lock().unwrap().clone()
    }

    /// The first message, waiting for it (bounded) since the service mails in the background.
    pub async fn wait_for_message(&self) -> Captured {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            if let Some(message) = self.messages().into_iter().next() {
                return message;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no e-mail reached the SMTP sink within {WAIT_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One SMTP session: answers each command and stores each complete message.
async fn session(stream: TcpStream, store: Arc<Mutex<Vec<Captured>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut current = Captured::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                current = Captured::default();
                b"250 OK\r\n"
            }
            "MAIL" => {
                current.mail_from = address_in(&command);
                b"250 OK\r\n"
            }
            "RCPT" => {
                current.rcpt_to.push(address_in(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                current.data = read_data(&mut lines).await?;
                store.lock().unwrap().push(std::mem::take(&mut current));
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The message after `DATA`, up to the line holding a single dot (RFC 5321 §4.5.2 unstuffing).
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(data);
        }
        let content = line.trim_end_matches(['\r', '\n']);
        if content == "." {
            return Ok(data);
        }
        data.push_str(content.strip_prefix('.').unwrap_or(content));
        data.push_str("\r\n");
    }
}

/// The address between `<` and `>` of a MAIL or RCPT command.
fn address_in(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}
